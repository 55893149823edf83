package blobstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"

	"github.com/modelvault/modelvault/storage"
)

// conflictError looks like the AWS SDK's error for S3's 409
// ConditionalRequestConflict (smithy.APIError has ErrorCode).
type conflictError struct{}

func (conflictError) Error() string     { return "api error ConditionalRequestConflict: retry" }
func (conflictError) ErrorCode() string { return "ConditionalRequestConflict" }

// faultyStore returns a store over memblob whose first conflicts uploads
// read their input and fail with a conflict; before failing, the upload
// number createAt (if >= 0) lets "another writer" create the key.
func faultyStore(t *testing.T, conflicts int, createAt int) (*Store, *int) {
	b := memblob.OpenBucket(nil)
	s := New(b, &Options{ConflictBackoff: 1})
	t.Cleanup(func() { s.Close() })
	calls := 0
	s.d.upload = func(ctx context.Context, key string, r io.Reader, opts *blob.WriterOptions) error {
		calls++
		if calls > conflicts {
			return b.Upload(ctx, key, r, opts)
		}
		io.Copy(io.Discard, r)
		if calls-1 == createAt {
			require.NoError(t, b.WriteAll(ctx, key, []byte("other writer"), nil))
		}
		return conflictError{}
	}
	return s, &calls
}

func TestIsConflict(t *testing.T) {
	require.True(t, isConflict(conflictError{}))
	require.True(t, isConflict(fmt.Errorf("wrapped: %w", conflictError{})))
	require.True(t, isConflict(errors.New("operation error S3: PutObject, https response error StatusCode: 409, api error ConditionalRequestConflict")))
	require.False(t, isConflict(errors.New("409 something else")))
	require.False(t, isConflict(nil))
}

func TestConflictRetriedWithSeekableReader(t *testing.T) {
	s, calls := faultyStore(t, 2, -1)
	data := bytes.Repeat([]byte("d"), 1<<20)
	require.NoError(t, storage.WriteAll(t.Context(), s, "k", data, &storage.PutOptions{IfNotExist: true}))
	require.Equal(t, 3, *calls)
	got, err := storage.ReadAll(t.Context(), s, "k")
	require.NoError(t, err)
	require.True(t, bytes.Equal(data, got), "the retry uploaded the whole object")
}

func TestConflictThenObjectAppearsIsErrExist(t *testing.T) {
	s, calls := faultyStore(t, 1, 0)
	err := storage.WriteAll(t.Context(), s, "k", []byte("mine"), &storage.PutOptions{IfNotExist: true})
	require.ErrorIs(t, err, storage.ErrExist)
	require.Equal(t, 1, *calls)
	got, err := storage.ReadAll(t.Context(), s, "k")
	require.NoError(t, err)
	require.Equal(t, "other writer", string(got))
}

func TestConflictNotRetriableWithoutSeeker(t *testing.T) {
	s, calls := faultyStore(t, 1, -1)
	r := io.MultiReader(strings.NewReader("not seekable"))
	err := s.Put(t.Context(), "k", r, nil)
	require.ErrorIs(t, err, ErrConflict)
	require.Equal(t, 1, *calls)

	// With IfNotExist it waits (bounded) for the other writer instead.
	s, calls = faultyStore(t, 100, -1)
	err = s.Put(t.Context(), "k", io.MultiReader(strings.NewReader("x")), &storage.PutOptions{IfNotExist: true})
	require.ErrorIs(t, err, ErrConflict)
	require.Equal(t, 1, *calls, "a non-seekable reader is read once")
}

func TestConflictRetriesBounded(t *testing.T) {
	s, calls := faultyStore(t, 100, -1)
	err := storage.WriteAll(t.Context(), s, "k", []byte("x"), nil)
	require.ErrorIs(t, err, ErrConflict)
	require.Equal(t, 5, *calls, "1 try + 4 retries")
	_, err = s.Stat(t.Context(), "k")
	require.ErrorIs(t, err, storage.ErrNotExist)
}
