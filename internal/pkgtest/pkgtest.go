// Package pkgtest makes model package fixtures for tests across the
// module. It is internal: hosts build packages with modelpkg.Build.
package pkgtest

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"slices"
	"testing"
	"testing/fstest"

	"github.com/modelvault/modelvault/modelpkg"
)

// Model is the model.joblib of [Files]: a real scikit-learn
// RandomForestClassifier saved with joblib (a copy of
// internal/pickle/testdata/real/forest.joblib), so packages made here
// pass the pickle safety scan.
//
//go:embed testdata/model.joblib
var Model []byte

// Files returns the files of a valid package of the given version in the
// default layout, deployment_manifest.json included (with correct
// hashes). Each call returns a fresh map that the caller may modify; call
// [Manifest] again after changing files to recompute the manifest, or let
// [Zip] do it.
func Files(version string) fstest.MapFS {
	md, _ := json.MarshalIndent(map[string]any{
		"model_type":    "RandomForestClassifier",
		"version":       version,
		"created_at":    "2024-05-01T12:30:00.123456",
		"training_info": map[string]any{"dataset": "iris", "accuracy": 0.97},
	}, "", "  ")
	files := fstest.MapFS{
		modelpkg.DefaultModelFile:    {Data: slices.Clone(Model), Mode: 0o644},
		modelpkg.DefaultMetadataFile: {Data: append(md, '\n'), Mode: 0o644},
		"validate_model.py":          {Data: []byte("import joblib\n\nmodel = joblib.load('model.joblib')\nprint('ok')\n"), Mode: 0o644},
		"inference_example.py":       {Data: []byte("import joblib\n\nmodel = joblib.load('model.joblib')\nprint(model)\n"), Mode: 0o644},
		"requirements.txt":           {Data: []byte("scikit-learn==1.4.2\njoblib==1.4.0\n"), Mode: 0o644},
		"README.md":                  {Data: []byte("# Iris classifier " + version + "\n\nA test package.\n"), Mode: 0o644},
	}
	files[modelpkg.DefaultManifestFile] = &fstest.MapFile{Data: Manifest(files), Mode: 0o644}
	return files
}

// Manifest returns a deployment_manifest.json listing every file in files
// except deployment_manifest.json itself.
func Manifest(files fstest.MapFS) []byte {
	m := &modelpkg.Manifest{FileHashes: map[string]string{}}
	for name, f := range files {
		if name == modelpkg.DefaultManifestFile || f.Mode.IsDir() {
			continue
		}
		sum := sha256.Sum256(f.Data)
		m.FileHashes[name] = hex.EncodeToString(sum[:])
	}
	b, _ := m.MarshalJSON() // cannot fail without Extra
	return b
}

// Zip builds a package from files with modelpkg.Build, which regenerates
// deployment_manifest.json from the files' contents.
func Zip(t testing.TB, files fstest.MapFS) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := modelpkg.Build(context.Background(), &buf, files, nil); err != nil {
		t.Fatalf("pkgtest.Zip: %v", err)
	}
	return buf.Bytes()
}

// ZipRaw zips files exactly as given, in name order, deflated, without
// touching the manifest: use it to make packages whose manifest is wrong.
func ZipRaw(t testing.TB, files fstest.MapFS) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatalf("pkgtest.ZipRaw: %v", err)
		}
		if _, err := w.Write(files[name].Data); err != nil {
			t.Fatalf("pkgtest.ZipRaw: %v", err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatalf("pkgtest.ZipRaw: %v", err)
	}
	return buf.Bytes()
}

// SSHKeygen returns the path of OpenSSH's ssh-keygen for the signature
// interop tests. Where MODELVAULT_REQUIRE_SERVERS=1 (CI) a missing one
// fails the test; elsewhere the test is skipped.
func SSHKeygen(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("ssh-keygen")
	if err != nil {
		if os.Getenv("MODELVAULT_REQUIRE_SERVERS") == "1" {
			t.Fatalf("ssh-keygen is required here (.ci/install-tools.sh installs openssh-client): %v", err)
		}
		t.Skip("ssh-keygen not installed (openssh-client)")
	}
	return p
}
