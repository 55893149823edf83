package registry_test

import (
	"bytes"
	"context"
	"io"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/internal/pkgtest"
	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/storage/aferostore"
)

func memStore() storage.Store { return aferostore.New(afero.NewMemMapFs(), nil) }

// openReg opens a registry on store with test-friendly options.
func openReg(t testing.TB, store storage.Store, opts *registry.Options) *registry.Registry {
	t.Helper()
	if opts == nil {
		opts = &registry.Options{}
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = 10 * time.Millisecond
	}
	r, err := registry.Open(context.Background(), store, opts)
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	return r
}

// pkgFiles returns a valid package's files for version and model name.
func pkgFiles(version, model string) fstest.MapFS {
	files := pkgtest.Files(version)
	if model != "" {
		files[modelpkg.DefaultMetadataFile].Data = bytes.ReplaceAll(
			files[modelpkg.DefaultMetadataFile].Data, []byte("RandomForestClassifier"), []byte(model))
	}
	return files
}

func zipOf(t testing.TB, files fstest.MapFS) []byte { return pkgtest.Zip(t, files) }

// importVersion imports a valid package of version.
func importVersion(t testing.TB, r *registry.Registry, version, model string) *registry.Version {
	t.Helper()
	data := zipOf(t, pkgFiles(version, model))
	v, err := r.Import(context.Background(), modelpkg.FileName(version), bytes.NewReader(data), nil)
	require.NoError(t, err)
	return v
}

// keys lists every key in store.
func keys(t testing.TB, s storage.Store, prefix string) []string {
	t.Helper()
	var out []string
	for obj, err := range storage.All(context.Background(), s, &storage.ListOptions{Prefix: prefix}) {
		require.NoError(t, err)
		out = append(out, obj.Key)
	}
	return out
}

// fileKeys lists keys outside the registry's own state.
func fileKeys(t testing.TB, s storage.Store) []string {
	var out []string
	for _, k := range keys(t, s, "") {
		if len(k) < 10 || k[:10] != "_registry/" {
			out = append(out, k)
		}
	}
	return out
}

// testModel is a loaded model that records whether it was used after
// being closed.
type testModel struct {
	version string
	data    []byte
	closed  atomic.Bool
	closes  atomic.Int32
	misuse  *atomic.Int64
}

func (m *testModel) Predict() string {
	if m.closed.Load() && m.misuse != nil {
		m.misuse.Add(1)
	}
	return m.version
}

func (m *testModel) Close() error {
	m.closed.Store(true)
	m.closes.Add(1)
	return nil
}

// testLoader loads model.joblib through the verifying FS.
func testLoader(misuse *atomic.Int64, loaded *[]*testModel, mu interface {
	Lock()
	Unlock()
}) registry.LoaderFunc[*testModel] {
	return func(ctx context.Context, pkg *registry.Package) (*testModel, error) {
		f, err := pkg.FS.Open(modelpkg.DefaultModelFile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		data, err := io.ReadAll(f)
		if err != nil {
			return nil, err
		}
		m := &testModel{version: pkg.Version.Version, data: data, misuse: misuse}
		if loaded != nil {
			mu.Lock()
			*loaded = append(*loaded, m)
			mu.Unlock()
		}
		return m, nil
	}
}

func zipRaw(t testing.TB, files fstest.MapFS) []byte { return pkgtest.ZipRaw(t, files) }
