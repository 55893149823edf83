package blobstore_test

import (
	"bytes"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	_ "gocloud.dev/blob/azureblob"
	_ "gocloud.dev/blob/gcsblob"
	_ "gocloud.dev/blob/s3blob"

	"github.com/modelvault/modelvault/internal/testservers"
	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/storage/blobstore"
	"github.com/modelvault/modelvault/storage/storagetest"
)

// serverOptions tunes the suite for servers on 127.0.0.1: everything
// runs in full (256 MiB round trip included) except the number of race
// rounds, since every round is 32 HTTP round trips.
func serverOptions() *storagetest.Options {
	return &storagetest.Options{RaceRounds: 25}
}

func openBucket(t *testing.T, srv *testservers.Server) *blobstore.Store {
	t.Helper()
	s, err := blobstore.Open(t.Context(), srv.NewBucket(t), nil)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func runServer(t *testing.T, srv *testservers.Server, opts *storagetest.Options) {
	srv.Setenv(t)
	newStore := func(t *testing.T) storage.Store { return openBucket(t, srv) }
	storagetest.RunOptions(t, newStore, opts)
	// The suite on a prefix view, smaller: the view adds no I/O.
	t.Run("Sub", func(t *testing.T) {
		sub := *opts
		sub.RaceRounds, sub.ListKeys, sub.LargeSize = 5, 1001, 16<<20
		storagetest.RunOptions(t, storagetest.Sub(newStore), &sub)
	})
	// A server that ignores conditional creates would be refused.
	t.Run("CheckConditionalCreate", func(t *testing.T) {
		require.NoError(t, storage.CheckConditionalCreate(t.Context(), openBucket(t, srv), "probe"))
	})
}

func TestConformanceS3(t *testing.T) {
	opts := serverOptions()
	// s3blob uploads through transfermanager: 5 concurrent 8 MiB parts,
	// each buffered (and copied once more for checksums), whatever the
	// object size. Options.UploadBufferSize/UploadConcurrency lower it.
	opts.MaxHeapGrowth = 96 << 20
	runServer(t, testservers.StartVersityGW(t), opts)
}

func TestConformanceGCS(t *testing.T) {
	opts := serverOptions()
	opts.LaxDelimiterPageSize = true // fake-gcs-server ignores maxResults for prefixes
	runServer(t, testservers.StartFakeGCS(t), opts)
}

func TestConformanceAzure(t *testing.T) {
	srv := testservers.StartAzurite(t)
	runServer(t, srv, serverOptions())

	// gocloud.dev v0.47.0's azureblob writer panics when a write through
	// NewWriter fails; blobstore must use the Upload path, so that a lost
	// race is a clean ErrExist.
	t.Run("LostRaceIsErrExistWithoutPanic", func(t *testing.T) {
		s := openBucket(t, srv)
		ctx := t.Context()
		for _, size := range []int{1 << 10, 20 << 20} {
			data := bytes.Repeat([]byte("w"), size)
			require.NoError(t, storage.WriteAll(ctx, s, "k", data, &storage.PutOptions{IfNotExist: true}))
			err := storage.WriteAll(ctx, s, "k", []byte("loser"), &storage.PutOptions{IfNotExist: true})
			require.ErrorIs(t, err, storage.ErrExist)
			got, err := storage.ReadAll(ctx, s, "k")
			require.NoError(t, err)
			require.True(t, bytes.Equal(data, got))

			var wg sync.WaitGroup
			errs := make([]error, 4)
			for i := range errs {
				wg.Go(func() {
					errs[i] = storage.WriteAll(ctx, s, "race", data, &storage.PutOptions{IfNotExist: true})
				})
			}
			wg.Wait()
			winners := 0
			for _, err := range errs {
				if err == nil {
					winners++
				} else {
					require.ErrorIs(t, err, storage.ErrExist)
				}
			}
			require.Equal(t, 1, winners)
			require.NoError(t, s.Delete(ctx, "k"))
			require.NoError(t, s.Delete(ctx, "race"))
		}
	})

	t.Run("MissingContainerIsAnErrorNotAPanic", func(t *testing.T) {
		s, err := blobstore.Open(t.Context(), "azblob://no-such-container?protocol=http&domain="+srv.Addr, nil)
		require.NoError(t, err)
		defer s.Close()
		err = storage.WriteAll(t.Context(), s, "k", []byte("x"), nil)
		require.Error(t, err)
		require.False(t, errors.Is(err, storage.ErrExist))
	})
}
