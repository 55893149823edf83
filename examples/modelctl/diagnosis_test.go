package main

import (
	"archive/zip"
	"bytes"
	"hash/crc32"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/fstest"

	"github.com/klauspost/compress/flate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/internal/pkgtest"
	"github.com/modelvault/modelvault/modelpkg"
)

// brokenPackage writes a package for version 1.0 from pkgtest's files,
// entry by entry with CreateRaw, so that each case can lie: edit, if set,
// returns the bytes to store for a file, its declared CRC-32 and size,
// and junk to place after it.
func brokenPackage(t *testing.T, prefix []byte, edit func(name string, data []byte) (raw []byte, deflated bool, crc uint32, size uint64, junk []byte)) []byte {
	t.Helper()
	files := pkgtest.Files("1.0")
	var buf bytes.Buffer
	buf.Write(prefix)
	zw := zip.NewWriter(&buf)
	zw.SetOffset(int64(len(prefix)))
	for _, name := range slices.Sorted(maps.Keys(files)) {
		data := files[name].Data
		raw, deflated, crc, size, junk := data, false, crc32.ChecksumIEEE(data), uint64(len(data)), []byte(nil)
		if edit != nil {
			raw, deflated, crc, size, junk = edit(name, data)
		}
		h := &zip.FileHeader{Name: name, Method: zip.Store, CRC32: crc, CompressedSize64: uint64(len(raw)), UncompressedSize64: size}
		if deflated {
			h.Method = zip.Deflate
		}
		w, err := zw.CreateRaw(h)
		require.NoError(t, err)
		_, err = w.Write(append(raw, junk...))
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func deflated(t *testing.T, b []byte) []byte {
	var out bytes.Buffer
	w, err := flate.NewWriter(&out, flate.BestSpeed)
	require.NoError(t, err)
	w.Write(b)
	require.NoError(t, w.Close())
	return out.Bytes()
}

// TestOneDiagnosis checks that inspect, a dry run and an import give a
// broken package the same code, and that the rejected import leaves
// nothing in the store, directories included.
func TestOneDiagnosis(t *testing.T) {
	unchanged := func(name string, data []byte) ([]byte, bool, uint32, uint64, []byte) {
		return data, false, crc32.ChecksumIEEE(data), uint64(len(data)), nil
	}
	flip := func(target string) func(string, []byte) ([]byte, bool, uint32, uint64, []byte) {
		return func(name string, data []byte) ([]byte, bool, uint32, uint64, []byte) {
			raw, deflate, crc, size, junk := unchanged(name, data)
			if name == target {
				raw = bytes.Clone(raw)
				raw[len(raw)/2] ^= 0x20
			}
			return raw, deflate, crc, size, junk
		}
	}
	junkAfter := func(target string, junk []byte) func(string, []byte) ([]byte, bool, uint32, uint64, []byte) {
		return func(name string, data []byte) ([]byte, bool, uint32, uint64, []byte) {
			raw, deflate, crc, size, _ := unchanged(name, data)
			if name == target {
				return raw, deflate, crc, size, junk
			}
			return raw, deflate, crc, size, nil
		}
	}
	hidden := pkgtest.ZipRaw(t, fstest.MapFS{modelpkg.DefaultModelFile: &fstest.MapFile{Data: []byte("evil")}})
	tests := []struct {
		name string
		data func(t *testing.T) []byte
		want string
	}{
		{name: "CRC-32 mismatch in the model", want: "invalid_archive", data: func(t *testing.T) []byte {
			return brokenPackage(t, nil, flip(modelpkg.DefaultModelFile))
		}},
		{name: "CRC-32 mismatch in the README", want: "invalid_archive", data: func(t *testing.T) []byte {
			return brokenPackage(t, nil, flip("README.md"))
		}},
		{name: "inflates past its declared size", want: "invalid_archive", data: func(t *testing.T) []byte {
			return brokenPackage(t, nil, func(name string, data []byte) ([]byte, bool, uint32, uint64, []byte) {
				if name == modelpkg.DefaultModelFile {
					return deflated(t, data), true, crc32.ChecksumIEEE(data), uint64(len(data) - 100), nil
				}
				return unchanged(name, data)
			})
		}},
		{name: "data before the first entry", want: "invalid_archive", data: func(t *testing.T) []byte {
			return brokenPackage(t, []byte("#!/bin/sh\necho polyglot\nexit 0\n"), nil)
		}},
		{name: "data between entries", want: "invalid_archive", data: func(t *testing.T) []byte {
			return brokenPackage(t, nil, junkAfter("README.md", []byte("junk between entries")))
		}},
		{name: "unreferenced local header between entries", want: "invalid_archive", data: func(t *testing.T) []byte {
			return brokenPackage(t, nil, junkAfter("README.md", hidden[:bytes.Index(hidden, []byte("PK\x01\x02"))]))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pkg := filepath.Join(t.TempDir(), modelpkg.FileName("1.0"))
			require.NoError(t, os.WriteFile(pkg, tc.data(t), 0o644))
			store := t.TempDir()
			ctlJSON(t, 0, "--store", store, "list") // creates the registry's own files
			before := tree(t, store)

			inspect := ctlJSON(t, 1, "inspect", pkg)
			dry := ctlJSON(t, 1, "--store", store, "import", "--dry-run", pkg)
			imp := ctlJSON(t, 1, "--store", store, "import", pkg)
			want := []string{tc.want}
			assert.Equal(t, want, errorCodes(inspect["findings"]), "inspect: %v", inspect)
			assert.Equal(t, want, resultCodes(dry), "dry run: %v", dry)
			assert.Equal(t, want, resultCodes(imp), "import: %v", imp)
			assert.Equal(t, before, tree(t, store), "the rejected import left something in the store")
		})
	}
}

// errorCodes returns the distinct codes of the error findings, sorted.
func errorCodes(findings any) []string {
	var codes []string
	list, _ := findings.([]any)
	for _, f := range list {
		m := f.(map[string]any)
		if m["severity"] == "error" && !slices.Contains(codes, m["code"].(string)) {
			codes = append(codes, m["code"].(string))
		}
	}
	slices.Sort(codes)
	return codes
}

// resultCodes returns the distinct codes of a failed command: the
// error's code and those of its error findings.
func resultCodes(m map[string]any) []string {
	e, _ := m["error"].(map[string]any)
	codes := errorCodes(e["findings"])
	if c, ok := e["code"].(string); ok && len(codes) == 0 {
		codes = []string{c}
	}
	return codes
}

// tree lists every file and directory under dir.
func tree(t *testing.T, dir string) []string {
	var out []string
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, rel)
		return nil
	}))
	return out
}

// TestInspectAppleDouble: a package zipped by macOS Finder or ditto is
// acceptable; its __MACOSX/._* entries are ignored with a warning.
func TestInspectAppleDouble(t *testing.T) {
	files := pkgtest.Files("1.0")
	files["__MACOSX/._model.joblib"] = &fstest.MapFile{Data: []byte("\x00\x05\x16\x07 AppleDouble")}
	pkg := filepath.Join(t.TempDir(), modelpkg.FileName("1.0"))
	require.NoError(t, os.WriteFile(pkg, pkgtest.ZipRaw(t, files), 0o644))
	m := ctlJSON(t, 0, "inspect", pkg)
	assert.Equal(t, true, m["ok"])
	f := m["findings"].([]any)[0].(map[string]any)
	assert.Equal(t, "warning", f["severity"])
	assert.Equal(t, "ignored_entry", f["code"])
	assert.Contains(t, f["message"], "__MACOSX/._model.joblib")
	store := t.TempDir()
	ctlJSON(t, 0, "--store", store, "import", pkg)
	_, err := os.Stat(filepath.Join(store, "model_1.0", "__MACOSX"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}
