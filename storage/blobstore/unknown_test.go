package blobstore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"

	"github.com/modelvault/modelvault/storage"
)

// resetStore returns a store whose uploads fail like a connection reset
// while the body is sent (the server's answer is lost). before runs first
// (e.g. another writer creating the key); store says whether this
// upload's bytes land anyway.
func resetStore(t *testing.T, failures int, before func(ctx context.Context, b *blob.Bucket), store bool) (*Store, *int) {
	b := memblob.OpenBucket(nil)
	s := New(b, &Options{ConflictBackoff: 1})
	t.Cleanup(func() { s.Close() })
	calls := 0
	s.d.upload = func(ctx context.Context, key string, r io.Reader, opts *blob.WriterOptions) error {
		calls++
		if calls > failures {
			return b.Upload(ctx, key, r, opts)
		}
		if before != nil {
			before(ctx, b)
		}
		if store {
			if err := b.Upload(ctx, key, r, opts); err != nil {
				return err
			}
		} else {
			io.Copy(io.Discard, r)
		}
		return errors.New(`Put "http://127.0.0.1/bucket/k": write: connection reset by peer`)
	}
	return s, &calls
}

func TestUnknownOutcome(t *testing.T) {
	ctx := context.Background()
	data := bytes.Repeat([]byte("mine"), 1<<18)
	put := func(s *Store, r io.Reader) error {
		return s.Put(ctx, "k", r, &storage.PutOptions{IfNotExist: true})
	}

	t.Run("our bytes landed: success", func(t *testing.T) {
		s, _ := resetStore(t, 1, nil, true)
		require.NoError(t, put(s, bytes.NewReader(data)))
		got, err := storage.ReadAll(ctx, s, "k")
		require.NoError(t, err)
		assert.Equal(t, data, got)
	})
	t.Run("another writer's bytes landed: ErrExist", func(t *testing.T) {
		s, _ := resetStore(t, 1, func(ctx context.Context, b *blob.Bucket) {
			require.NoError(t, b.WriteAll(ctx, "k", []byte("theirs"), nil))
		}, false)
		require.ErrorIs(t, put(s, bytes.NewReader(data)), storage.ErrExist)
	})
	t.Run("nothing landed: retried when the reader can be rewound", func(t *testing.T) {
		s, calls := resetStore(t, 1, nil, false)
		require.NoError(t, put(s, bytes.NewReader(data)))
		assert.Equal(t, 2, *calls)
	})
	t.Run("nothing landed, reader cannot be rewound: the error, not ErrExist", func(t *testing.T) {
		s, _ := resetStore(t, 1, nil, false)
		err := put(s, io.MultiReader(bytes.NewReader(data)))
		require.Error(t, err)
		assert.NotErrorIs(t, err, storage.ErrExist)
		ok, _ := storage.Exists(ctx, s, "k")
		assert.False(t, ok)
	})
}
