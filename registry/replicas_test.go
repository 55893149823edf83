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
	"sync/atomic"
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
	// replicaPoll is the replicas' poll interval. Convergence is counted
	// in poll rounds (see runReplicas), not in time, so the interval only
	// sets the test's pace and the store's load.
	replicaPoll = 250 * time.Millisecond
	// convergeActor makes the parent's final change, whose convergence
	// every replica reports.
	convergeActor = "converge"
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
	// Converge is the replica's report on the parent's final change.
	Converge convergeReport `json:"converge"`
}

// convergeReport says, in poll rounds of a replica's registry (its poll
// counter, registry.Polls), when the replica read the parent's final
// change and what its Live did then. The parent first waits until every
// Live serves the deployed version and the replica has taken MarkPolls;
// then it appends the change and tells every replica, which takes
// AfterPolls when it reads that message. The change committed in between,
// so a poll round that starts after AfterPolls was taken reads it: the
// round that reads it is at most AfterPolls+2 (AfterPolls+1 may have
// started before the commit). A Live then needs one load, no further
// round.
type convergeReport struct {
	Seq        int64 `json:"seq"`
	MarkPolls  int64 `json:"mark_polls"`
	AfterPolls int64 `json:"after_polls"`
	// ReadInRound is the poll round whose read applied the change.
	ReadInRound int64 `json:"read_in_round"`
	// Loads are the Live's load outcomes after the change was read
	// ("loaded 1.1.0", "failed 1.1.0: ..."), until it served the change.
	Loads []string `json:"loads"`
	// LoadedInRound is the poll counter when the Live had loaded it.
	LoadedInRound int64  `json:"loaded_in_round"`
	Served        string `json:"served"`
	Err           string `json:"err,omitempty"`
}

func TestReplicasS3(t *testing.T) { runReplicas(t, testservers.StartVersityGW(t)) }

func TestReplicasGCS(t *testing.T) { runReplicas(t, testservers.StartFakeGCS(t)) }

func TestReplicasAzure(t *testing.T) { runReplicas(t, testservers.StartAzurite(t)) }

// runReplicas runs 8 registries in separate processes on one bucket,
// 200 concurrent imports, deploys and rollbacks in all, and checks that
// they agree on one history that holds exactly the operations that
// succeeded, and that every replica's Live serves the final deployment.
// Then this process makes one more change and checks, in poll rounds of
// each replica's registry (see convergeReport), that every replica reads
// it within two rounds and that its Live serves it after one load.
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
		markCh  = make(chan int, replicaCount)
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
				case line == "marked":
					markCh <- i
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
	settled, err := reg.Deployed()
	if err != nil {
		t.Fatal(err)
	}
	// Convergence, counted in poll rounds: every Live settles on the
	// deployed version and marks its poll counter; then this process
	// deploys another version and tells every replica.
	for _, c := range children {
		fmt.Fprintln(c.stdin, "settle "+settled.Version)
	}
	for range replicaCount {
		select {
		case <-markCh:
		case err := <-failure:
			t.Fatal(err)
		case <-time.After(2 * time.Minute):
			t.Fatal("replicas did not settle within 2 minutes")
		}
	}
	var next string
	for _, v := range reg.List(&registry.ListOptions{Status: registry.StatusAvailable}) {
		next = v.Version
	}
	if next == "" {
		t.Fatal("no available version to deploy for the convergence check")
	}
	changeStart := time.Now()
	change, err := reg.Deploy(ctx, next, &registry.Caller{Actor: convergeActor})
	if err != nil {
		t.Fatal(err)
	}
	changeTime := time.Now()
	dep, err := reg.Deployed()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range children {
		fmt.Fprintf(c.stdin, "changed %d %s\n", change.Seq, next)
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
	var maxLatency, maxNotice, maxLoad time.Duration
	var maxRound, maxLoadRounds int64
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
		// Every replica reads the change within two poll rounds of its
		// registry, and its Live serves it after one load.
		cr := e.Converge
		switch {
		case cr.Seq != change.Seq:
			t.Errorf("replica %d reported on event %d, the change is %d", i, cr.Seq, change.Seq)
		case cr.Err != "":
			t.Errorf("replica %d: %s", i, cr.Err)
		case cr.ReadInRound < cr.MarkPolls+1 || cr.ReadInRound > cr.AfterPolls+2:
			t.Errorf("replica %d read the change in poll round %d; its counter was %d before the commit and %d after it (rounds %d..%d allowed)",
				i, cr.ReadInRound, cr.MarkPolls, cr.AfterPolls, cr.MarkPolls+1, cr.AfterPolls+2)
		case len(cr.Loads) != 1 || cr.Loads[0] != "loaded "+next:
			t.Errorf("replica %d's Live did %v after reading the change, want exactly one load of %s", i, cr.Loads, next)
		case cr.Served != next:
			t.Errorf("replica %d's Live serves %q after the change to %s", i, cr.Served, next)
		}
		maxRound = max(maxRound, cr.ReadInRound-cr.AfterPolls)
		maxLoadRounds = max(maxLoadRounds, cr.LoadedInRound-cr.ReadInRound)
		// Wall-clock figures, for the log only.
		if t, ok := e.Noticed[change.Seq]; ok {
			maxNotice = max(maxNotice, t.Sub(changeTime))
		}
		maxLatency, maxLoad = max(maxLatency, e.Since.Sub(changeTime)), max(maxLoad, e.Load)
	}
	// Every event after the seed belongs to exactly one successful
	// operation; every successful operation that changed something has
	// its event; no failed operation has one.
	byActor := map[string]*registry.Event{}
	for i, e := range hist {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d", i+1, e.Seq)
		}
		if i < seeded || e.Actor == convergeActor {
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
	t.Logf("replicas on %s: %d processes, %d operations in %v (setup %v): %v; %d events; every replica read the final change by poll round +%d after it learned of the commit (at most +2), and its Live served it after one load (%d more rounds passed during the load at most); in time: read within %v and served within %v of the commit's return (the deploy took %v; poll %v, longest load %v)",
		srv.Name, replicaCount, len(results), opsTime.Round(time.Millisecond), setup.Round(time.Millisecond), counts, len(hist),
		maxRound, maxLoadRounds, maxNotice, maxLatency, changeTime.Sub(changeStart).Round(time.Millisecond), replicaPoll, maxLoad)
}

// replicaNote is an event a replica read (seq) or a load of its Live
// (load), with the poll round it happened in.
type replicaNote struct {
	seq   int64
	load  string
	round int64
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
		regP    atomic.Pointer[registry.Registry]
		// notes are the events read and the Live's loads, in order,
		// each with the poll round it happened in; noted is signalled
		// after each.
		notes []replicaNote
		noted = make(chan struct{}, 1)
	)
	polls := func() int64 {
		if r := regP.Load(); r != nil {
			return registry.Polls(r)
		}
		return 0
	}
	reg, err := registry.Open(ctx, store, &registry.Options{PollInterval: replicaPoll, Notify: func(n registry.Notice) {
		mu.Lock()
		defer mu.Unlock()
		// A poll round applies what it read before its counter moves:
		// an event read by the poller is read in round polls()+1.
		switch n.Kind {
		case registry.NoticeEvent:
			noticed[n.Event.Seq] = time.Now()
			notes = append(notes, replicaNote{seq: n.Event.Seq, round: polls() + 1})
		case registry.NoticeLoaded:
			notes = append(notes, replicaNote{load: "loaded " + n.Version, round: polls()})
		case registry.NoticeLoadFailed:
			notes = append(notes, replicaNote{load: fmt.Sprintf("failed %s: %v", n.Version, n.Err), round: polls()})
		}
		select {
		case noted <- struct{}{}:
		default:
		}
	}})
	if err != nil {
		return err
	}
	regP.Store(reg)
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
	// Settle on the deployed version, mark the poll counter, then wait
	// for the parent's change.
	if !in.Scan() {
		return fmt.Errorf("no settle line from the parent")
	}
	settled, ok := strings.CutPrefix(in.Text(), "settle ")
	if !ok {
		return fmt.Errorf("expected settle, got %q", in.Text())
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	// The Live notes a load right after it starts serving it: wait for
	// the note, so that it is not taken for a load after the mark.
	lastLoad := func(v string) error {
		for {
			mu.Lock()
			last := ""
			for _, n := range notes {
				if n.load != "" {
					last = n.load
				}
			}
			mu.Unlock()
			if last == "loaded "+v {
				return nil
			}
			select {
			case <-noted:
			case <-wctx.Done():
				return fmt.Errorf("no notice of the load of %s (last: %q)", v, last)
			}
		}
	}
	if err := live.WaitFor(wctx, settled); err != nil {
		return fmt.Errorf("settle on %s: %w (last error %v)", settled, err, live.Err())
	}
	if err := lastLoad(settled); err != nil {
		return err
	}
	mu.Lock()
	conv := convergeReport{MarkPolls: polls()}
	marked := len(notes) // the Live serves settled: later loads are the change's
	mu.Unlock()
	fmt.Println("marked")
	if !in.Scan() {
		return fmt.Errorf("no change from the parent")
	}
	var want string
	var seq int64
	if _, err := fmt.Sscanf(in.Text(), "changed %d %s", &seq, &want); err != nil {
		return fmt.Errorf("change line %q: %w", in.Text(), err)
	}
	conv.Seq, conv.AfterPolls = seq, polls()
	if err := live.WaitFor(wctx, want); err != nil {
		conv.Err = fmt.Sprintf("the Live does not serve %s: %v (last error %v)", want, err, live.Err())
	}
	conv.Served = live.Version()
	if conv.Err == "" {
		if err := lastLoad(want); err != nil {
			conv.Err = err.Error()
		}
	}
	mu.Lock()
	// (The notice of an event comes after the Live was woken by it, so a
	// load may be noted before the event.)
	read := false
	for _, n := range notes[marked:] {
		switch {
		case n.seq == seq:
			conv.ReadInRound, read = n.round, true
		case n.load != "" && (len(conv.Loads) == 0 || conv.Loads[len(conv.Loads)-1] != "loaded "+want):
			conv.Loads = append(conv.Loads, n.load)
			conv.LoadedInRound = n.round
		}
	}
	mu.Unlock()
	if !read {
		conv.Err = fmt.Sprintf("event %d was not read", seq)
	}
	stopSampling()
	<-sampled
	// The sampler may not have run since the switch: sample once more.
	if v := live.Version(); v != served {
		served, since = v, time.Now()
	}
	mu.Lock()
	end := replicaEnd{Served: served, Since: since, Noticed: noticed, Load: load, Converge: conv}
	mu.Unlock()
	if end.History, err = reg.History(ctx, nil); err != nil {
		return err
	}
	return out.Encode(end)
}
