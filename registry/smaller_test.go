package registry_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
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

	t.Run("a spool file has no name while the import runs", func(t *testing.T) {
		if runtime.GOOS == "windows" {
			t.Skip("an open file cannot be unlinked on Windows; the sweep covers it")
		}
		dir := t.TempDir()
		r := openReg(t, memStore(), &registry.Options{SkipOpenScan: true})
		data := zipOf(t, pkgFiles("1.0", ""))
		stall := &stallReader{reached: make(chan struct{}), resume: make(chan struct{})}
		src := io.MultiReader(bytes.NewReader(data[:len(data)/2]), stall, bytes.NewReader(data[len(data)/2:]))
		done := make(chan error, 1)
		go func() {
			_, err := r.Import(ctx, modelpkg.FileName("1.0"), src, &registry.ImportOptions{TempDir: dir})
			done <- err
		}()
		<-stall.reached // half the package is spooled: a SIGKILL now must leave nothing
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		assert.Empty(t, entries, "the spool of a running import is already unlinked")
		close(stall.resume)
		require.NoError(t, <-done)
		_, err = r.Get("1.0")
		require.NoError(t, err)
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

// stallReader reports io.EOF once, after signalling reached and waiting
// for resume: in an io.MultiReader it stalls a stream at a chosen point.
type stallReader struct {
	reached, resume chan struct{}
}

func (s *stallReader) Read([]byte) (int, error) {
	close(s.reached)
	<-s.resume
	return 0, io.EOF
}
