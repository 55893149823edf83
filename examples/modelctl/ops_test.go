package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/internal/pkgtest"
	"github.com/modelvault/modelvault/modelpkg"
)

func TestInit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pkg")
	model := filepath.Join(t.TempDir(), "model.joblib")
	require.NoError(t, os.WriteFile(model, pkgtest.Model, 0o644))

	m := ctlJSON(t, 0, "init", dir, "--version", "2.1.0", "--model-type", "IrisForest", "--model", model)
	assert.Equal(t, true, m["has_model"])
	for _, name := range modelpkg.DefaultLayout().Required {
		if name != modelpkg.DefaultManifestFile {
			assert.FileExists(t, filepath.Join(dir, name))
		}
	}
	md, err := os.ReadFile(filepath.Join(dir, modelpkg.DefaultMetadataFile))
	require.NoError(t, err)
	parsed, err := modelpkg.ParseMetadata(strings.NewReader(string(md)), nil)
	require.NoError(t, err, "the stamped metadata is valid")
	assert.Equal(t, "2.1.0", parsed.Version)
	assert.Equal(t, "IrisForest", parsed.ModelType)

	out := filepath.Join(t.TempDir(), modelpkg.FileName("2.1.0"))
	code, _, errs := ctl(t, "pack", dir, "-o", out)
	require.Equal(t, 0, code, errs)
	code, stdout, errs := ctl(t, "inspect", out)
	assert.Equal(t, 0, code, "the skeleton packs into a valid package:\n%s\n%s", stdout, errs)

	t.Run("existing files are kept", func(t *testing.T) {
		readme := filepath.Join(dir, "README.md")
		require.NoError(t, os.WriteFile(readme, []byte("mine\n"), 0o644))
		m := ctlJSON(t, 0, "init", dir, "--version", "2.1.0")
		assert.Contains(t, m["kept"], "README.md")
		data, err := os.ReadFile(readme)
		require.NoError(t, err)
		assert.Equal(t, "mine\n", string(data))
		ctlJSON(t, 0, "init", dir, "--version", "2.1.0", "--force")
		data, err = os.ReadFile(readme)
		require.NoError(t, err)
		assert.NotEqual(t, "mine\n", string(data))
	})
	t.Run("without a model it says what to do next", func(t *testing.T) {
		code, stdout, _ := ctl(t, "init", filepath.Join(t.TempDir(), "empty"))
		assert.Equal(t, 0, code)
		assert.Contains(t, stdout, "copy your scikit-learn model.joblib")
	})
	t.Run("bad version is a usage error", func(t *testing.T) {
		code, _, _ := ctl(t, "init", filepath.Join(t.TempDir(), "x"), "--version", "../1")
		assert.Equal(t, exitUsage, code)
	})
}

func TestPackSaysWhatIsMissing(t *testing.T) {
	dir := t.TempDir()
	files := pkgtest.Files("1.0")
	for _, name := range []string{modelpkg.DefaultModelFile, modelpkg.DefaultMetadataFile} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), files[name].Data, 0o644))
	}
	out := filepath.Join(t.TempDir(), modelpkg.FileName("1.0"))
	code, _, errs := ctl(t, "pack", dir, "-o", out)
	assert.Equal(t, exitFailed, code)
	for _, name := range []string{"validate_model.py", "inference_example.py", "requirements.txt", "README.md"} {
		assert.Contains(t, errs, name)
	}
	assert.Contains(t, errs, "modelctl init")
	assert.NoFileExists(t, out, "nothing is written")
}

func TestActorNeverBlank(t *testing.T) {
	t.Setenv("USER", "")
	store := t.TempDir()
	p := packVersion(t, "1.0")
	ctlJSON(t, 0, "--store", store, "import", p)
	ev := ctlJSON(t, 0, "--store", store, "deploy", "1.0", "--actor", "")["event"].(map[string]any)
	assert.NotEmpty(t, ev["actor"])
	assert.Equal(t, defaultActor(), ev["actor"])
}

func TestTerminalOutputIsEscaped(t *testing.T) {
	store := t.TempDir()
	p := packVersion(t, "1.0")
	ctlJSON(t, 0, "--store", store, "import", p)
	ctlJSON(t, 0, "--store", store, "deploy", "1.0", "--actor", "eve\x1b]0;owned\x07", "--reason", "ok\x1b[2J\u202egone")
	code, out, _ := ctl(t, "--store", store, "history")
	require.Equal(t, 0, code)
	assert.NotContains(t, out, "\x1b")
	assert.NotContains(t, out, "\u202e")
	assert.Contains(t, out, `\x1b[2J`)
	assert.Contains(t, out, `\u202e`)
	assert.Equal(t, "plain text", safe("plain text"))
}

func TestServeStartsDespiteABadPlacement(t *testing.T) {
	store := t.TempDir()
	// A hand-placed package whose model file is a symlink leaving the
	// store.
	dir := filepath.Join(store, "model_9.9")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for name, f := range pkgtest.Files("9.9") {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), f.Data, 0o644))
	}
	outside := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(outside, []byte("not for you"), 0o644))
	require.NoError(t, os.Remove(filepath.Join(dir, modelpkg.DefaultModelFile)))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, modelpkg.DefaultModelFile)))

	s := startServe(t, "--store", store, "--token", "tok")
	code, body := s.do(t, "GET", "/models", "tok", nil, "")
	assert.Equal(t, 200, code, body)
	assert.Equal(t, 0, s.stop())
}

func TestExport(t *testing.T) {
	store := t.TempDir()
	p := packVersion(t, "1.0")
	ctlJSON(t, 0, "--store", store, "import", p)
	out := filepath.Join(t.TempDir(), "exported.zip")
	m := ctlJSON(t, 0, "--store", store, "export", "1.0", "-o", out)
	assert.Equal(t, out, m["output"])
	want, err := os.ReadFile(p)
	require.NoError(t, err)
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, want, got, "byte-identical to the package pack built")

	require.NoError(t, os.WriteFile(filepath.Join(store, "model_1.0", "README.md"), []byte("evil"), 0o644))
	bad := filepath.Join(t.TempDir(), "bad.zip")
	m = ctlJSON(t, 1, "--store", store, "export", "1.0", "-o", bad)
	assert.Equal(t, "hash_mismatch", m["error"].(map[string]any)["code"])
	assert.NoFileExists(t, bad)
}

// TestSamplePackage runs the README's first steps on the shipped sample.
func TestSamplePackage(t *testing.T) {
	store := t.TempDir()
	out := filepath.Join(t.TempDir(), modelpkg.FileName("1.0.0"))
	code, _, errs := ctl(t, "pack", filepath.Join("..", "sample"), "-o", out)
	require.Equal(t, 0, code, errs)
	m := ctlJSON(t, 0, "--store", store, "import", out)
	assert.Equal(t, "LogisticRegression", m["version"].(map[string]any)["model_type"])
	ctlJSON(t, 0, "--store", store, "deploy", "1.0.0", "--reason", "first model")
}
