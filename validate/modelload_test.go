package validate_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/internal/pkgtest"
	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/modelpkg/sklearn"
	"github.com/modelvault/modelvault/validate"
)

// withModel returns pkgtest's files with model.joblib replaced by one of
// modelpkg/sklearn's fixtures (ModelLoad does not check digests).
func withModel(t *testing.T, fixture string) fstest.MapFS {
	b, err := os.ReadFile(filepath.Join("..", "modelpkg", "sklearn", "testdata", fixture+".joblib"))
	require.NoError(t, err)
	files := pkgtest.Files("1.0")
	files["model.joblib"] = &fstest.MapFile{Data: b, Mode: 0o644}
	return files
}

func TestModelLoad(t *testing.T) {
	t.Run("supported model: model_type recorded", func(t *testing.T) {
		r := run(validate.ModelLoad(nil), pkgtest.Files("1.0"), "1.0")
		assert.Empty(t, codes(r))
		assert.Equal(t, "RandomForestClassifier", r.ModelType)
	})
	t.Run("pipeline", func(t *testing.T) {
		files := withModel(t, "column_transformer_nested")
		files["metadata.json"].Data = []byte(`{"model_type": "Pipeline", "version": "1.0"}`)
		r := run(validate.ModelLoad(nil), files, "1.0")
		assert.Empty(t, codes(r))
		assert.Equal(t, "Pipeline", r.ModelType)
	})
	t.Run("metadata disagrees", func(t *testing.T) {
		files := withModel(t, "svc_rbf")
		r := run(validate.ModelLoad(nil), files, "1.0")
		assert.Equal(t, []string{"warning:model_type_mismatch:metadata.json"}, codes(r))
		assert.Equal(t, "SVC", r.ModelType)
		assert.True(t, r.Valid())
	})
	t.Run("unsupported estimator is a warning", func(t *testing.T) {
		r := run(validate.ModelLoad(nil), withModel(t, "unsupported_dummy"), "1.0")
		assert.Equal(t, []string{"warning:load_skipped:model.joblib"}, codes(r))
		assert.True(t, r.Valid())
		assert.Empty(t, r.ModelType)
	})
	t.Run("invalid model fails", func(t *testing.T) {
		r := run(validate.ModelLoad(nil), withModel(t, "invalid_logistic_shape"), "1.0")
		assert.Equal(t, []string{"error:load_failed:model.joblib"}, codes(r))
	})
	t.Run("refused by the scan: left to PickleScan", func(t *testing.T) {
		files := pkgtest.Files("1.0")
		files["model.joblib"] = &fstest.MapFile{Data: []byte("cos\nsystem\n(S'true'\ntR.")}
		r := run(validate.ModelLoad(nil), files, "1.0")
		assert.Empty(t, codes(r))
		r = run(validate.Default(nil), files, "1.0")
		assert.Contains(t, codes(r), "error:unsafe_model:model.joblib")
		assert.NotContains(t, codes(r), "error:load_failed:model.joblib")
	})
	t.Run("missing model file: left to RequiredFiles", func(t *testing.T) {
		files := pkgtest.Files("1.0")
		delete(files, "model.joblib")
		r := run(validate.ModelLoad(nil), files, "1.0")
		assert.Empty(t, codes(r))
	})
	t.Run("in Default", func(t *testing.T) {
		r := run(validate.Default(nil), pkgtest.Files("1.0"), "1.0")
		assert.Equal(t, "RandomForestClassifier", r.ModelType)
		r = run(validate.Standard(&validate.Options{SkipModelLoad: true}), pkgtest.Files("1.0"), "1.0")
		assert.Empty(t, r.ModelType)
	})
}

// readCounter counts, per file name, the opened files that were read.
type readCounter struct {
	fs.FS
	mu    sync.Mutex
	reads map[string]int
}

type countedFile struct {
	fs.File
	once func()
}

func (f *countedFile) Read(p []byte) (int, error) {
	f.once()
	return f.File.Read(p)
}

func (f *countedFile) ReadDir(n int) ([]fs.DirEntry, error) {
	d, ok := f.File.(fs.ReadDirFile)
	if !ok {
		return nil, fs.ErrInvalid
	}
	return d.ReadDir(n)
}

func (c *readCounter) Open(name string) (fs.File, error) {
	f, err := c.FS.Open(name)
	if err != nil {
		return nil, err
	}
	var once sync.Once
	return &countedFile{File: f, once: func() {
		once.Do(func() {
			c.mu.Lock()
			c.reads[name]++
			c.mu.Unlock()
		})
	}}, nil
}

// digests returns the SHA-256 of every file, so that SHA256 reads none.
func digests(files fstest.MapFS) map[string]string {
	out := map[string]string{}
	for name, f := range files {
		sum := sha256.Sum256(f.Data)
		out[name] = hex.EncodeToString(sum[:])
	}
	return out
}

// TestOneParse: within one Standard call the scan and the test load share
// the model file's joblib reading; the only other read is the scan's
// pickle.load reading.
func TestOneParse(t *testing.T) {
	files := pkgtest.Files("1.0")
	validateCounting := func(v validate.Validator) (*validate.Report, int) {
		c := &readCounter{FS: files, reads: map[string]int{}}
		var r validate.Report
		v.Validate(ctx, &validate.Package{FS: c, Version: "1.0", Digests: digests(files)}, &r)
		return &r, c.reads["model.joblib"]
	}
	t.Run("Default", func(t *testing.T) {
		r, reads := validateCounting(validate.Default(nil))
		assert.Empty(t, codes(r))
		assert.Equal(t, "RandomForestClassifier", r.ModelType)
		assert.Equal(t, 2, reads, "the joblib reading, shared, and the pickle.load reading")
	})
	t.Run("with a layout", func(t *testing.T) {
		r, reads := validateCounting(validate.Standard(&validate.Options{Layout: modelpkg.DefaultLayout()}))
		assert.Empty(t, codes(r))
		assert.Equal(t, 2, reads)
	})
	t.Run("different limits: no sharing", func(t *testing.T) {
		r, reads := validateCounting(validate.Standard(&validate.Options{
			ModelLoad: &validate.ModelLoadOptions{Runtime: &sklearn.Options{Budget: 1 << 30}},
		}))
		assert.Empty(t, codes(r))
		assert.Equal(t, "RandomForestClassifier", r.ModelType)
		assert.Equal(t, 3, reads)
	})
	t.Run("no test load: the scan does not build the graph", func(t *testing.T) {
		r, reads := validateCounting(validate.Standard(&validate.Options{SkipModelLoad: true}))
		assert.Empty(t, codes(r))
		assert.Equal(t, 2, reads)
	})
	t.Run("refused by the scan", func(t *testing.T) {
		bad := maps.Clone(files)
		bad["model.joblib"] = &fstest.MapFile{Data: []byte("cos\nsystem\n(S'true'\ntR.")}
		c := &readCounter{FS: bad, reads: map[string]int{}}
		var r validate.Report
		validate.Default(nil).Validate(ctx, &validate.Package{FS: c, Version: "1.0", Digests: digests(bad)}, &r)
		assert.Contains(t, codes(&r), "error:unsafe_model:model.joblib")
		assert.NotContains(t, codes(&r), "error:load_failed:model.joblib")
		assert.Equal(t, 1, c.reads["model.joblib"], "refused by the joblib reading, never read again")
	})
}

// TestOneParseHostClass: with a host's allowlist, the shared parse makes
// the test load see the allowed class, an estimator the runtime does not
// know (load_skipped), on every run.
func TestOneParseHostClass(t *testing.T) {
	files := pkgtest.Files("1.0")
	// protocol 2: an instance of __main__.HostModel with state {"a": 1}.
	files["model.joblib"] = &fstest.MapFile{Data: []byte("\x80\x02c__main__\nHostModel\nq\x00)\x81q\x01}q\x02X\x01\x00\x00\x00aq\x03K\x01sb.")}
	opts := &validate.Options{Pickle: &validate.PickleOptions{Allow: []validate.PickleGlobal{{Module: "__main__", Name: "HostModel"}}}}
	for i := 0; i < 5; i++ {
		var r validate.Report
		validate.Standard(opts).Validate(ctx, &validate.Package{FS: files, Version: "1.0", Digests: digests(files)}, &r)
		// (The manifest still lists the original model: hash_mismatch.)
		assert.Equal(t, []string{"error:hash_mismatch:model.joblib", "warning:load_skipped:model.joblib"}, codes(&r))
	}
	var r validate.Report
	validate.Default(nil).Validate(ctx, &validate.Package{FS: files, Version: "1.0", Digests: digests(files)}, &r)
	assert.Equal(t, []string{"error:hash_mismatch:model.joblib", "error:unsafe_model:model.joblib"}, codes(&r), "not allowed: refused by the scan, left to it by the test load")
}
