package registry_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "gocloud.dev/blob/s3blob"

	"github.com/modelvault/modelvault/internal/testservers"
	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/storage/blobstore"
	"github.com/modelvault/modelvault/storage/diskstore"
)

// longEnv turns on the long variants of the reliability tests.
const longEnv = "MODELVAULT_LONG"

// crashVersions is the pool of versions crash children import, deploy,
// roll back and delete.
var crashVersions = []string{"1.0.0", "1.1.0", "1.2.0", "1.3.0"}

// crashKills is the number of children killed on a backend: by default
// 120 on disk and 80 on S3 (200 in all, about a minute under -race),
// 300 each with MODELVAULT_LONG=1.
func crashKills(def int) int {
	if os.Getenv(longEnv) == "1" {
		return 300
	}
	return def
}

// crashSeed is MODELVAULT_CRASH_SEED, or a new seed.
func crashSeed(t *testing.T) uint64 {
	if s := os.Getenv("MODELVAULT_CRASH_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	return uint64(time.Now().UnixNano())
}

// TestCrashDisk kills children doing imports, deploys, rollbacks and
// deletes on a diskstore (fsync on) with SIGKILL,
// and checks the invariants after every kill. The kill comes at a
// random point (seeded) within twice the longest operation (as the
// children time them) after the child opened the registry.
func TestCrashDisk(t *testing.T) {
	dir := t.TempDir()
	store, err := diskstore.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	runCrash(t, dir, store, crashKills(120), func(ctx context.Context) (int, error) {
		// A killed Put leaves its temporary file: count the ones left,
		// then remove them as a host's maintenance would.
		n := countTemp(dir)
		if _, err := store.Clean(ctx, 0); err != nil {
			return n, err
		}
		if left := countTemp(dir); left != 0 {
			return n, fmt.Errorf("%d temporary files left after Clean", left)
		}
		return n, nil
	})
}

// TestCrashS3 is TestCrashDisk on a blobstore over versitygw.
func TestCrashS3(t *testing.T) {
	srv := testservers.StartVersityGW(t)
	srv.Setenv(t)
	url := srv.NewBucket(t)
	store, err := blobstore.Open(t.Context(), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	runCrash(t, url, store, crashKills(80), nil)
}

func countTemp(dir string) int {
	n := 0
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), storage.ReservedPrefix) {
			n++
		}
		return nil
	})
	return n
}

func runCrash(t *testing.T, target string, store storage.Store, kills int, clean func(context.Context) (int, error)) {
	ctx := context.Background()
	seed := crashSeed(t)
	t.Logf("seed %d (rerun with MODELVAULT_CRASH_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	pkgs := writePackages(t, crashVersions)
	temps, maxEvents := 0, 0
	start := time.Now()
	var exited, checks int
	var opDur atomic.Int64
	opDur.Store(int64(200 * time.Millisecond))
	var tStart, tCheck time.Duration
	// The next child is started ahead, and waits for a line on stdin
	// before it opens the store, so its start overlaps the previous run.
	newChild := func() *child {
		return startChild(t, "crash", childStoreEnv+"="+target, childPkgsEnv+"="+pkgs)
	}
	next := newChild()
	for k := range kills {
		t0 := time.Now()
		childSeed := rng.Uint64()
		// Kill at a uniformly random point within twice the longest
		// operation children have timed so far.
		delay := 5*time.Millisecond + time.Duration(rng.Float64()*2*float64(time.Duration(opDur.Load())))
		c := next
		fmt.Fprintln(c.stdin, childSeed)
		if k < kills-1 {
			next = newChild()
		}
		started := make(chan bool, 1)
		go func() {
			started <- c.stdout.Scan()
			for c.stdout.Scan() {
				// "op <nanoseconds>": keep the longest (capped).
				if d, err := strconv.ParseInt(strings.TrimPrefix(c.stdout.Text(), "op "), 10, 64); err == nil && d > opDur.Load() {
					opDur.Store(min(d, int64(200*time.Millisecond)))
				}
			}
		}()
		select {
		case ok := <-started:
			if !ok {
				t.Fatalf("kill %d: child exited before starting: %v", k, c.wait(10*time.Second))
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("kill %d: child did not start", k)
		}
		tStart += time.Since(t0)
		time.Sleep(delay)
		select {
		case <-c.done:
			// It finished or failed before the kill.
			if err := c.wait(time.Second); err != nil {
				t.Fatalf("kill %d (child seed %d): %v", k, childSeed, err)
			}
			exited++
		default:
			c.kill()
		}
		if clean != nil {
			n, err := clean(ctx)
			if err != nil {
				t.Fatalf("kill %d: %v", k, err)
			}
			temps += n
		}
		// The check reads the whole log: every 10th kill keeps the test
		// linear. The next child's Open repairs after every kill anyway.
		if k%10 != 9 && k != kills-1 {
			continue
		}
		t1 := time.Now()
		rep, err := checkInvariants(ctx, store)
		tCheck += time.Since(t1)
		if err != nil {
			t.Fatalf("after kill %d (child seed %d, %v): %v", k, childSeed, delay, err)
		}
		checks++
		maxEvents = max(maxEvents, rep.Events)
	}
	t.Logf("crash: %d kills survived (%d children exited first), %d invariant checks, %d events in the log, %d temporary files cleaned, in %v",
		kills-exited, exited, checks, maxEvents, temps, time.Since(start).Round(time.Millisecond))
	t.Logf("crash: child start %v, invariant checks %v, longest operation %v", tStart, tCheck, time.Duration(opDur.Load()).Round(time.Millisecond))
}

// crashChild imports, deploys, rolls back and deletes at random until
// killed.
func crashChild() error {
	ctx := context.Background()
	var seed uint64
	if _, err := fmt.Scanln(&seed); err != nil {
		return fmt.Errorf("reading the seed: %w", err)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	store, err := openChildStore(ctx)
	if err != nil {
		return err
	}
	// One child runs at a time: any claim it finds is a dead child's.
	// Frequent checkpoints, so kills land in checkpoint writes too.
	reg, err := registry.Open(ctx, store, &registry.Options{ClaimLease: time.Nanosecond, PollInterval: time.Hour, CheckpointEvery: 20})
	if err != nil {
		return err
	}
	fmt.Println("started")
	pkgs := os.Getenv(childPkgsEnv)
	pick := func(status registry.Status) string {
		vs := reg.List(&registry.ListOptions{Status: status})
		if len(vs) == 0 {
			return ""
		}
		return vs[rng.IntN(len(vs))].Version
	}
	for range 10000 {
		var err error
		t0 := time.Now()
		switch rng.IntN(5) {
		case 0, 1:
			v := crashVersions[rng.IntN(len(crashVersions))]
			f, ferr := os.Open(filepath.Join(pkgs, modelpkg.FileName(v)))
			if ferr != nil {
				return ferr
			}
			_, err = reg.Import(ctx, modelpkg.FileName(v), f, nil)
			f.Close()
		case 2:
			if v := pick(registry.StatusAvailable); v != "" {
				_, err = reg.Deploy(ctx, v, nil)
			}
		case 3:
			_, err = reg.Rollback(ctx, nil)
		case 4:
			if v := pick(registry.StatusAvailable); v != "" {
				_, err = reg.Delete(ctx, v, nil)
			}
		}
		if err != nil && !expectedErr(err) {
			return err
		}
		fmt.Println("op", time.Since(t0).Nanoseconds())
	}
	return nil
}

// expectedErr reports whether err is a refusal that a registry in a
// valid state may answer.
func expectedErr(err error) bool {
	return slices.ContainsFunc([]error{registry.ErrNoPrevious, registry.ErrNotFound, registry.ErrInUse,
		registry.ErrConflict, registry.ErrVersionExists}, func(e error) bool { return errors.Is(err, e) })
}
