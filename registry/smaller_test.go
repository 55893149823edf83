package registry_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/storage"
)

// deleteFailStore fails every Delete of a key under prefix.
type deleteFailStore struct {
	storage.Store
	prefix string
}

func (s *deleteFailStore) Delete(ctx context.Context, key string) error {
	if strings.HasPrefix(key, s.prefix) {
		return errors.New("injected delete failure")
	}
	return s.Store.Delete(ctx, key)
}

// Item 10 of issue 11: the smaller findings.
func TestSmallerFindings(t *testing.T) {
	ctx := context.Background()

	t.Run("a stored file missing at deploy is a missing-file finding", func(t *testing.T) {
		store := memStore()
		r := openReg(t, store, &registry.Options{SkipOpenScan: true})
		importVersion(t, r, "1.0", "")
		require.NoError(t, store.Delete(ctx, "model_1.0/"+modelpkg.DefaultModelFile))
		_, err := r.Deploy(ctx, "1.0", nil)
		require.ErrorIs(t, err, modelpkg.ErrMissingFile, "422-class, not a store fault: %v", err)
	})

	t.Run("delete after its commit point reports success", func(t *testing.T) {
		store := &deleteFailStore{Store: memStore(), prefix: "model_"}
		r := openReg(t, store, &registry.Options{SkipOpenScan: true})
		importVersion(t, r, "1.0", "")
		e, err := r.Delete(ctx, "1.0", nil)
		require.NoError(t, err)
		assert.Equal(t, registry.EventDeleted, e.Type)
		_, err = r.Get("1.0")
		assert.ErrorIs(t, err, registry.ErrNotFound)
	})

	t.Run("stale spool files of dead imports are removed", func(t *testing.T) {
		dir := t.TempDir()
		stale := filepath.Join(dir, "modelvault-import-123.zip")
		fresh := filepath.Join(dir, "modelvault-import-456.zip")
		other := filepath.Join(dir, "unrelated.zip")
		for _, p := range []string{stale, fresh, other} {
			require.NoError(t, os.WriteFile(p, []byte("x"), 0o600))
		}
		old := time.Now().Add(-48 * time.Hour)
		require.NoError(t, os.Chtimes(stale, old, old))
		require.NoError(t, os.Chtimes(other, old, old))
		r := openReg(t, memStore(), &registry.Options{SkipOpenScan: true})
		data := zipOf(t, pkgFiles("1.0", ""))
		_, err := r.Import(ctx, modelpkg.FileName("1.0"), bytes.NewReader(data), &registry.ImportOptions{TempDir: dir})
		require.NoError(t, err)
		assert.NoFileExists(t, stale)
		assert.FileExists(t, fresh, "a spool that may belong to a running import stays")
		assert.FileExists(t, other)
	})
}

// ignoringStore ignores IfNotExist, as an S3-compatible server that does
// not implement If-None-Match does.
type ignoringStore struct{ storage.Store }

func (s ignoringStore) Put(ctx context.Context, key string, r io.Reader, opts *storage.PutOptions) error {
	return s.Store.Put(ctx, key, r, nil)
}

func TestOpenRefusesStoreIgnoringConditionalCreates(t *testing.T) {
	_, err := registry.Open(context.Background(), ignoringStore{memStore()}, &registry.Options{SkipOpenScan: true})
	require.ErrorIs(t, err, storage.ErrNoConditionalCreate)
}
