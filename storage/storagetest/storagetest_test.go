package storagetest_test

import (
	"context"
	"io"
	"io/fs"
	"runtime"
	"testing"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/storage/aferostore"
	"github.com/modelvault/modelvault/storage/storagetest"
)

// racyStore implements IfNotExist the wrong way: check, then put. It is
// what the concurrent IfNotExist subtest exists to catch.
type racyStore struct{ storage.Store }

func (r racyStore) Put(ctx context.Context, key string, rd io.Reader, opts *storage.PutOptions) error {
	if opts != nil && opts.IfNotExist {
		ok, err := storage.Exists(ctx, r.Store, key)
		if err != nil {
			return err
		}
		if ok {
			return &fs.PathError{Op: "put", Path: key, Err: storage.ErrExist}
		}
		runtime.Gosched() // widen the window between check and act
		return r.Store.Put(ctx, key, rd, nil)
	}
	return r.Store.Put(ctx, key, rd, opts)
}

// TestCheckConcurrentCreateCatchesRacyStore is the test of the test: the
// check that every backend passes must fail on a check-then-put store.
func TestCheckConcurrentCreateCatchesRacyStore(t *testing.T) {
	ctx := t.Context()
	good := aferostore.New(afero.NewMemMapFs(), nil)
	require.NoError(t, storagetest.CheckConcurrentCreate(ctx, good, 32, 20))

	racy := racyStore{aferostore.New(afero.NewMemMapFs(), nil)}
	err := storagetest.CheckConcurrentCreate(ctx, racy, 32, 20)
	require.Error(t, err, "the concurrent create check did not catch a check-then-put store")
	require.Contains(t, err.Error(), "winners")
	t.Logf("caught: %v", err)

	// Sequential creates cannot tell the two apart.
	require.NoError(t, storage.WriteAll(ctx, racy, "k", []byte("1"), &storage.PutOptions{IfNotExist: true}))
	require.ErrorIs(t, storage.WriteAll(ctx, racy, "k", []byte("2"), &storage.PutOptions{IfNotExist: true}), storage.ErrExist)
}

func TestCheckConcurrentCreateArguments(t *testing.T) {
	s := aferostore.New(afero.NewMemMapFs(), nil)
	require.Error(t, storagetest.CheckConcurrentCreate(t.Context(), s, 1, 1))
	require.Error(t, storagetest.CheckConcurrentCreate(t.Context(), s, 2, 0))
}
