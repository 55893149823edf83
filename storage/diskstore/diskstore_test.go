package diskstore_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/storage/diskstore"
	"github.com/modelvault/modelvault/storage/storagetest"
)

func newStore(t *testing.T, opts *diskstore.Options) *diskstore.Store {
	t.Helper()
	s, err := diskstore.Open(filepath.Join(t.TempDir(), "store"), opts)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store { return newStore(t, nil) })
}

func TestConformanceNoSync(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store { return newStore(t, &diskstore.Options{NoSync: true}) })
}

func TestSymlinksCannotEscape(t *testing.T) {
	ctx := t.Context()
	outside := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o644))
	s := newStore(t, nil)
	require.NoError(t, os.Symlink(outside, filepath.Join(s.Dir(), "evil")))
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret"), filepath.Join(s.Dir(), "evil-file")))

	_, err := storage.ReadAll(ctx, s, "evil/secret")
	require.Error(t, err)
	_, err = storage.ReadAll(ctx, s, "evil-file")
	require.Error(t, err)
	require.Error(t, storage.WriteAll(ctx, s, "evil/new", []byte("x"), nil))
	_, err = os.Stat(filepath.Join(outside, "new"))
	require.ErrorIs(t, err, os.ErrNotExist, "a put escaped the root")
	for o, err := range storage.All(ctx, s, nil) {
		require.NoError(t, err)
		t.Errorf("listed %q through an escaping link", o.Key)
	}

	// A link that stays inside the root is followed.
	require.NoError(t, storage.WriteAll(ctx, s, "real/obj", []byte("inside"), nil))
	require.NoError(t, os.Symlink("real", filepath.Join(s.Dir(), "alias")))
	b, err := storage.ReadAll(ctx, s, "alias/obj")
	require.NoError(t, err)
	require.Equal(t, "inside", string(b))
}

func TestCleanRemovesStaleTempFiles(t *testing.T) {
	ctx := t.Context()
	s := newStore(t, nil)
	require.NoError(t, storage.WriteAll(ctx, s, "d/obj", []byte("x"), nil))
	stale := filepath.Join(s.Dir(), "d", storage.ReservedPrefix+"crashed")
	fresh := filepath.Join(s.Dir(), storage.ReservedPrefix+"in-progress")
	require.NoError(t, os.WriteFile(stale, []byte("partial"), 0o644))
	require.NoError(t, os.WriteFile(fresh, []byte("partial"), 0o644))
	old := time.Now().Add(-2 * time.Hour)
	require.NoError(t, os.Chtimes(stale, old, old))

	var keys []string
	for o, err := range storage.All(ctx, s, nil) {
		require.NoError(t, err)
		keys = append(keys, o.Key)
	}
	require.Equal(t, []string{"d/obj"}, keys, "List shows temporary files")

	n, err := s.Clean(ctx, time.Hour)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	_, err = os.Stat(stale)
	require.ErrorIs(t, err, os.ErrNotExist)
	_, err = os.Stat(fresh)
	require.NoError(t, err, "Clean removed a recent temporary file")
}

func TestObjectAndDirectoryConflicts(t *testing.T) {
	ctx := t.Context()
	s := newStore(t, nil)
	require.NoError(t, storage.WriteAll(ctx, s, "a", []byte("file"), nil))
	err := storage.WriteAll(ctx, s, "a/b", []byte("x"), nil)
	require.Error(t, err)
	require.NotErrorIs(t, err, storage.ErrExist)

	require.NoError(t, storage.WriteAll(ctx, s, "d/b", []byte("x"), nil))
	require.Error(t, storage.WriteAll(ctx, s, "d", []byte("x"), nil))
	require.ErrorIs(t, storage.WriteAll(ctx, s, "d", []byte("x"), &storage.PutOptions{IfNotExist: true}), storage.ErrExist)
	b, err := storage.ReadAll(ctx, s, "d/b")
	require.NoError(t, err)
	require.Equal(t, "x", string(b))
}

func TestLocalPath(t *testing.T) {
	s := newStore(t, nil)
	require.NoError(t, storage.WriteAll(t.Context(), s, "m/x.bin", []byte("12"), nil))
	p, err := s.LocalPath("m/x.bin")
	require.NoError(t, err)
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	require.Equal(t, "12", string(b))
	_, err = s.LocalPath("m/missing")
	require.ErrorIs(t, err, storage.ErrNotExist)
	_, err = s.LocalPath("../x")
	require.ErrorIs(t, err, storage.ErrInvalidKey)
}

func TestConformanceSub(t *testing.T) {
	storagetest.RunOptions(t, storagetest.Sub(func(t *testing.T) storage.Store { return newStore(t, &diskstore.Options{NoSync: true}) }),
		&storagetest.Options{ListKeys: 1001, LargeSize: 16 << 20})
}

// A directory's conditional creates are link(2) calls: the probe is
// skipped and writes nothing, directly or through a view.
func TestConditionalCreatesWithoutProbe(t *testing.T) {
	s := newStore(t, nil)
	require.True(t, s.ConditionalCreates())
	require.NoError(t, storage.CheckConditionalCreate(t.Context(), s, "_registry/probe"))
	sub, err := storage.Sub(s, "models/a")
	require.NoError(t, err)
	require.NoError(t, storage.CheckConditionalCreate(t.Context(), sub, "_registry/probe"))
	entries, err := os.ReadDir(s.Dir())
	require.NoError(t, err)
	require.Empty(t, entries, "no probe file or directory is created")
}

// A put's copy buffer is pooled: small puts do not each allocate (and
// zero) 256 KiB.
func TestSmallPutsReuseTheCopyBuffer(t *testing.T) {
	s := newStore(t, &diskstore.Options{NoSync: true})
	ctx := t.Context()
	require.NoError(t, storage.WriteAll(ctx, s, "warm", []byte("x"), nil))
	const runs = 100
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range runs {
		require.NoError(t, storage.WriteAll(ctx, s, fmt.Sprint("k", i), []byte("small"), nil))
	}
	runtime.ReadMemStats(&after)
	perPut := (after.TotalAlloc - before.TotalAlloc) / runs
	t.Logf("%d bytes allocated per small put", perPut)
	limit := uint64(32 << 10)
	if raceEnabled {
		limit = 128 << 10 // the pool drops 1 in 4 buffers: about 64 KiB
	}
	assert.Less(t, perPut, limit, "most puts reuse a buffer")
}
