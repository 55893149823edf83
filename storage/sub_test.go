package storage_test

import (
	"context"
	"io"
	"io/fs"
	"testing"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/storage/aferostore"
	"github.com/modelvault/modelvault/storage/storagetest"
)

func TestSubConformance(t *testing.T) {
	storagetest.RunOptions(t, storagetest.Sub(func(t *testing.T) storage.Store {
		return aferostore.New(afero.NewMemMapFs(), nil)
	}), &storagetest.Options{MaxHeapGrowth: -1, ListKeys: 1001, LargeSize: 4 << 20})
}

func TestSub(t *testing.T) {
	ctx := t.Context()
	outer := newStore(t, "m/a/1", "m/a/2/x", "m/b", "top")
	t.Run("keys are relative", func(t *testing.T) {
		v, err := storage.Sub(outer, "m/")
		require.NoError(t, err)
		info, err := v.Stat(ctx, "a/1")
		require.NoError(t, err)
		assert.Equal(t, "a/1", info.Key)
		page, err := v.List(ctx, &storage.ListOptions{Delimiter: "/"})
		require.NoError(t, err)
		require.Len(t, page.Objects, 1)
		assert.Equal(t, "b", page.Objects[0].Key)
		assert.Equal(t, []string{"a/"}, page.Prefixes)
		require.NoError(t, storage.WriteAll(ctx, v, "c", []byte("new"), nil))
		got, err := storage.ReadAll(ctx, outer, "m/c")
		require.NoError(t, err)
		assert.Equal(t, "new", string(got))
	})
	t.Run("errors name the relative key", func(t *testing.T) {
		v, err := storage.Sub(outer, "m")
		require.NoError(t, err)
		_, err = v.Get(ctx, "missing")
		var pe *fs.PathError
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, "missing", pe.Path)
		require.ErrorIs(t, err, storage.ErrNotExist)
		err = storage.WriteAll(ctx, v, "b", []byte("y"), &storage.PutOptions{IfNotExist: true})
		require.ErrorIs(t, err, storage.ErrExist)
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, "b", pe.Path)
	})
	t.Run("nothing escapes", func(t *testing.T) {
		v, err := storage.Sub(outer, "m/a")
		require.NoError(t, err)
		for _, key := range []string{"../b", "../../top", "/top", "..", "."} {
			_, err := v.Get(ctx, key)
			require.ErrorIs(t, err, storage.ErrInvalidKey, key)
			require.ErrorIs(t, v.Delete(ctx, key), storage.ErrInvalidKey, key)
			require.ErrorIs(t, storage.WriteAll(ctx, v, key, nil, nil), storage.ErrInvalidKey, key)
		}
		_, err = v.List(ctx, &storage.ListOptions{Prefix: "../"})
		require.ErrorIs(t, err, storage.ErrInvalidKey)
	})
	t.Run("bad dir", func(t *testing.T) {
		for _, dir := range []string{"../m", "/m", "m//", "a\\b"} {
			_, err := storage.Sub(outer, dir)
			require.ErrorIs(t, err, storage.ErrInvalidKey, dir)
		}
	})
	t.Run("root and nesting", func(t *testing.T) {
		v, err := storage.Sub(outer, ".")
		require.NoError(t, err)
		assert.Same(t, outer, v)
		m, err := storage.Sub(outer, "m")
		require.NoError(t, err)
		ma, err := storage.Sub(m, "a")
		require.NoError(t, err)
		b, err := storage.ReadAll(ctx, ma, "2/x")
		require.NoError(t, err)
		assert.Equal(t, "data of m/a/2/x", string(b))
	})
}

// ignoringStore drops IfNotExist, like a server that ignores If-None-Match.
type ignoringStore struct{ storage.Store }

func (s ignoringStore) Put(ctx context.Context, key string, r io.Reader, opts *storage.PutOptions) error {
	return s.Store.Put(ctx, key, r, nil)
}

// guaranteedStore implements storage.ConditionalCreator and counts puts.
type guaranteedStore struct {
	storage.Store
	guaranteed bool
	puts       int
}

func (s *guaranteedStore) ConditionalCreates() bool { return s.guaranteed }

func (s *guaranteedStore) Put(ctx context.Context, key string, r io.Reader, opts *storage.PutOptions) error {
	s.puts++
	return s.Store.Put(ctx, key, r, opts)
}

func TestCheckConditionalCreate(t *testing.T) {
	ctx := t.Context()
	t.Run("honoured", func(t *testing.T) {
		s := newStore(t)
		require.NoError(t, storage.CheckConditionalCreate(ctx, s, "locks/probe"))
		for o, err := range storage.All(ctx, s, nil) {
			require.NoError(t, err)
			t.Errorf("probe left %q behind", o.Key)
		}
	})
	t.Run("ignored", func(t *testing.T) {
		s := newStore(t)
		err := storage.CheckConditionalCreate(ctx, ignoringStore{s}, "probe")
		require.ErrorIs(t, err, storage.ErrNoConditionalCreate)
		for o, err := range storage.All(ctx, s, nil) {
			require.NoError(t, err)
			t.Errorf("probe left %q behind", o.Key)
		}
	})
	t.Run("a ConditionalCreator is trusted without a probe", func(t *testing.T) {
		s := &guaranteedStore{Store: newStore(t), guaranteed: true}
		require.NoError(t, storage.CheckConditionalCreate(ctx, s, "probe"))
		sub, err := storage.Sub(s, "models/a")
		require.NoError(t, err)
		require.NoError(t, storage.CheckConditionalCreate(ctx, sub, "probe"))
		assert.Zero(t, s.puts, "no probe object is written")
	})
	t.Run("a ConditionalCreator that says false is probed", func(t *testing.T) {
		s := &guaranteedStore{Store: newStore(t)}
		sub, err := storage.Sub(s, "models/a")
		require.NoError(t, err)
		require.NoError(t, storage.CheckConditionalCreate(ctx, sub, "probe"))
		assert.Equal(t, 2, s.puts, "the probe's two creates")
	})
	t.Run("store error is not a verdict", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		err := storage.CheckConditionalCreate(cctx, newStore(t), "probe")
		require.Error(t, err)
		require.NotErrorIs(t, err, storage.ErrNoConditionalCreate)
		require.ErrorIs(t, err, context.Canceled)
	})
	t.Run("bad key", func(t *testing.T) {
		err := storage.CheckConditionalCreate(ctx, newStore(t), "../probe")
		require.ErrorIs(t, err, storage.ErrInvalidKey)
	})
}
