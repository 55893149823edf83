package aferostore_test

import (
	"testing"

	"github.com/spf13/afero"

	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/storage/aferostore"
	"github.com/modelvault/modelvault/storage/storagetest"
)

func BenchmarkMemMapFs(b *testing.B) {
	storagetest.Bench(b, func(b *testing.B) storage.Store { return aferostore.New(afero.NewMemMapFs(), nil) })
}
