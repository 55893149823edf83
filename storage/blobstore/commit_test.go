package blobstore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"

	"github.com/modelvault/modelvault/storage"
)

// hookStore returns a store over memblob whose uploads run hook instead,
// with the bucket to commit to.
func hookStore(t *testing.T, opts *Options, hook func(ctx context.Context, b *blob.Bucket, key string, r io.Reader, o *blob.WriterOptions) error) (*Store, *blob.Bucket) {
	b := memblob.OpenBucket(nil)
	s := New(b, opts)
	t.Cleanup(func() { s.Close() })
	s.d.upload = func(ctx context.Context, key string, r io.Reader, o *blob.WriterOptions) error {
		return hook(ctx, b, key, r, o)
	}
	return s, b
}

var ifNotExist = &storage.PutOptions{IfNotExist: true}

// Scenario 1 of issue #11 at the storage level: the SDK retried a
// conditional PUT whose response was lost; the retry got 412 for the
// put's own object. That is a success, not a lost race.
func TestOwnWriteAnsweredExistIsSuccess(t *testing.T) {
	ctx := t.Context()
	data := []byte("event 7, id 4f1c")
	s, b := hookStore(t, nil, func(ctx context.Context, b *blob.Bucket, key string, r io.Reader, o *blob.WriterOptions) error {
		body, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		if err := b.WriteAll(ctx, key, body, o); err != nil { // the first attempt lands
			return err
		}
		return b.WriteAll(ctx, key, body, o) // the retry: 412
	})
	require.NoError(t, s.Put(ctx, "log/7", bytes.NewReader(data), ifNotExist))
	got, err := b.ReadAll(ctx, "log/7")
	require.NoError(t, err)
	assert.Equal(t, data, got)

	// Another writer's object is still a lost race.
	require.NoError(t, b.WriteAll(ctx, "log/8", []byte("theirs, same size"), nil))
	err = s.Put(ctx, "log/8", bytes.NewReader([]byte("mine, same size!!")), ifNotExist)
	require.ErrorIs(t, err, storage.ErrExist)
	got, err = b.ReadAll(ctx, "log/8")
	require.NoError(t, err)
	assert.Equal(t, "theirs, same size", string(got))
}

// Scenario 2 of issue #11: a conditional create whose caller's context
// is cancelled after the object was stored must not delete it.
func TestCancelledAfterCommitIsNotDeleted(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s, b := hookStore(t, nil, func(uctx context.Context, b *blob.Bucket, key string, r io.Reader, o *blob.WriterOptions) error {
		if err := b.Upload(uctx, key, r, o); err != nil {
			return err
		}
		cancel() // the client disconnects just after the commit
		return nil
	})
	err := s.Put(ctx, "log/1", bytes.NewReader([]byte("committed")), ifNotExist)
	require.NoError(t, err, "a committed put is a success")
	ok, err := b.Exists(t.Context(), "log/1")
	require.NoError(t, err)
	require.True(t, ok, "the committed object was deleted")
}

// Once the whole body is read, the commit runs detached from the caller:
// cancelling then neither aborts it nor turns it into a failure.
func TestCommitDetachedAfterBodyRead(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s, b := hookStore(t, nil, func(uctx context.Context, b *blob.Bucket, key string, r io.Reader, o *blob.WriterOptions) error {
		body, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		cancel()
		if err := uctx.Err(); err != nil {
			return err // the commit was not detached
		}
		return b.WriteAll(uctx, key, body, o)
	})
	require.NoError(t, s.Put(ctx, "k", bytes.NewReader([]byte("x")), ifNotExist))
	ok, err := b.Exists(t.Context(), "k")
	require.NoError(t, err)
	require.True(t, ok)
}

// A commit that outlives CommitTimeout and lands anyway is resolved by
// reading it back.
func TestCommitTimeoutResolvedByIdentity(t *testing.T) {
	s, _ := hookStore(t, &Options{CommitTimeout: 20 * time.Millisecond}, func(uctx context.Context, b *blob.Bucket, key string, r io.Reader, o *blob.WriterOptions) error {
		body, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		<-uctx.Done() // the server is slow to answer...
		if err := b.WriteAll(context.Background(), key, body, o); err != nil {
			return err
		}
		return uctx.Err() // ...but did commit
	})
	require.NoError(t, s.Put(t.Context(), "k", bytes.NewReader([]byte("late")), ifNotExist))
}

// Cancelling before the body is read aborts the upload: nothing is stored.
func TestCancelBeforeBodyReadAborts(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	s, b := hookStore(t, nil, func(uctx context.Context, b *blob.Bucket, key string, r io.Reader, o *blob.WriterOptions) error {
		cancel()
		<-uctx.Done()
		return b.Upload(uctx, key, r, o)
	})
	err := s.Put(ctx, "k", bytes.NewReader([]byte("x")), ifNotExist)
	require.ErrorIs(t, err, context.Canceled)
	ok, err := b.Exists(t.Context(), "k")
	require.NoError(t, err)
	require.False(t, ok)
	require.False(t, errors.Is(err, storage.ErrUnknownOutcome))
}

// Writers of identical bytes are told apart by the put's tag: the second
// create of the same bytes is still a lost race, while the own write
// answered 412 (TestOwnWriteAnsweredExistIsSuccess) is a success.
func TestIdenticalBytesSecondCreateIsErrExist(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, "mem://", nil)
	require.NoError(t, err)
	defer s.Close()
	data := []byte("same bytes")
	require.NoError(t, s.Put(ctx, "k", bytes.NewReader(data), ifNotExist))
	require.ErrorIs(t, s.Put(ctx, "k", bytes.NewReader(data), ifNotExist), storage.ErrExist)

	// An object without a tag (written by another tool) is compared by
	// its bytes.
	require.NoError(t, s.Bucket().WriteAll(ctx, "untagged", data, nil))
	require.ErrorIs(t, s.Put(ctx, "untagged", bytes.NewReader([]byte("other bytes")), ifNotExist), storage.ErrExist)
}
