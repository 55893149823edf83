package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/internal/pkgtest"
	"github.com/modelvault/modelvault/modelpkg"
)

// ctl runs modelctl in-process and returns its exit code and output.
func ctl(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func ctlJSON(t *testing.T, want int, args ...string) map[string]any {
	t.Helper()
	code, out, errs := ctl(t, append(args, "--json")...)
	require.Equal(t, want, code, "stdout: %s\nstderr: %s", out, errs)
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &m), out)
	return m
}

// writePackageDir writes a valid package's files for version into a
// directory and returns it.
func writePackageDir(t *testing.T, version string) string {
	dir := filepath.Join(t.TempDir(), "pkg-"+version)
	for name, f := range pkgtest.Files(version) {
		if name == modelpkg.DefaultManifestFile {
			continue // pack writes it
		}
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), f.Data, 0o644))
	}
	return dir
}

func packVersion(t *testing.T, version string) string {
	out := filepath.Join(t.TempDir(), modelpkg.FileName(version))
	code, _, errs := ctl(t, "pack", writePackageDir(t, version), "-o", out)
	require.Equal(t, 0, code, errs)
	return out
}

func TestInspect(t *testing.T) {
	good := packVersion(t, "1.0")
	m := ctlJSON(t, 0, "inspect", good)
	assert.Equal(t, true, m["ok"])
	assert.Equal(t, "1.0", m["version"])
	assert.Equal(t, []any{}, m["findings"])

	// A tampered package: rejected with hash_mismatch, exit 1.
	files := pkgtest.Files("1.0")
	files["README.md"].Data = []byte("tampered\n")
	bad := filepath.Join(t.TempDir(), "model_1.0_deployment.zip")
	require.NoError(t, os.WriteFile(bad, pkgtest.ZipRaw(t, files), 0o644))
	m = ctlJSON(t, 1, "inspect", bad)
	assert.Equal(t, false, m["ok"])
	f := m["findings"].([]any)[0].(map[string]any)
	assert.Equal(t, "hash_mismatch", f["code"])
	assert.Equal(t, "error", f["severity"])
	assert.Equal(t, "README.md", f["path"])

	// A bad name and an archive that is not a ZIP.
	junk := filepath.Join(t.TempDir(), "model.zip")
	require.NoError(t, os.WriteFile(junk, []byte("not a zip"), 0o644))
	m = ctlJSON(t, 1, "--json", "inspect", junk)
	var codes []string
	for _, f := range m["findings"].([]any) {
		codes = append(codes, f.(map[string]any)["code"].(string))
	}
	assert.Equal(t, []string{"invalid_name", "invalid_archive"}, codes)

	code, out, _ := ctl(t, "inspect", good)
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "acceptable")
}

func TestRegistryCommands(t *testing.T) {
	store := t.TempDir()
	p1, p2 := packVersion(t, "1.0"), packVersion(t, "2.0")

	m := ctlJSON(t, 0, "--store", store, "import", p1)
	v := m["version"].(map[string]any)
	for _, k := range []string{"version", "model_type", "status", "import_method", "imported_at", "size", "files", "metadata", "findings"} {
		assert.Contains(t, v, k)
	}
	assert.Equal(t, "available", v["status"])
	assert.Equal(t, "zip_upload", v["import_method"])
	ctlJSON(t, 0, "import", p2, "--store", store)

	m = ctlJSON(t, 0, "list", "--store", store)
	assert.Len(t, m["versions"], 2)

	m = ctlJSON(t, 0, "deploy", "1.0", "--store", store, "--actor", "ci", "--reason", "first")
	ev := m["event"].(map[string]any)
	for _, k := range []string{"seq", "type", "version", "to", "time", "actor", "reason"} {
		assert.Contains(t, ev, k)
	}
	assert.Equal(t, "deployed", ev["type"])
	ctlJSON(t, 0, "deploy", "2.0", "--store", store)
	m = ctlJSON(t, 0, "rollback", "--store", store)
	ev = m["event"].(map[string]any)
	assert.Equal(t, "rolled_back", ev["type"])
	assert.Equal(t, "2.0", ev["from"])
	assert.Equal(t, "1.0", ev["to"])

	m = ctlJSON(t, 0, "history", "--store", store)
	assert.Len(t, m["events"], 5)
	m = ctlJSON(t, 0, "show", "1.0", "--store", store)
	assert.Equal(t, "deployed", m["version"].(map[string]any)["status"])
	m = ctlJSON(t, 0, "validate", "2.0", "--store", store)
	assert.Equal(t, true, m["ok"])

	// Refusals exit 1 with a code.
	m = ctlJSON(t, 1, "delete", "1.0", "--store", store)
	assert.Equal(t, "in_use", m["error"].(map[string]any)["code"])
	m = ctlJSON(t, 1, "deploy", "9.9", "--store", store)
	assert.Equal(t, "not_found", m["error"].(map[string]any)["code"])

	m = ctlJSON(t, 0, "prune", "--keep", "0", "--store", store)
	assert.Equal(t, []any{"2.0"}, m["deleted"])

	// Tampering is caught by validate (exit 1).
	require.NoError(t, os.WriteFile(filepath.Join(store, "model_1.0", "README.md"), []byte("evil"), 0o644))
	m = ctlJSON(t, 1, "validate", "1.0", "--store", store)
	assert.Equal(t, false, m["ok"])

	// Human output.
	code, out, _ := ctl(t, "history", "--store", store)
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "rolled_back")
}

func TestScanCommand(t *testing.T) {
	store := t.TempDir()
	// A package placed by hand: its files, manifest included, copied
	// into model_3.0/ in the store.
	files := pkgtest.Files("3.0")
	for name, f := range files {
		require.NoError(t, os.MkdirAll(filepath.Join(store, "model_3.0"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(store, "model_3.0", name), f.Data, 0o644))
	}
	m := ctlJSON(t, 0, "scan", "--store", store)
	reg := m["registered"].([]any)
	require.Len(t, reg, 1)
	assert.Equal(t, "manual_placement", reg[0].(map[string]any)["import_method"])
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"bogus"},
		{"inspect"},
		{"inspect", "a", "b"},
		{"pack", "dir"},
		{"prune"},
		{"list", "--status", "weird"},
		{"deploy", "--no-such-flag", "1"},
	} {
		code, _, errs := ctl(t, args...)
		assert.Equal(t, 2, code, "args %q: %s", args, errs)
	}
}

func TestHelpIsComplete(t *testing.T) {
	code, out, _ := ctl(t, "help")
	require.Equal(t, 0, code)
	for _, c := range commands() {
		assert.Contains(t, out, "\n  "+c.name+" ", "help lists %s", c.name)
		code, cout, _ := ctl(t, "help", c.name)
		assert.Equal(t, 0, code)
		assert.Contains(t, cout, "Usage: modelctl "+c.name)
		assert.NotEmpty(t, c.help)
	}
	code, out, _ = ctl(t, "import", "--help")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "--dry-run")
}
