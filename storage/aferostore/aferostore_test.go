package aferostore_test

import (
	"testing"

	"github.com/spf13/afero"

	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/storage/aferostore"
	"github.com/modelvault/modelvault/storage/storagetest"
)

func TestConformanceMemMapFs(t *testing.T) {
	storagetest.RunOptions(t, func(t *testing.T) storage.Store {
		return aferostore.New(afero.NewMemMapFs(), nil)
	}, &storagetest.Options{
		MaxHeapGrowth: -1, // MemMapFs keeps the object in the heap
	})
}

func TestConformanceOsFs(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		return aferostore.New(afero.NewBasePathFs(afero.NewOsFs(), t.TempDir()), nil)
	})
}

func TestConformanceSubMemMapFs(t *testing.T) {
	storagetest.RunOptions(t, storagetest.Sub(func(t *testing.T) storage.Store {
		return aferostore.New(afero.NewMemMapFs(), nil)
	}), &storagetest.Options{MaxHeapGrowth: -1, ListKeys: 1001, LargeSize: 4 << 20})
}
