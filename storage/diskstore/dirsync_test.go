package diskstore

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/storage"
)

// roundErr is the "error" of a test fsync: which fsync it was and when
// it started, on a logical clock.
type roundErr struct{ n, start int64 }

func (e *roundErr) Error() string { return fmt.Sprintf("round %d started at %d", e.n, e.start) }

// Callers that arrive while an fsync runs share the next one, and every
// caller is covered by an fsync that started after its call.
func TestDirSyncCoalesces(t *testing.T) {
	const n = 8
	var s dirSyncer
	var clock, rounds atomic.Int64
	release := make(chan struct{})
	firstStarted := make(chan struct{})
	fsync := func() error {
		r := &roundErr{n: rounds.Add(1), start: clock.Add(1)}
		if r.n == 1 {
			close(firstStarted)
			<-release
		}
		return r
	}
	joined := make(chan struct{}, n)
	s.joined = func() { joined <- struct{}{} }

	call := func() (stamp int64, r *roundErr) {
		stamp = clock.Add(1)
		require.ErrorAs(t, s.sync("d", fsync), &r)
		return stamp, r
	}
	type result struct {
		stamp int64
		r     *roundErr
	}
	results := make(chan result, n+1)
	go func() { st, r := call(); results <- result{st, r} }()
	<-firstStarted
	for range n {
		go func() { st, r := call(); results <- result{st, r} }()
	}
	for range n {
		<-joined // all n queued behind the running fsync
	}
	close(release)
	for range n + 1 {
		res := <-results
		assert.Greater(t, res.r.start, res.stamp, "covered by an fsync that started after the call")
	}
	assert.Equal(t, int64(2), rounds.Load(), "one fsync for the first caller, one shared by the %d others", n)
	assert.Empty(t, s.dirs, "idle directories are forgotten")
}

// A failed fsync fails every caller it covers; the next call fsyncs
// again.
func TestDirSyncError(t *testing.T) {
	var s dirSyncer
	boom := errors.New("EIO")
	calls := 0
	require.ErrorIs(t, s.sync("d", func() error { calls++; return boom }), boom)
	require.NoError(t, s.sync("d", func() error { calls++; return nil }))
	assert.Equal(t, 2, calls)
}

// Under any interleaving, each caller returns after an fsync that started
// after its call (many goroutines, several directories).
func TestDirSyncConcurrent(t *testing.T) {
	var s dirSyncer
	var clock atomic.Int64
	fsync := func() error { return &roundErr{start: clock.Add(1)} }
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			dir := fmt.Sprint("d", g%3)
			for range 50 {
				stamp := clock.Add(1)
				var r *roundErr
				if !assert.ErrorAs(t, s.sync(dir, fsync), &r) || !assert.Greater(t, r.start, stamp) {
					return
				}
			}
		})
	}
	wg.Wait()
	assert.Empty(t, s.dirs)
}

// A put into a directory that another put created, and whose entry that
// put has not yet made durable, waits for the creator's fsync of the
// parent; if the creator failed, it fsyncs the parent itself.
func TestPendingDirectories(t *testing.T) {
	s, err := Open(t.TempDir(), nil)
	require.NoError(t, err)
	defer s.Close()
	var a, b pathSync
	require.NoError(t, s.d.mkdirAll("x/y", &a))
	require.Len(t, a.created, 2, "x and x/y")
	assert.Empty(t, a.waits)

	require.NoError(t, s.d.mkdirAll("x/y", &b))
	assert.Empty(t, b.created)
	require.Len(t, b.waits, 2, "both entries are pending")
	bDone := make(chan error, 1)
	go func() { bDone <- s.d.syncPath(&b)() }()
	select {
	case <-bDone:
		t.Fatal("the second put finished before the creator's fsyncs")
	default:
	}
	require.NoError(t, s.d.syncPath(&a)())
	require.NoError(t, <-bDone)
	assert.Empty(t, s.d.pending, "settled directories are forgotten")

	var c, d pathSync
	require.NoError(t, s.d.mkdirAll("z", &c))
	require.NoError(t, s.d.mkdirAll("z", &d))
	require.Len(t, d.waits, 1)
	c.abandon(s.d, errors.New("EIO"))
	require.NoError(t, s.d.syncPath(&d)(), "the waiter fsyncs the parent itself")

	var e pathSync
	require.NoError(t, s.d.mkdirAll("x/y", &e))
	assert.Empty(t, e.created)
	assert.Empty(t, e.waits, "durable: nothing to wait for")

	ns, err := Open(t.TempDir(), &Options{NoSync: true})
	require.NoError(t, err)
	defer ns.Close()
	var f pathSync
	require.NoError(t, ns.d.mkdirAll("x/y", &f))
	assert.Empty(t, f.created, "NoSync tracks nothing")
}

// Puts into new nested directories, many at once, all land; none waits
// forever for another (each directory's fsync depends on nothing else).
func TestConcurrentPutsIntoNewDirectories(t *testing.T) {
	s, err := Open(t.TempDir(), nil)
	require.NoError(t, err)
	defer s.Close()
	var wg sync.WaitGroup
	for i := range 24 {
		wg.Go(func() {
			key := fmt.Sprintf("a/b%d/c/k%d", i%3, i)
			assert.NoError(t, storage.WriteAll(t.Context(), s, key, []byte(key), nil))
		})
	}
	wg.Wait()
	n := 0
	for _, err := range storage.All(t.Context(), s, nil) {
		require.NoError(t, err)
		n++
	}
	assert.Equal(t, 24, n)
	assert.Empty(t, s.d.pending)
}
