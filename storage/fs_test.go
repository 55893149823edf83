package storage_test

import (
	"io"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/storage"
)

func TestFS(t *testing.T) {
	s := newStore(t, "m/a", "m/d/b", "m/d/e/c", "other")
	fsys := storage.FS(t.Context(), s, "m/")
	require.NoError(t, fstest.TestFS(fsys, "a", "d/b", "d/e/c"))

	// Seek then Read uses ranged reads; ReadAt works too.
	f, err := fsys.Open("d/b")
	require.NoError(t, err)
	defer f.Close()
	sk := f.(io.ReadSeeker)
	_, err = sk.Seek(5, io.SeekStart)
	require.NoError(t, err)
	b, err := io.ReadAll(sk)
	require.NoError(t, err)
	require.Equal(t, "of m/d/b", string(b))
	p := make([]byte, 4)
	_, err = f.(io.ReaderAt).ReadAt(p, 0)
	require.NoError(t, err)
	require.Equal(t, "data", string(p))

	entries, err := fs.ReadDir(fsys, "d")
	require.NoError(t, err)
	require.Len(t, entries, 2)
	require.Equal(t, "b", entries[0].Name())
	require.True(t, entries[1].IsDir())

	empty := storage.FS(t.Context(), newStore(t), "")
	require.NoError(t, fstest.TestFS(empty))
	_, err = fs.Stat(storage.FS(t.Context(), s, "a//b"), ".")
	require.ErrorIs(t, err, storage.ErrInvalidKey)
}
