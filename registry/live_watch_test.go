package registry_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/storage"
)

// countingStore counts Gets per key.
type countingStore struct {
	storage.Store
	mu   sync.Mutex
	gets map[string]int
}

func newCountingStore(s storage.Store) *countingStore {
	return &countingStore{Store: s, gets: map[string]int{}}
}

func (c *countingStore) Get(ctx context.Context, key string) (storage.Reader, error) {
	c.mu.Lock()
	c.gets[key]++
	c.mu.Unlock()
	return c.Store.Get(ctx, key)
}

// logGets returns the Gets of existing log events (seq 1..head) and
// resets the counts.
func (c *countingStore) logGets(head int64) (perKey map[string]int, total int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	perKey = map[string]int{}
	for k, n := range c.gets {
		if !strings.HasPrefix(k, "_registry/log/") {
			continue
		}
		var seq int64
		for _, ch := range strings.TrimSuffix(strings.TrimPrefix(k, "_registry/log/"), ".json") {
			seq = seq*10 + int64(ch-'0')
		}
		if seq <= head {
			perKey[k] = n
			total += n
		}
	}
	clear(c.gets)
	return perKey, total
}

// deployMany appends n deploy events alternating between versions "1"
// and "2" (both imported first).
func deployMany(t *testing.T, r *registry.Registry, n int) {
	t.Helper()
	for i := range n {
		_, err := r.Deploy(ctx, []string{"1", "2"}[i%2], nil)
		require.NoError(t, err)
	}
}

func lastSeq(t *testing.T, r *registry.Registry) int64 {
	t.Helper()
	h, err := r.History(ctx, &registry.HistoryOptions{Limit: 1})
	require.NoError(t, err)
	require.Len(t, h, 1)
	return h[0].Seq
}

// TestHistoryReadsOnlyWhatItReturns: History(Limit: N) reads N events
// from the store, whatever the length of the log.
func TestHistoryReadsOnlyWhatItReturns(t *testing.T) {
	base := memStore()
	w := openReg(t, base, nil)
	importVersion(t, w, "1", "")
	importVersion(t, w, "2", "")
	deployMany(t, w, 60)
	cs := newCountingStore(base)
	r := openReg(t, cs, &registry.Options{SkipOpenScan: true})
	head := lastSeq(t, r)
	require.EqualValues(t, 62, head)
	cs.logGets(head)

	t.Run("tail", func(t *testing.T) {
		h, err := r.History(ctx, &registry.HistoryOptions{Limit: 10})
		require.NoError(t, err)
		require.Len(t, h, 10)
		for i, e := range h {
			assert.EqualValues(t, head-9+int64(i), e.Seq, "the last 10, in order")
		}
		_, total := cs.logGets(head)
		assert.Equal(t, 10, total, "10 events cost 10 reads")
	})
	t.Run("filtered tail stops at the limit", func(t *testing.T) {
		h, err := r.History(ctx, &registry.HistoryOptions{Limit: 3, Version: "1"})
		require.NoError(t, err)
		require.Len(t, h, 3)
		for _, e := range h {
			assert.Contains(t, []string{e.Version, e.From, e.To}, "1")
		}
		assert.Less(t, h[0].Seq, h[2].Seq)
		_, total := cs.logGets(head)
		assert.LessOrEqual(t, total, 6, "reads back only until 3 matches")
	})
	t.Run("after and limit", func(t *testing.T) {
		h, err := r.History(ctx, &registry.HistoryOptions{After: head - 4, Limit: 50})
		require.NoError(t, err)
		require.Len(t, h, 4)
		assert.EqualValues(t, head-3, h[0].Seq)
		_, total := cs.logGets(head)
		assert.Equal(t, 4, total)
	})
	t.Run("no limit reads everything after After", func(t *testing.T) {
		h, err := r.History(ctx, &registry.HistoryOptions{After: 2})
		require.NoError(t, err)
		require.Len(t, h, int(head-2))
		_, total := cs.logGets(head)
		assert.Equal(t, int(head-2), total)
	})
}

// TestWatchFanOutOneReadPerPoll: N watchers on one Registry share one
// poller; every event another process appends is read from the store
// once, not once per watcher.
func TestWatchFanOutOneReadPerPoll(t *testing.T) {
	base := memStore()
	w := openReg(t, base, nil)
	importVersion(t, w, "1", "")
	importVersion(t, w, "2", "")
	cs := newCountingStore(base)
	r := openReg(t, cs, &registry.Options{SkipOpenScan: true, PollInterval: 5 * time.Millisecond})
	const watchers, deploys = 20, 30
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chans := make([]<-chan *registry.Event, watchers)
	for i := range chans {
		chans[i] = r.Watch(wctx)
	}
	require.Equal(t, watchers, registry.Subscribers(r))
	start := lastSeq(t, w)
	cs.logGets(1 << 40)
	polls := registry.Polls(r)
	deployMany(t, w, deploys)
	for i, ch := range chans {
		for k := range deploys {
			select {
			case e := <-ch:
				require.EqualValues(t, start+1+int64(k), e.Seq, "watcher %d: in order, no gaps", i)
			case <-time.After(10 * time.Second):
				t.Fatalf("watcher %d got %d of %d events", i, k, deploys)
			}
		}
	}
	// Every poll reads the next slot once (a miss when nothing is new)
	// and each new event once: the count does not grow with the number
	// of watchers. One poll may be under way when the counts are taken.
	_, total := cs.logGets(1 << 40)
	polls = registry.Polls(r) - polls
	assert.LessOrEqual(t, total, deploys+int(polls)+1, "log reads for %d watchers over %d polls", watchers, polls)
	t.Logf("%d log reads for %d events, %d watchers, %d polls", total, deploys, watchers, polls)

	cancel()
	waitFor(t, "watchers to unsubscribe", func() bool { return registry.Subscribers(r) == 0 })
	polls = registry.Polls(r)
	// The poller stopped with the last watcher: a new Watch starts it again.
	ch := r.Watch(ctx)
	deployMany(t, w, 1)
	select {
	case e := <-ch:
		assert.EqualValues(t, start+deploys+1, e.Seq)
	case <-time.After(10 * time.Second):
		t.Fatal("a new watcher got nothing")
	}
	// The poll that delivered the event counts itself once refresh
	// returns, which may be after the watcher received it.
	waitFor(t, "the restarted poller's poll to count", func() bool { return registry.Polls(r) > polls })
}

// TestWatchSlowSubscriber: a watcher that does not read does not hold up
// appends or other watchers; when it reads again it resyncs from the log
// and still gets every event once, in order.
func TestWatchSlowSubscriber(t *testing.T) {
	r := openReg(t, memStore(), nil)
	importVersion(t, r, "1", "")
	importVersion(t, r, "2", "")
	start := lastSeq(t, r)
	slow := r.Watch(ctx)
	fast := r.Watch(ctx)
	n := 3 * registry.WatchBuffer
	var fastGot []int64
	fastDone := make(chan struct{})
	go func() {
		defer close(fastDone)
		for e := range fast {
			fastGot = append(fastGot, e.Seq)
			if len(fastGot) == n {
				return
			}
		}
	}()
	deployMany(t, r, n) // completes although slow reads nothing
	select {
	case <-fastDone:
	case <-time.After(10 * time.Second):
		t.Fatal("the fast watcher was held up")
	}
	for i, s := range fastGot {
		require.EqualValues(t, start+1+int64(i), s)
	}
	for i := range n {
		select {
		case e := <-slow:
			require.EqualValues(t, start+1+int64(i), e.Seq, "resync: in order, no gaps, no duplicates")
		case <-time.After(10 * time.Second):
			t.Fatalf("slow watcher got %d of %d", i, n)
		}
	}
	deployMany(t, r, 1)
	select {
	case e := <-slow:
		assert.EqualValues(t, start+int64(n)+1, e.Seq, "after the resync, events come from the fan-out again")
	case <-time.After(10 * time.Second):
		t.Fatal("slow watcher got nothing after its resync")
	}
}

// TestLiveClosedRegistryDoesNotSpin: closing the registry right after a
// burst of deploys ends the Live's following (its subscription closes):
// the loop exits instead of spinning on a closed channel, it ran at most
// once per wake-up, and Close returns.
func TestLiveClosedRegistryDoesNotSpin(t *testing.T) {
	store := memStore()
	seed := openReg(t, store, nil)
	importVersion(t, seed, "1", "")
	importVersion(t, seed, "2", "")
	const rounds, deploys = 10, 5
	for round := range rounds {
		r, err := registry.Open(ctx, store, &registry.Options{SkipOpenScan: true, PollInterval: 10 * time.Millisecond})
		require.NoError(t, err)
		live, err := registry.NewLive(ctx, r, testLoader(nil, nil, nil), &registry.LiveOptions[*testModel]{PublishInterval: -1})
		require.NoError(t, err)
		deployMany(t, r, deploys)
		require.NoError(t, r.Close())
		closed := make(chan error)
		go func() { closed <- live.Close() }()
		select {
		case err := <-closed:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: Live.Close did not return after the registry closed", round)
		}
		assert.LessOrEqual(t, registry.LiveIterations(live), int64(deploys+1), "one loop run per wake-up, not a spin")
		assert.Zero(t, registry.Subscribers(r))
		_, err = live.Acquire()
		require.ErrorIs(t, err, registry.ErrClosed)
	}
}

// flakyLoader fails the first n loads of version bad.
func flakyLoader(bad string, n int64, calls *atomic.Int64) registry.LoaderFunc[*testModel] {
	inner := testLoader(nil, nil, nil)
	return func(ctx context.Context, pkg *registry.Package) (*testModel, error) {
		if pkg.Version.Version == bad && calls.Add(1) <= n {
			return nil, errors.New("transient load failure")
		}
		return inner(ctx, pkg)
	}
}

// TestLiveRetriesFailedLoad: a failed load is retried with backoff until
// it succeeds, without another deploy; with UnloadBeforeLoad the Live
// serves nothing in between and recovers.
func TestLiveRetriesFailedLoad(t *testing.T) {
	for _, policy := range []registry.SwapPolicy{registry.LoadBeforeUnload, registry.UnloadBeforeLoad} {
		t.Run([]string{"LoadBeforeUnload", "UnloadBeforeLoad"}[policy], func(t *testing.T) {
			r := openReg(t, memStore(), nil)
			importVersion(t, r, "1", "")
			importVersion(t, r, "2", "")
			_, err := r.Deploy(ctx, "1", nil)
			require.NoError(t, err)
			var calls atomic.Int64
			live, err := registry.NewLive(ctx, r, flakyLoader("2", 3, &calls), &registry.LiveOptions[*testModel]{
				Policy: policy, RetryMin: time.Millisecond, RetryMax: 4 * time.Millisecond, PublishInterval: -1,
			})
			require.NoError(t, err)
			defer live.Close()
			_, err = r.Deploy(ctx, "2", nil)
			require.NoError(t, err)
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			require.NoError(t, live.WaitFor(wctx, "2"))
			assert.EqualValues(t, 4, calls.Load(), "three failures, then the retry that succeeds")
			assert.NoError(t, live.Err())
			st := live.Status()
			assert.Equal(t, "2", st.Version)
			assert.True(t, st.Converged())
			assert.Empty(t, st.LastError)
		})
	}
}

// TestLiveRetryNotCutShortByEvents: while a failed load waits for its
// retry, events that do not change the deployed version do not trigger
// another attempt; a deploy of another version does.
func TestLiveRetryNotCutShortByEvents(t *testing.T) {
	r := openReg(t, memStore(), nil)
	importVersion(t, r, "1", "")
	importVersion(t, r, "2", "")
	_, err := r.Deploy(ctx, "1", nil)
	require.NoError(t, err)
	var calls atomic.Int64
	live, err := registry.NewLive(ctx, r, flakyLoader("2", 1<<40, &calls), &registry.LiveOptions[*testModel]{
		RetryMin: time.Hour, PublishInterval: -1,
	})
	require.NoError(t, err)
	defer live.Close()
	_, err = r.Deploy(ctx, "2", nil)
	require.NoError(t, err)
	waitFor(t, "the first failed load", func() bool { return live.Err() != nil })
	// Unrelated events (imports) do not trigger a retry before the backoff.
	importVersion(t, r, "3", "")
	importVersion(t, r, "4", "")
	// A new deploy does: it changes the target.
	_, err = r.Deploy(ctx, "3", nil)
	require.NoError(t, err)
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	require.NoError(t, live.WaitFor(wctx, "3"))
	assert.EqualValues(t, 1, calls.Load(), "no retry of 2 while its backoff runs")
	st := live.Status()
	assert.Empty(t, st.LastError, "a success clears the error")
}

func TestLiveWaitFor(t *testing.T) {
	r := openReg(t, memStore(), nil)
	importVersion(t, r, "1", "")
	importVersion(t, r, "2", "")
	live, err := registry.NewLive(ctx, r, testLoader(nil, nil, nil), &registry.LiveOptions[*testModel]{PublishInterval: -1})
	require.NoError(t, err)

	t.Run("own deploy", func(t *testing.T) {
		e, err := r.Deploy(ctx, "1", nil)
		require.NoError(t, err)
		require.NoError(t, live.WaitFor(ctx, e.To))
		assert.Equal(t, "1", live.Version())
	})
	t.Run("another process's deploy", func(t *testing.T) {
		other := openReg(t, r.Store(), &registry.Options{SkipOpenScan: true})
		_, err := other.Deploy(ctx, "2", nil)
		require.NoError(t, err)
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		require.NoError(t, live.WaitFor(wctx, "2"))
	})
	t.Run("context ends first", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		err := live.WaitFor(cctx, "9")
		require.ErrorIs(t, err, context.Canceled)
	})
	t.Run("context ends with the load error", func(t *testing.T) {
		var calls atomic.Int64
		l2, err := registry.NewLive(ctx, r, flakyLoader("1", 1<<40, &calls), &registry.LiveOptions[*testModel]{RetryMin: time.Hour, PublishInterval: -1})
		require.NoError(t, err)
		defer l2.Close()
		_, err = r.Deploy(ctx, "1", nil)
		require.NoError(t, err)
		waitFor(t, "the load to fail", func() bool { return l2.Err() != nil })
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		err = l2.WaitFor(cctx, "1")
		require.ErrorIs(t, err, context.Canceled)
		assert.Contains(t, err.Error(), "transient load failure")
	})
	t.Run("closed", func(t *testing.T) {
		errc := make(chan error, 1)
		go func() { errc <- live.WaitFor(ctx, "never") }()
		require.NoError(t, live.Close())
		select {
		case err := <-errc:
			require.ErrorIs(t, err, registry.ErrClosed)
		case <-time.After(10 * time.Second):
			t.Fatal("WaitFor did not return after Close")
		}
	})
}

// TestLivePublishesServingState: each Live publishes what it serves; a
// second Registry on the same store lists it, sees a failed load, and
// the state disappears on Close.
func TestLivePublishesServingState(t *testing.T) {
	store := memStore()
	r := openReg(t, store, nil)
	importVersion(t, r, "1", "")
	importVersion(t, r, "2", "")
	_, err := r.Deploy(ctx, "1", nil)
	require.NoError(t, err)
	var calls atomic.Int64
	opts := func(name string) *registry.LiveOptions[*testModel] {
		return &registry.LiveOptions[*testModel]{Name: name, PublishInterval: 20 * time.Millisecond, RetryMin: time.Hour}
	}
	a, err := registry.NewLive(ctx, r, testLoader(nil, nil, nil), opts("replica-a"))
	require.NoError(t, err)
	defer a.Close()
	rb := openReg(t, store, &registry.Options{SkipOpenScan: true})
	b, err := registry.NewLive(ctx, rb, flakyLoader("2", 1<<40, &calls), opts("replica-b"))
	require.NoError(t, err)
	defer b.Close()

	operator := openReg(t, store, &registry.Options{SkipOpenScan: true})
	serving := func() map[string]registry.ServingState {
		out := map[string]registry.ServingState{}
		list, err := operator.Serving(ctx)
		require.NoError(t, err)
		for _, s := range list {
			out[s.Name] = s
		}
		return out
	}
	waitFor(t, "both replicas to publish 1", func() bool {
		s := serving()
		return len(s) == 2 && s["replica-a"].Version == "1" && s["replica-b"].Version == "1"
	})

	_, err = r.Deploy(ctx, "2", nil)
	require.NoError(t, err)
	var s map[string]registry.ServingState
	waitFor(t, "a to serve 2 and b to report its failure", func() bool {
		s = serving()
		return s["replica-a"].Version == "2" && s["replica-b"].ErrorVersion == "2"
	})
	assert.True(t, s["replica-a"].Converged())
	assert.False(t, s["replica-b"].Converged())
	assert.Equal(t, "1", s["replica-b"].Version, "b keeps serving 1")
	assert.Equal(t, "2", s["replica-b"].Want)
	assert.Contains(t, s["replica-b"].LastError, "transient load failure")
	assert.False(t, s["replica-a"].Since.IsZero())
	assert.True(t, s["replica-a"].Expires.After(s["replica-a"].Updated))

	require.NoError(t, b.Close())
	s = serving()
	assert.NotContains(t, s, "replica-b", "Close removes the published state")
	assert.Contains(t, s, "replica-a")
}

// TestServingAgesOut: a state whose Live stopped without Close is left
// out once it expires, and removed later.
func TestServingAgesOut(t *testing.T) {
	store := memStore()
	var now atomic.Pointer[time.Time]
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	now.Store(&t0)
	clock := func() time.Time { return *now.Load() }
	r := openReg(t, store, &registry.Options{Now: clock})
	importVersion(t, r, "1", "")
	_, err := r.Deploy(ctx, "1", nil)
	require.NoError(t, err)
	live, err := registry.NewLive(ctx, r, testLoader(nil, nil, nil), &registry.LiveOptions[*testModel]{Name: "gone", PublishInterval: time.Hour})
	require.NoError(t, err)
	waitFor(t, "the state to be published", func() bool { return registry.LivePublishes(live) > 0 })
	// Simulate a crash: the object stays, nobody refreshes it.
	data, err := storage.ReadAll(ctx, store, "_registry/serving/gone.json")
	require.NoError(t, err)
	require.NoError(t, live.Close())
	require.NoError(t, storage.WriteAll(ctx, store, "_registry/serving/gone.json", data, nil))

	list, err := r.Serving(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	later := t0.Add(3*time.Hour + time.Second)
	now.Store(&later)
	list, err = r.Serving(ctx)
	require.NoError(t, err)
	assert.Empty(t, list, "expired after three intervals")
	assert.NotEmpty(t, keys(t, store, "_registry/serving/"))
	muchLater := later.Add(2 * time.Hour)
	now.Store(&muchLater)
	_, err = r.Serving(ctx)
	require.NoError(t, err)
	assert.Empty(t, keys(t, store, "_registry/serving/"), "removed an hour after it expired")
}

func TestLiveName(t *testing.T) {
	r := openReg(t, memStore(), nil)
	for _, bad := range []string{"a/b", "..", ".hidden", "x y", strings.Repeat("n", 129), "é"} {
		_, err := registry.NewLive(ctx, r, testLoader(nil, nil, nil), &registry.LiveOptions[*testModel]{Name: bad})
		require.ErrorIs(t, err, registry.ErrLiveName, "%q", bad)
	}
	l, err := registry.NewLive(ctx, r, testLoader(nil, nil, nil), nil)
	require.NoError(t, err)
	defer l.Close()
	assert.NotEmpty(t, l.Name())
	assert.Equal(t, l.Name(), l.Status().Name)
}

// TestLeaseDoubleRelease: releasing a lease twice panics (documented),
// and does not drop another lease's reference.
func TestLeaseDoubleRelease(t *testing.T) {
	r := openReg(t, memStore(), nil)
	importVersion(t, r, "1", "")
	importVersion(t, r, "2", "")
	_, err := r.Deploy(ctx, "1", nil)
	require.NoError(t, err)
	live, err := registry.NewLive(ctx, r, testLoader(nil, nil, nil), &registry.LiveOptions[*testModel]{PublishInterval: -1})
	require.NoError(t, err)
	defer live.Close()
	a, err := live.Acquire()
	require.NoError(t, err)
	b, err := live.Acquire()
	require.NoError(t, err)
	m := a.Model()
	a.Release()
	copyOfA := a
	assert.PanicsWithValue(t, registry.ErrLeaseReleased, func() { copyOfA.Release() })
	_, err = r.Deploy(ctx, "2", nil)
	require.NoError(t, err)
	require.NoError(t, live.WaitFor(ctx, "2"))
	assert.False(t, m.closed.Load(), "b still holds the old model: the double release took nothing from it")
	b.Release()
	assert.True(t, m.closed.Load())
	var zero registry.Lease[*testModel]
	assert.NotPanics(t, zero.Release)
}

// TestLivePublishRateBounded: a burst of swaps is not a burst of writes:
// the published state is written at most once per PublishInterval/10
// (here one second), whatever the number of changes.
func TestLivePublishRateBounded(t *testing.T) {
	r := openReg(t, memStore(), nil)
	importVersion(t, r, "1", "")
	importVersion(t, r, "2", "")
	_, err := r.Deploy(ctx, "1", nil)
	require.NoError(t, err)
	start := time.Now()
	live, err := registry.NewLive(ctx, r, testLoader(nil, nil, nil), &registry.LiveOptions[*testModel]{PublishInterval: 10 * time.Second})
	require.NoError(t, err)
	defer live.Close()
	const deploys = 40
	for i := range deploys {
		e, err := r.Deploy(ctx, []string{"2", "1"}[i%2], nil)
		require.NoError(t, err)
		require.NoError(t, live.WaitFor(ctx, e.To), "every deploy is a swap, so a change to publish")
	}
	elapsed := time.Since(start)
	n := registry.LivePublishes(live)
	assert.LessOrEqual(t, n, int64(elapsed/time.Second)+1, "%d writes in %v for %d changes", n, elapsed, deploys)
	assert.Positive(t, n)
	t.Logf("%d publishes in %v for %d swaps", n, elapsed, deploys)
}
