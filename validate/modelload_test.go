package validate_test

import (
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/internal/pkgtest"
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
