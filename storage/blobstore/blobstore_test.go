package blobstore_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	_ "gocloud.dev/blob/memblob"

	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/storage/blobstore"
	"github.com/modelvault/modelvault/storage/storagetest"
)

func TestConformanceMem(t *testing.T) {
	storagetest.RunOptions(t, func(t *testing.T) storage.Store {
		s, err := blobstore.Open(t.Context(), "mem://", nil)
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		return s
	}, &storagetest.Options{
		MaxHeapGrowth: -1, // memblob keeps objects in the heap
	})
}

func TestConformanceSubMem(t *testing.T) {
	storagetest.RunOptions(t, storagetest.Sub(func(t *testing.T) storage.Store {
		s, err := blobstore.Open(t.Context(), "mem://", nil)
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		return s
	}), &storagetest.Options{MaxHeapGrowth: -1, ListKeys: 1001, LargeSize: 4 << 20})
}
