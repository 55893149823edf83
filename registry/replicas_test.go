package registry_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "gocloud.dev/blob/azureblob"
	_ "gocloud.dev/blob/gcsblob"

	"github.com/modelvault/modelvault/internal/testservers"
	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/storage/blobstore"
)

const (
	replicaCount    = 8
	replicaOpsTotal = 200
	// replicaPoll is the replicas' poll interval. A replica notices a
	// change within one interval plus the time its poll takes to read the
	// log's tail; on Azurite under -race on a busy 2-core machine such a
	// read took up to about 120 ms, so the interval is kept well above it
	// for the "within two poll intervals" check to test the design rather
	// than the machine's load.
	replicaPoll = 250 * time.Millisecond
)

// replicaVersions are imported (concurrently, by several replicas at
// once) during the test; 1.0.0 and 1.1.0 are seeded.
var replicaVersions = []string{"2.0.0", "2.1.0", "2.2.0", "2.3.0", "2.4.0", "2.5.0"}

// opResult is the JSON line a replica prints per operation.
type opResult struct {
	Actor   string `json:"actor"`
	Op      string `json:"op"`
	Version string `json:"version,omitempty"`
	OK      bool   `json:"ok"`
	Seq     int64  `json:"seq,omitempty"`
	Type    string `json:"type,omitempty"`
	Err     string `json:"err,omitempty"`
	// Kind classifies an error: conflict, exists, no_previous,
	// not_found, in_use or other.
	Kind string `json:"kind,omitempty"`
}

// errKind classifies an operation's error.
func errKind(err error) string {
	for _, k := range []struct {
		err  error
		name string
	}{{registry.ErrConflict, "conflict"}, {registry.ErrVersionExists, "exists"}, {registry.ErrNoPrevious, "no_previous"},
		{registry.ErrNotFound, "not_found"}, {registry.ErrInUse, "in_use"}} {
		if errors.Is(err, k.err) {
			return k.name
		}
	}
	return "other"
}

// replicaEnd is the last line a replica prints.
type replicaEnd struct {
	Served string `json:"served"`
	// Since is when the Live started serving it (sampled every ms).
	Since time.Time `json:"since"`
	// Noticed is when the replica's registry read each event.
	Noticed map[int64]time.Time `json:"noticed"`
	// Load is how long the Live's last load took.
	Load    time.Duration     `json:"load"`
	History []*registry.Event `json:"history"`
}

func TestReplicasS3(t *testing.T) { runReplicas(t, testservers.StartVersityGW(t)) }

func TestReplicasGCS(t *testing.T) { runReplicas(t, testservers.StartFakeGCS(t)) }

func TestReplicasAzure(t *testing.T) { runReplicas(t, testservers.StartAzurite(t)) }

// runReplicas runs 8 registries in separate processes on one bucket,
// 200 concurrent imports, deploys and rollbacks in all, and checks that
// they agree on one history that holds exactly the operations that
// succeeded, and that every replica's Live serves the final deployment.
func runReplicas(t *testing.T, srv *testservers.Server) {
	ctx := context.Background()
	srv.Setenv(t)
	url := srv.NewBucket(t)
	store, err := blobstore.Open(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	start := time.Now()
	reg := openReg(t, store, nil)
	importVersion(t, reg, "1.0.0", "")
	importVersion(t, reg, "1.1.0", "")
	if _, err := reg.Deploy(ctx, "1.0.0", nil); err != nil {
		t.Fatal(err)
	}
	seeded := 3
	pkgs := writePackages(t, replicaVersions)
	seed := crashSeed(t)
	t.Logf("seed %d (rerun with MODELVAULT_CRASH_SEED=%d)", seed, seed)

	children := make([]*child, replicaCount)
	for i := range children {
		children[i] = startChild(t, "replica", childStoreEnv+"="+url, childPkgsEnv+"="+pkgs,
			childIDEnv+"="+strconv.Itoa(i), childSeedEnv+"="+strconv.FormatUint(seed+uint64(i), 10),
			"MODELVAULT_REPLICA_OPS="+strconv.Itoa(replicaOpsTotal/replicaCount))
	}
	// Wait for every replica to be ready, then start them together.
	for i, c := range children {
		if !c.stdout.Scan() || c.stdout.Text() != "ready" {
			t.Fatalf("replica %d did not start: %q %v", i, c.stdout.Text(), c.wait(10*time.Second))
		}
	}
	setup := time.Since(start)
	opsStart := time.Now()
	for _, c := range children {
		fmt.Fprintln(c.stdin, "go")
	}
	var (
		mu      sync.Mutex
		results []opResult
		ends    = make([]*replicaEnd, replicaCount)
		wg      sync.WaitGroup
		doneCh  = make(chan int, replicaCount)
		failure = make(chan error, replicaCount)
	)
	for i, c := range children {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c.stdout.Scan() {
				line := c.stdout.Text()
				switch {
				case line == "done":
					doneCh <- i
				case strings.HasPrefix(line, "{\"served\""):
					var e replicaEnd
					if err := json.Unmarshal([]byte(line), &e); err != nil {
						failure <- err
						return
					}
					ends[i] = &e
				default:
					var r opResult
					if err := json.Unmarshal([]byte(line), &r); err != nil {
						failure <- fmt.Errorf("replica %d: %q: %v", i, line, err)
						return
					}
					mu.Lock()
					results = append(results, r)
					mu.Unlock()
				}
			}
		}()
	}
	deadline := time.After(5 * time.Minute)
	for range replicaCount {
		select {
		case <-doneCh:
		case err := <-failure:
			t.Fatal(err)
		case <-deadline:
			t.Fatal("replicas did not finish within 5 minutes")
		}
	}
	opsTime := time.Since(opsStart)
	if err := reg.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	dep, err := reg.Deployed()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range children {
		fmt.Fprintln(c.stdin, dep.Version)
		c.stdin.Close()
	}
	wg.Wait()
	for i, c := range children {
		if err := c.wait(time.Minute); err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
	}

	// One history, identical everywhere.
	hist, err := reg.History(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(hist)
	// The last change of the deployment, and when it was made: when the
	// first replica (the one that appended it, as its write returned)
	// read it. Every process runs on this machine, with one clock.
	var lastSeq int64
	for _, e := range hist {
		if e.Type == registry.EventDeployed || e.Type == registry.EventRolledBack {
			lastSeq = e.Seq
		}
	}
	var lastChange time.Time
	for i, e := range ends {
		if e == nil || e.Noticed[lastSeq].IsZero() {
			t.Fatalf("replica %d did not read event %d", i, lastSeq)
		}
		if lastChange.IsZero() || e.Noticed[lastSeq].Before(lastChange) {
			lastChange = e.Noticed[lastSeq]
		}
	}
	var maxLatency, maxNotice, maxLoad time.Duration
	for i, e := range ends {
		if e == nil {
			t.Fatalf("replica %d sent no end line", i)
		}
		got, _ := json.Marshal(e.History)
		if string(got) != string(want) {
			t.Fatalf("replica %d's history differs from the parent's:\n%s\n%s", i, got, want)
		}
		if e.Served != dep.Version {
			t.Errorf("replica %d's Live serves %q, deployed is %s", i, e.Served, dep.Version)
		}
		// A replica learns of the change within two poll intervals, and
		// serves it once its load is done.
		notice, serve := e.Noticed[lastSeq].Sub(lastChange), e.Since.Sub(lastChange)
		if notice > 2*replicaPoll {
			t.Errorf("replica %d read the last deployment %v after it, more than two poll intervals (%v)", i, notice, 2*replicaPoll)
		}
		// Serving it takes a load on top (and, in a burst of changes,
		// perhaps the load of an intermediate version first): the bound
		// is loose, for -race on a shared machine; the log has figures.
		if serve > 2*replicaPoll+2*e.Load+time.Second {
			t.Errorf("replica %d served the last deployment %v after it (load %v)", i, serve, e.Load)
		}
		maxLatency, maxNotice, maxLoad = max(maxLatency, serve), max(maxNotice, notice), max(maxLoad, e.Load)
	}
	// Every event after the seed belongs to exactly one successful
	// operation; every successful operation that changed something has
	// its event; no failed operation has one.
	byActor := map[string]*registry.Event{}
	for i, e := range hist {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d", i+1, e.Seq)
		}
		if i < seeded {
			continue
		}
		if e.Actor == "" || byActor[e.Actor] != nil {
			t.Fatalf("event %d: actor %q is empty or has two events", e.Seq, e.Actor)
		}
		byActor[e.Actor] = e
	}
	if len(results) != replicaOpsTotal {
		t.Fatalf("%d operation results, want %d", len(results), replicaOpsTotal)
	}
	counts := map[string]int{}
	for _, r := range results {
		e := byActor[r.Actor]
		delete(byActor, r.Actor)
		switch {
		case !r.OK && e != nil:
			t.Errorf("%s failed (%s) but recorded event %d", r.Actor, r.Err, e.Seq)
		case r.OK && r.Seq != 0 && (e == nil || e.Seq != r.Seq || string(e.Type) != r.Type):
			t.Errorf("%s reported event %d %s, the log holds %+v", r.Actor, r.Seq, r.Type, e)
		case r.OK && r.Op == "import" && e == nil:
			// A re-import of an identical version is a no-op: it must
			// be registered by someone else.
			if _, err := reg.Get(r.Version); err != nil {
				t.Errorf("%s imported %s, which is not registered: %v", r.Actor, r.Version, err)
			}
		}
		key := r.Op + " ok"
		if !r.OK {
			key = r.Op + " " + r.Kind
			if r.Kind == "other" {
				t.Errorf("%s failed: %s", r.Actor, r.Err)
			}
		} else if e == nil {
			key = r.Op + " no-op"
		}
		counts[key]++
	}
	for actor, e := range byActor {
		t.Errorf("event %d by %s belongs to no reported operation", e.Seq, actor)
	}
	if _, err := checkInvariants(ctx, store); err != nil {
		t.Fatalf("invariants: %v", err)
	}
	t.Logf("replicas on %s: %d processes, %d operations in %v (setup %v): %v; %d events; after the last change every replica read it within %v and its Live served it within %v (poll %v, longest load %v)",
		srv.Name, replicaCount, len(results), opsTime.Round(time.Millisecond), setup.Round(time.Millisecond), counts, len(hist), maxNotice, maxLatency, replicaPoll, maxLoad)
}

// replicaChild runs one replica: a registry and a Live on the shared
// store, its share of random operations once told "go", then, given the
// deployed version, how long its Live takes to serve it, and its history.
func replicaChild() error {
	ctx := context.Background()
	id := os.Getenv(childIDEnv)
	seed, err := strconv.ParseUint(os.Getenv(childSeedEnv), 10, 64)
	if err != nil {
		return err
	}
	nops, err := strconv.Atoi(os.Getenv("MODELVAULT_REPLICA_OPS"))
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(seed, 2))
	store, err := openChildStore(ctx)
	if err != nil {
		return err
	}
	var (
		mu      sync.Mutex
		noticed = map[int64]time.Time{}
		load    time.Duration
	)
	reg, err := registry.Open(ctx, store, &registry.Options{PollInterval: replicaPoll, Notify: func(n registry.Notice) {
		if n.Kind == registry.NoticeEvent {
			mu.Lock()
			noticed[n.Event.Seq] = time.Now()
			mu.Unlock()
		}
	}})
	if err != nil {
		return err
	}
	timedLoader := registry.LoaderFunc[string](func(ctx context.Context, pkg *registry.Package) (string, error) {
		t0 := time.Now()
		v, err := readAllLoader(ctx, pkg)
		mu.Lock()
		load = time.Since(t0)
		mu.Unlock()
		return v, err
	})
	live, err := registry.NewLive(ctx, reg, timedLoader, nil)
	if err != nil {
		return err
	}
	defer live.Close()
	in := bufio.NewScanner(os.Stdin)
	out := json.NewEncoder(os.Stdout)
	// Sample what the Live serves, to learn when it switched.
	var (
		sampleMu sync.Mutex
		served   = live.Version()
		since    = time.Now()
	)
	sampleCtx, stopSampling := context.WithCancel(ctx)
	defer stopSampling()
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for sampleCtx.Err() == nil {
			if v := live.Version(); v != served {
				sampleMu.Lock()
				served, since = v, time.Now()
				sampleMu.Unlock()
			}
			time.Sleep(time.Millisecond)
		}
	}()
	fmt.Println("ready")
	if !in.Scan() || in.Text() != "go" {
		return fmt.Errorf("expected go, got %q", in.Text())
	}
	pkgs := os.Getenv(childPkgsEnv)
	for n := range nops {
		r := opResult{Actor: fmt.Sprintf("replica-%s-op-%d", id, n)}
		caller := registry.Caller{Actor: r.Actor}
		var e *registry.Event
		var err error
		switch x := rng.IntN(10); {
		case x < 3:
			r.Op, r.Version = "import", replicaVersions[rng.IntN(len(replicaVersions))]
			f, ferr := os.Open(filepath.Join(pkgs, modelpkg.FileName(r.Version)))
			if ferr != nil {
				return ferr
			}
			_, err = reg.Import(ctx, modelpkg.FileName(r.Version), f, &registry.ImportOptions{Caller: caller})
			f.Close()
		case x < 7:
			r.Op = "deploy"
			if err = reg.Sync(ctx); err == nil {
				vs := reg.List(&registry.ListOptions{Status: registry.StatusAvailable})
				if len(vs) == 0 {
					vs = reg.List(nil)
				}
				r.Version = vs[rng.IntN(len(vs))].Version
				e, err = reg.Deploy(ctx, r.Version, &caller)
			}
		default:
			r.Op = "rollback"
			e, err = reg.Rollback(ctx, &registry.RollbackOptions{Caller: caller})
		}
		r.OK = err == nil
		if err != nil {
			r.Err, r.Kind = err.Error(), errKind(err)
		}
		if e != nil && !e.NoOp {
			r.Seq, r.Type = e.Seq, string(e.Type)
		}
		if err := out.Encode(r); err != nil {
			return err
		}
	}
	fmt.Println("done")
	if !in.Scan() {
		return fmt.Errorf("no deployed version from the parent")
	}
	want := in.Text()
	for t0 := time.Now(); time.Since(t0) < time.Minute && live.Version() != want; {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(5 * time.Millisecond)
	stopSampling()
	<-sampled
	mu.Lock()
	end := replicaEnd{Served: served, Since: since, Noticed: noticed, Load: load}
	mu.Unlock()
	if end.History, err = reg.History(ctx, nil); err != nil {
		return err
	}
	return out.Encode(end)
}
