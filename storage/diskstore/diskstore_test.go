package diskstore_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/storage/diskstore"
	"github.com/modelvault/modelvault/storage/storagetest"
)

func newStore(t *testing.T, opts *diskstore.Options) *diskstore.Store {
	t.Helper()
	s, err := diskstore.Open(filepath.Join(t.TempDir(), "store"), opts)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store { return newStore(t, nil) })
}

func TestConformanceNoSync(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store { return newStore(t, &diskstore.Options{NoSync: true}) })
}
