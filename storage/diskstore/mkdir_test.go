package diskstore

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/storage"
)

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

// Every put into new directories fsyncs the parent of each directory it
// created and the directory it renamed into, before it returns; the
// probe-free registry path relies on no fewer.
func TestPutFsyncsEveryNewDirectoryEntry(t *testing.T) {
	s, err := Open(t.TempDir(), nil)
	require.NoError(t, err)
	defer s.Close()
	var mu sync.Mutex
	synced := map[string]int{}
	s.d.syncHook = func(dir string) { mu.Lock(); synced[dir]++; mu.Unlock() }

	require.NoError(t, storage.WriteAll(t.Context(), s, "a/b/k", []byte("x"), nil))
	assert.Equal(t, map[string]int{".": 1, "a": 1, "a/b": 1}, synced, "a's and b's entries, and k's")

	clear(synced)
	require.NoError(t, storage.WriteAll(t.Context(), s, "a/b/j", []byte("y"), &storage.PutOptions{IfNotExist: true}))
	assert.Equal(t, map[string]int{"a/b": 1}, synced, "an existing durable path: only the directory of the new entry")

	clear(synced)
	require.NoError(t, s.Delete(t.Context(), "a/b/j"))
	assert.Equal(t, map[string]int{"a/b": 1}, synced, "a delete is durable too")
}
