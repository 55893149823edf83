package storage_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/storage/aferostore"
)

func newStore(t *testing.T, keys ...string) storage.Store {
	s := aferostore.New(afero.NewMemMapFs(), nil)
	for _, k := range keys {
		require.NoError(t, storage.WriteAll(t.Context(), s, k, []byte("data of "+k), nil))
	}
	return s
}

func TestAllAndPages(t *testing.T) {
	var keys []string
	for i := range 25 {
		keys = append(keys, fmt.Sprintf("k/%02d", i))
	}
	s := newStore(t, keys...)
	var got []string
	for o, err := range storage.All(t.Context(), s, &storage.ListOptions{PageSize: 4}) {
		require.NoError(t, err)
		got = append(got, o.Key)
	}
	require.Equal(t, keys, got)

	// Stopping early stops listing.
	n := 0
	for range storage.All(t.Context(), s, &storage.ListOptions{PageSize: 4}) {
		n++
		if n == 5 {
			break
		}
	}
	require.Equal(t, 5, n)

	pages := 0
	for page, err := range storage.Pages(t.Context(), s, &storage.ListOptions{PageSize: 10}) {
		require.NoError(t, err)
		pages++
		require.LessOrEqual(t, len(page.Objects), 10)
	}
	require.Equal(t, 3, pages)

	// Errors are yielded once.
	errs := 0
	for _, err := range storage.All(t.Context(), s, &storage.ListOptions{Prefix: "/bad"}) {
		require.ErrorIs(t, err, storage.ErrInvalidKey)
		errs++
	}
	require.Equal(t, 1, errs)
}

// stuckStore returns the same page token forever.
type stuckStore struct{ storage.Store }

func (stuckStore) List(context.Context, *storage.ListOptions) (*storage.ListPage, error) {
	return &storage.ListPage{Objects: []storage.ObjectInfo{{Key: "a"}}, NextPageToken: "same"}, nil
}

func TestPagesStopsOnStuckToken(t *testing.T) {
	var lastErr error
	n := 0
	for _, err := range storage.All(t.Context(), stuckStore{}, nil) {
		n++
		lastErr = err
	}
	require.ErrorContains(t, lastErr, "did not advance")
	require.Equal(t, 3, n) // page 1, page 2 (token "same" again), error
}

func TestExistsDeletePrefixCopy(t *testing.T) {
	ctx := t.Context()
	s := newStore(t, "a/1", "a/2", "a/b/3", "ab", "c")
	ok, err := storage.Exists(ctx, s, "a/1")
	require.NoError(t, err)
	require.True(t, ok)
	_, err = storage.Exists(ctx, s, "../x")
	require.ErrorIs(t, err, storage.ErrInvalidKey)

	require.NoError(t, storage.DeletePrefix(ctx, s, "a/"))
	var left []string
	for o, err := range storage.All(ctx, s, nil) {
		require.NoError(t, err)
		left = append(left, o.Key)
	}
	require.Equal(t, []string{"ab", "c"}, left)
	require.ErrorIs(t, storage.DeletePrefix(ctx, s, "/"), storage.ErrInvalidKey)

	dst := newStore(t)
	require.NoError(t, storage.Copy(ctx, dst, "copied/c", s, "c", nil))
	b, err := storage.ReadAll(ctx, dst, "copied/c")
	require.NoError(t, err)
	require.Equal(t, "data of c", string(b))
	require.ErrorIs(t, storage.Copy(ctx, dst, "x", s, "missing", nil), storage.ErrNotExist)
	require.ErrorIs(t, storage.Copy(ctx, dst, "copied/c", s, "c", &storage.PutOptions{IfNotExist: true}), storage.ErrExist)
}
