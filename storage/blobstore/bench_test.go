package blobstore_test

import (
	"testing"

	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/storage/blobstore"
	"github.com/modelvault/modelvault/storage/storagetest"
)

func BenchmarkMem(b *testing.B) {
	storagetest.Bench(b, func(b *testing.B) storage.Store {
		s, err := blobstore.Open(b.Context(), "mem://", nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	})
}
