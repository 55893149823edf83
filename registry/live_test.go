package registry_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/storage"
)

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLiveLoadsDeployedAtStartAndFollows(t *testing.T) {
	store := memStore()
	r := openReg(t, store, nil)
	importVersion(t, r, "1", "")
	importVersion(t, r, "2", "")
	_, err := r.Deploy(ctx, "1", nil)
	require.NoError(t, err)

	// Another process (here: another Registry on the same store) serves.
	r2 := openReg(t, store, nil)
	live, err := registry.NewLive(ctx, r2, testLoader(nil, nil, nil), nil)
	require.NoError(t, err)
	defer live.Close()
	assert.Equal(t, "1", live.Version())

	lease, err := live.Acquire()
	require.NoError(t, err)
	assert.Equal(t, "1", lease.Model().Predict())
	old := lease.Model()

	_, err = r.Deploy(ctx, "2", nil)
	require.NoError(t, err)
	waitFor(t, "live to follow the deploy", func() bool { return live.Version() == "2" })
	assert.False(t, old.closed.Load(), "a leased model stays open")
	lease.Release()
	assert.True(t, old.closed.Load(), "the old model is closed when its last lease ends")
	assert.EqualValues(t, 1, old.closes.Load())

	_, err = r.Rollback(ctx, nil)
	require.NoError(t, err)
	waitFor(t, "live to follow the rollback", func() bool { return live.Version() == "1" })
	require.NoError(t, live.Do(func(m *testModel) error {
		assert.Equal(t, "1", m.Predict())
		return nil
	}))
}

func TestLiveNothingDeployed(t *testing.T) {
	r := openReg(t, memStore(), nil)
	live, err := registry.NewLive(ctx, r, testLoader(nil, nil, nil), nil)
	require.NoError(t, err)
	_, err = live.Acquire()
	require.ErrorIs(t, err, registry.ErrNotLoaded)

	importVersion(t, r, "1", "")
	_, err = r.Deploy(ctx, "1", nil)
	require.NoError(t, err)
	waitFor(t, "first deploy to load", func() bool { return live.Version() == "1" })
	require.NoError(t, live.Close())
	_, err = live.Acquire()
	require.ErrorIs(t, err, registry.ErrClosed)
}

func TestLiveKeepsOldModelWhenLoadFails(t *testing.T) {
	store := memStore()
	var notices []registry.Notice
	var mu sync.Mutex
	r := openReg(t, store, &registry.Options{Notify: func(n registry.Notice) {
		mu.Lock()
		notices = append(notices, n)
		mu.Unlock()
	}})
	importVersion(t, r, "1", "")
	importVersion(t, r, "2", "")
	importVersion(t, r, "3", "")
	_, err := r.Deploy(ctx, "1", nil)
	require.NoError(t, err)

	warmupFails := errors.New("warm-up exploded")
	live, err := registry.NewLive(ctx, r, testLoader(nil, nil, nil), &registry.LiveOptions[*testModel]{
		Warmup: func(ctx context.Context, m *testModel) error {
			if m.version == "2" {
				return warmupFails
			}
			return nil
		},
	})
	require.NoError(t, err)
	defer live.Close()

	_, err = r.Deploy(ctx, "2", nil)
	require.NoError(t, err)
	waitFor(t, "the failed load to be reported", func() bool { return live.Err() != nil })
	require.ErrorIs(t, live.Err(), registry.ErrLoad)
	assert.Equal(t, "1", live.Version(), "a failed warm-up keeps the old model serving")

	_, err = r.Deploy(ctx, "3", nil)
	require.NoError(t, err)
	waitFor(t, "version 3 to load", func() bool { return live.Version() == "3" })

	mu.Lock()
	var kinds []registry.NoticeKind
	for _, n := range notices {
		kinds = append(kinds, n.Kind)
	}
	mu.Unlock()
	assert.Contains(t, kinds, registry.NoticeLoadFailed)
	assert.Contains(t, kinds, registry.NoticeLoaded)
}

func TestLiveVerifiesWhileLoading(t *testing.T) {
	store := memStore()
	r := openReg(t, store, nil)
	importVersion(t, r, "1", "")
	importVersion(t, r, "2", "")
	_, err := r.Deploy(ctx, "1", nil)
	require.NoError(t, err)

	// The loader of version 2 waits until the test has tampered with
	// its model file, so it reads tampered bytes through the verifying
	// view.
	tampered := make(chan struct{})
	inner := testLoader(nil, nil, nil)
	live, err := registry.NewLive(ctx, r, registry.LoaderFunc[*testModel](
		func(ctx context.Context, pkg *registry.Package) (*testModel, error) {
			if pkg.Version.Version == "2" {
				<-tampered
			}
			return inner(ctx, pkg)
		}), nil)
	require.NoError(t, err)
	defer live.Close()

	_, err = r.Deploy(ctx, "2", nil)
	require.NoError(t, err)
	require.NoError(t, storage.WriteAll(ctx, store, "model_2/model.joblib", []byte("tampered after the deploy"), nil))
	close(tampered)
	waitFor(t, "the tampered load to fail", func() bool { return live.Err() != nil })
	require.ErrorIs(t, live.Err(), modelpkg.ErrHashMismatch)
	assert.Equal(t, "1", live.Version(), "a model that fails verification is never swapped in")
}

func TestLiveUnloadBeforeLoad(t *testing.T) {
	r := openReg(t, memStore(), nil)
	importVersion(t, r, "1", "")
	importVersion(t, r, "2", "")
	_, err := r.Deploy(ctx, "1", nil)
	require.NoError(t, err)
	var loaded []*testModel
	var mu sync.Mutex
	live, err := registry.NewLive(ctx, r, testLoader(nil, &loaded, &mu), &registry.LiveOptions[*testModel]{Policy: registry.UnloadBeforeLoad})
	require.NoError(t, err)
	defer live.Close()
	_, err = r.Deploy(ctx, "2", nil)
	require.NoError(t, err)
	waitFor(t, "swap", func() bool { return live.Version() == "2" })
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, loaded, 2)
	assert.True(t, loaded[0].closed.Load(), "the old model is closed before the new one serves")
}

// TestSwapUnderLoad: many goroutines acquire and use the model while
// 1,000 deploys happen; no acquire fails, no closed model is ever used,
// and every retired model is closed exactly once.
func TestSwapUnderLoad(t *testing.T) {
	deploys := 1000
	if testing.Short() {
		deploys = 100
	}
	r := openReg(t, memStore(), nil)
	importVersion(t, r, "a", "")
	importVersion(t, r, "b", "")
	_, err := r.Deploy(ctx, "a", nil)
	require.NoError(t, err)

	var misuse atomic.Int64
	var loaded []*testModel
	var mu sync.Mutex
	live, err := registry.NewLive(ctx, r, testLoader(&misuse, &loaded, &mu), nil)
	require.NoError(t, err)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var uses, failures atomic.Int64
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				lease, err := live.Acquire()
				if err != nil {
					failures.Add(1)
					continue
				}
				lease.Model().Predict()
				uses.Add(1)
				lease.Release()
			}
		}()
	}
	versions := []string{"b", "a"}
	for i := range deploys {
		_, err := r.Deploy(ctx, versions[i%2], nil)
		require.NoError(t, err)
		if i%50 == 0 {
			// Let the Live catch up now and then so that many swaps happen.
			want := versions[i%2]
			waitFor(t, "swap to "+want, func() bool { return live.Version() == want })
		}
	}
	close(stop)
	wg.Wait()
	require.NoError(t, live.Close())

	assert.Zero(t, failures.Load(), "no acquire may fail during swaps")
	assert.Zero(t, misuse.Load(), "no request may see a closed model")
	assert.Positive(t, uses.Load())
	mu.Lock()
	defer mu.Unlock()
	assert.Greater(t, len(loaded), deploys/50, "swaps happened")
	for i, m := range loaded {
		assert.EqualValues(t, 1, m.closes.Load(), "model %d (%s) closed exactly once", i, m.version)
	}
	t.Logf("deploys=%d swaps=%d uses=%d", deploys, len(loaded)-1, uses.Load())
}

// TestReplicasConverge: 8 registries on one store deploy and roll back
// concurrently; every operation either succeeds and is in the history or
// fails, and all see one history.
func TestReplicasConverge(t *testing.T) {
	store := memStore()
	seed := openReg(t, store, nil)
	for _, v := range []string{"1", "2", "3"} {
		importVersion(t, seed, v, "")
	}
	const n, ops = 8, 15
	regs := make([]*registry.Registry, n)
	for i := range regs {
		regs[i] = openReg(t, store, &registry.Options{AppendRetries: 1000})
	}
	var wg sync.WaitGroup
	var okEvents sync.Map
	var errs atomic.Int64
	for i, r := range regs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ops {
				var e *registry.Event
				var err error
				if (i+j)%3 == 0 {
					e, err = r.Rollback(ctx, nil)
				} else {
					e, err = r.Deploy(ctx, fmt.Sprint(1+(i+j)%3), &registry.Caller{Actor: fmt.Sprint("replica-", i)})
				}
				if err != nil {
					if !errors.Is(err, registry.ErrNoPrevious) {
						t.Errorf("replica %d: %v", i, err)
					}
					errs.Add(1)
					continue
				}
				if e != nil && !e.NoOp { // a no-op records nothing
					okEvents.Store(e.Seq, e.Type)
				}
			}
		}()
	}
	wg.Wait()
	var first []*registry.Event
	for i, r := range regs {
		h, err := r.History(ctx, nil)
		require.NoError(t, err)
		if i == 0 {
			first = h
			continue
		}
		require.Equal(t, len(first), len(h))
		for k := range h {
			assert.Equal(t, *first[k], *h[k])
		}
	}
	for k, e := range first {
		assert.EqualValues(t, k+1, e.Seq, "no gaps or duplicates")
	}
	okEvents.Range(func(seq, typ any) bool {
		assert.Equal(t, typ, first[seq.(int64)-1].Type, "a successful operation is in the history")
		return true
	})
	var deployed []string
	for _, r := range regs {
		d, err := r.Deployed()
		require.NoError(t, err)
		deployed = append(deployed, d.Version)
	}
	for _, d := range deployed {
		assert.Equal(t, deployed[0], d)
	}
}
