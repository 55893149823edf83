package storeurl_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/storage/blobstore"
	"github.com/modelvault/modelvault/storage/diskstore"
	"github.com/modelvault/modelvault/storage/storeurl"
)

func TestOpen(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	for _, c := range []struct {
		target string
		disk   bool
	}{
		{filepath.Join(dir, "a"), true},
		{"file://" + filepath.Join(dir, "b"), true},
		{"file://localhost" + filepath.Join(dir, "c"), true},
		{"mem://", false},
	} {
		s, err := storeurl.Open(ctx, c.target, nil)
		require.NoError(t, err, c.target)
		if c.disk {
			require.IsType(t, &diskstore.Store{}, s.Store, c.target)
		} else {
			require.IsType(t, &blobstore.Store{}, s.Store, c.target)
		}
		require.NoError(t, storage.WriteAll(ctx, s, "k", []byte("v"), nil))
		got, err := storage.ReadAll(ctx, s, "k")
		require.NoError(t, err)
		require.Equal(t, "v", string(got))
		require.NoError(t, s.Close())
	}
	// A directory store is the same directory when reopened.
	s, err := storeurl.Open(ctx, filepath.Join(dir, "a"), nil)
	require.NoError(t, err)
	ok, err := storage.Exists(ctx, s, "k")
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, s.Close())
}

func TestOpenErrors(t *testing.T) {
	for _, target := range []string{
		"",
		"file://remote.example/x",
		"file:///x?y=1",
		"nosuchdriver://bucket",
		"s3://bucket", // the s3 driver is not imported here
	} {
		_, err := storeurl.Open(t.Context(), target, nil)
		require.Error(t, err, target)
	}
}

func TestLocalPath(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := storeurl.Open(ctx, dir, nil)
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, storage.WriteAll(ctx, s, "a/b.txt", []byte("x"), nil))
	p, err := s.LocalPath("a/b.txt")
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "a", "b.txt"), p)

	m, err := storeurl.Open(ctx, "mem://", nil)
	require.NoError(t, err)
	defer m.Close()
	_, err = m.LocalPath("a")
	assert.ErrorIs(t, err, storeurl.ErrNoLocalPath)
}

func TestConditionalCreates(t *testing.T) {
	ctx := t.Context()
	d, err := storeurl.Open(ctx, t.TempDir(), nil)
	require.NoError(t, err)
	defer d.Close()
	assert.True(t, d.ConditionalCreates(), "a directory forwards diskstore's guarantee")
	m, err := storeurl.Open(ctx, "mem://", nil)
	require.NoError(t, err)
	defer m.Close()
	assert.False(t, m.ConditionalCreates(), "a bucket is probed")
}
