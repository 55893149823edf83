package modelpkg_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/internal/pkgtest"
	"github.com/modelvault/modelvault/modelpkg"
)

// openAndExtract opens data and, if that succeeds, extracts it into a
// fresh directory with a DirDestination. It returns the directory.
func openAndExtract(t *testing.T, data []byte, oo *modelpkg.OpenOptions, eo *modelpkg.ExtractOptions) (string, *modelpkg.ExtractResult, error) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	p, err := modelpkg.Open(bytes.NewReader(data), int64(len(data)), oo)
	if err != nil {
		return out, nil, err
	}
	defer p.Close()
	dst, err := modelpkg.OpenDirDestination(out, &modelpkg.DirOptions{NoSync: true})
	require.NoError(t, err)
	defer dst.Close()
	res, err := p.Extract(context.Background(), dst, eo)
	return out, res, err
}

// requireNothingWritten asserts that dir is absent or empty.
func requireNothingWritten(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	require.NoError(t, err)
	require.Empty(t, ents, "files were left in %s", dir)
}

func file(name, content string) rawEntry { return rawEntry{name: name, plain: []byte(content)} }

func TestRejections(t *testing.T) {
	zeros := make([]byte, 10<<20)
	small := &modelpkg.Limits{MaxEntries: 3, MaxFileSize: 1000, MaxTotalSize: 1500, MaxNameLen: 40, MaxDepth: 3}
	longName := strings.Repeat("a", 41)
	overlapInner := file("inner.txt", "inner")
	tests := []struct {
		name    string
		data    func(t *testing.T) []byte
		open    *modelpkg.OpenOptions
		extract *modelpkg.ExtractOptions
		want    error
		msg     string // substring the message must contain
	}{
		// Names.
		{name: "invalid UTF-8", data: crafted(file("a\xffb.txt", "x")), want: modelpkg.ErrUnsafePath, msg: "UTF-8"},
		{name: "NUL", data: crafted(file("a\x00b.txt", "x")), want: modelpkg.ErrUnsafePath, msg: "NUL"},
		{name: "control character", data: crafted(file("a\nb.txt", "x")), want: modelpkg.ErrUnsafePath},
		{name: "absolute", data: crafted(file("/etc/passwd", "x")), want: modelpkg.ErrUnsafePath, msg: "/etc/passwd"},
		{name: "drive letter", data: crafted(file("C:/evil.txt", "x")), want: modelpkg.ErrUnsafePath, msg: "drive"},
		{name: "drive relative", data: crafted(file("c:evil.txt", "x")), want: modelpkg.ErrUnsafePath},
		{name: "backslash", data: crafted(file(`a\b.txt`, "x")), want: modelpkg.ErrUnsafePath, msg: "backslash"},
		{name: "dot dot", data: crafted(file("../evil.txt", "x")), want: modelpkg.ErrUnsafePath, msg: ".."},
		{name: "inner dot dot", data: crafted(file("docs/../model.joblib", "x")), want: modelpkg.ErrUnsafePath},
		{name: "dot slash", data: crafted(file("./a.txt", "x")), want: modelpkg.ErrUnsafePath, msg: "canonical"},
		{name: "double slash", data: crafted(file("a//b.txt", "x")), want: modelpkg.ErrUnsafePath, msg: "canonical"},
		{name: "empty name", data: crafted(file("", "x")), want: modelpkg.ErrUnsafePath},
		{name: "name too long", data: crafted(file(longName, "x")), open: &modelpkg.OpenOptions{Limits: small}, want: modelpkg.ErrUnsafePath},
		{name: "too deep", data: crafted(file("a/b/c/d.txt", "x")), open: &modelpkg.OpenOptions{Limits: small}, want: modelpkg.ErrUnsafePath, msg: "path elements"},
		{name: "windows device name", data: crafted(file("docs/CON.txt", "x")), want: modelpkg.ErrUnsafePath, msg: "device"},
		{name: "windows device name com1", data: crafted(file("com1", "x")), want: modelpkg.ErrUnsafePath, msg: "device"},
		{name: "trailing dot", data: crafted(file("model.joblib.", "x")), want: modelpkg.ErrUnsafePath, msg: "dot or space"},
		{name: "trailing space", data: crafted(file("docs /a.txt", "x")), want: modelpkg.ErrUnsafePath, msg: "dot or space"},
		{name: "colon (NTFS stream)", data: crafted(file("model.joblib:evil", "x")), want: modelpkg.ErrUnsafePath},

		// Entry types.
		{name: "symlink", data: crafted(rawEntry{name: "link", plain: []byte("/etc/passwd"), unixMode: 0o120777}), want: modelpkg.ErrUnsafeEntryType, msg: "link"},
		{name: "char device", data: crafted(rawEntry{name: "dev", unixMode: 0o020644}), want: modelpkg.ErrUnsafeEntryType},
		{name: "block device", data: crafted(rawEntry{name: "dev", unixMode: 0o060644}), want: modelpkg.ErrUnsafeEntryType},
		{name: "fifo", data: crafted(rawEntry{name: "fifo", unixMode: 0o010644}), want: modelpkg.ErrUnsafeEntryType},
		{name: "socket", data: crafted(rawEntry{name: "sock", unixMode: 0o140644}), want: modelpkg.ErrUnsafeEntryType},
		{name: "unknown file type", data: crafted(rawEntry{name: "odd", unixMode: 0o170644}), want: modelpkg.ErrUnsafeEntryType},
		{name: "directory mode on a file name", data: crafted(rawEntry{name: "dir", unixMode: 0o040755}), want: modelpkg.ErrUnsafeEntryType},

		// Duplicates.
		{name: "exact duplicate", data: crafted(file("a.txt", "1"), file("a.txt", "2")), want: modelpkg.ErrDuplicateEntry, msg: "a.txt"},
		{name: "case folding", data: crafted(file("README.md", "1"), file("readme.md", "2")), want: modelpkg.ErrDuplicateEntry},
		{name: "case folding in a directory", data: crafted(file("Docs/a.txt", "1"), file("docs/b.txt", "2")), want: modelpkg.ErrDuplicateEntry},
		{name: "unicode NFC", data: crafted(file("caf\u00e9.txt", "1"), file("cafe\u0301.txt", "2")), want: modelpkg.ErrDuplicateEntry},
		{name: "file then directory", data: crafted(file("a", "1"), file("a/b.txt", "2")), want: modelpkg.ErrDuplicateEntry, msg: "both a file and a directory"},
		{name: "directory then file", data: crafted(file("a/b.txt", "1"), file("a", "2")), want: modelpkg.ErrDuplicateEntry},
		{name: "directory entry and file", data: crafted(rawEntry{name: "a/"}, file("a", "2")), want: modelpkg.ErrDuplicateEntry},
		{name: "directory entry twice", data: crafted(rawEntry{name: "a/"}, rawEntry{name: "a/"}), want: modelpkg.ErrDuplicateEntry},

		// Archive structure.
		{name: "not a zip", data: func(*testing.T) []byte { return []byte("hello, world") }, want: modelpkg.ErrInvalidArchive},
		{name: "empty input", data: func(*testing.T) []byte { return nil }, want: modelpkg.ErrInvalidArchive},
		{name: "encrypted", data: crafted(rawEntry{name: "a.txt", plain: []byte("x"), flags: 1}), want: modelpkg.ErrInvalidArchive, msg: "encrypted"},
		{name: "strong encryption", data: crafted(rawEntry{name: "a.txt", plain: []byte("x"), flags: 0x40}), want: modelpkg.ErrInvalidArchive, msg: "encrypted"},
		{name: "bzip2 method", data: crafted(rawEntry{name: "a.txt", plain: []byte("x"), method: ptr(uint16(12))}), want: modelpkg.ErrInvalidArchive, msg: "method 12"},
		{name: "local name differs", data: crafted(rawEntry{name: "a.txt", localName: ptr("b.txt"), plain: []byte("x")}), want: modelpkg.ErrInvalidArchive, msg: "local header name"},
		{name: "local name differs in length", data: crafted(rawEntry{name: "a.txt", localName: ptr("../../x.txt"), plain: []byte("x")}), want: modelpkg.ErrInvalidArchive, msg: "local header name"},
		{name: "overlapping entries", data: crafted(rawEntry{name: "outer.bin", plain: []byte("outer"), inner: &overlapInner}), want: modelpkg.ErrInvalidArchive, msg: "overlap"},
		{name: "entry overlaps central directory", data: crafted(rawEntry{name: "a.txt", plain: []byte("x"), csize: ptr(uint32(200)), usize: ptr(uint32(200))}), want: modelpkg.ErrInvalidArchive, msg: "central directory"},
		{name: "stored with differing sizes", data: crafted(rawEntry{name: "a.txt", plain: []byte("xyz"), usize: ptr(uint32(2))}), want: modelpkg.ErrInvalidArchive, msg: "stored"},
		{name: "directory with data", data: crafted(rawEntry{name: "d/", plain: []byte("xyz")}), want: modelpkg.ErrInvalidArchive},
		{name: "prepended data", data: func(t *testing.T) []byte {
			return craft(t, craftOpts{prefix: []byte("#!/bin/sh\nexit 0\n")}, file("a.txt", "x"))
		}, want: modelpkg.ErrInvalidArchive},
		{name: "trailing data", data: func(t *testing.T) []byte {
			return craft(t, craftOpts{suffix: []byte("trailing")}, file("a.txt", "x"))
		}, want: modelpkg.ErrInvalidArchive, msg: "after the end"},

		// Limits at Open, on declared values.
		{name: "too many entries", data: crafted(file("a", "1"), file("b", "2"), file("c", "3"), file("d", "4")), open: &modelpkg.OpenOptions{Limits: small}, want: modelpkg.ErrResourceLimit, msg: "entries"},
		{name: "oversized central directory", data: func(t *testing.T) []byte {
			big := make([]byte, 60000)
			binary.LittleEndian.PutUint16(big, 0xcafe)
			binary.LittleEndian.PutUint16(big[2:], uint16(len(big)-4))
			return craft(t, craftOpts{}, rawEntry{name: "a", cdExtra: big}, rawEntry{name: "b", cdExtra: big})
		}, want: modelpkg.ErrResourceLimit, msg: "central directory"},
		{name: "declared file size", data: crafted(file("a", strings.Repeat("x", 1001))), open: &modelpkg.OpenOptions{Limits: small}, want: modelpkg.ErrResourceLimit},
		{name: "declared total size", data: crafted(file("a", strings.Repeat("x", 800)), file("b", strings.Repeat("x", 800))), open: &modelpkg.OpenOptions{Limits: small}, want: modelpkg.ErrResourceLimit, msg: "total"},
		{name: "declared ratio", data: crafted(rawEntry{name: "bomb", plain: zeros, deflate: true}), want: modelpkg.ErrResourceLimit, msg: "ratio"},

		// Limits and integrity on the bytes actually produced.
		{name: "bomb lying about its size", data: func(t *testing.T) []byte {
			return pkgOf(t, rawEntry{name: "bomb", plain: zeros, deflate: true, usize: ptr(uint32(1 << 20))})
		}, want: modelpkg.ErrResourceLimit, msg: "declared"},
		{name: "actual file size over the extraction limit", data: func(t *testing.T) []byte {
			return pkgOf(t, file("a", strings.Repeat("x", 5000)))
		}, extract: &modelpkg.ExtractOptions{Limits: &modelpkg.Limits{MaxFileSize: 4096}}, want: modelpkg.ErrResourceLimit, msg: "file size"},
		{name: "actual ratio over the extraction limit", data: func(t *testing.T) []byte {
			return pkgOf(t, rawEntry{name: "z", plain: make([]byte, 2<<20), deflate: true})
		}, extract: &modelpkg.ExtractOptions{Limits: &modelpkg.Limits{MaxRatio: 2}}, want: modelpkg.ErrResourceLimit, msg: "ratio"},
		{name: "actual total over the extraction limit", data: func(t *testing.T) []byte {
			return pkgOf(t, file("a", strings.Repeat("x", 3000)), file("b", strings.Repeat("y", 3000)))
		}, extract: &modelpkg.ExtractOptions{Limits: &modelpkg.Limits{MaxTotalSize: 5000}}, want: modelpkg.ErrResourceLimit},
		{name: "truncated deflate stream", data: func(t *testing.T) []byte {
			d := deflateBytes(t, []byte(strings.Repeat("hello ", 1000)))
			return pkgOf(t, rawEntry{name: "a.txt", plain: []byte(strings.Repeat("hello ", 1000)), deflate: true, data: d[:len(d)/2]})
		}, want: modelpkg.ErrInvalidArchive},
		{name: "short stored data", data: func(t *testing.T) []byte {
			return pkgOf(t, rawEntry{name: "a.txt", plain: []byte("hello"), deflate: true, usize: ptr(uint32(6))})
		}, want: modelpkg.ErrInvalidArchive, msg: "declares"},
		{name: "CRC mismatch stored", data: func(t *testing.T) []byte {
			return pkgOf(t, rawEntry{name: "a.txt", plain: []byte("hello"), crc: ptr(uint32(1))})
		}, want: modelpkg.ErrInvalidArchive, msg: "CRC"},
		{name: "CRC mismatch deflated", data: func(t *testing.T) []byte {
			return pkgOf(t, rawEntry{name: "a.txt", plain: []byte("hello"), deflate: true, crc: ptr(uint32(1))})
		}, want: modelpkg.ErrInvalidArchive, msg: "CRC"},

		// Manifest against contents.
		{name: "no manifest", data: crafted(file("a.txt", "x")), want: modelpkg.ErrMissingFile, msg: "deployment_manifest.json"},
		{name: "listed file missing", data: func(t *testing.T) []byte {
			return craft(t, craftOpts{}, file("a.txt", "x"), manifestEntry(t, file("a.txt", "x"), file("b.txt", "y")))
		}, want: modelpkg.ErrMissingFile, msg: "b.txt"},
		{name: "unlisted file", data: func(t *testing.T) []byte {
			return craft(t, craftOpts{}, file("a.txt", "x"), file("extra.txt", "y"), manifestEntry(t, file("a.txt", "x")))
		}, want: modelpkg.ErrInvalidManifest, msg: "extra.txt"},
		{name: "manifest lists itself", data: func(t *testing.T) []byte {
			return craft(t, craftOpts{}, file("a.txt", "x"), manifestEntry(t, file("a.txt", "x"), file(modelpkg.DefaultManifestFile, "")))
		}, want: modelpkg.ErrInvalidManifest, msg: "itself"},
		{name: "invalid manifest", data: crafted(file("a.txt", "x"), file(modelpkg.DefaultManifestFile, `{"file_hashes": []}`)), want: modelpkg.ErrInvalidManifest},
		{name: "hash mismatch", data: func(t *testing.T) []byte {
			return craft(t, craftOpts{}, file("a.txt", "x"), manifestEntry(t, file("a.txt", "not x")))
		}, want: modelpkg.ErrHashMismatch, msg: "a.txt"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir, _, err := openAndExtract(t, tc.data(t), tc.open, tc.extract)
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.want)
			assert.Equal(t, modelpkg.Code(tc.want), modelpkg.Code(err))
			if tc.msg != "" {
				assert.Contains(t, err.Error(), tc.msg)
			}
			requireNothingWritten(t, dir)
		})
	}
}

// crafted returns a data func crafting entries as given (no manifest).
func crafted(entries ...rawEntry) func(t *testing.T) []byte {
	return func(t *testing.T) []byte { return craft(t, craftOpts{}, entries...) }
}

func TestHashMismatchListsEveryFile(t *testing.T) {
	files := pkgtest.Files("1.0")
	files["README.md"].Data = []byte("tampered")
	files["requirements.txt"].Data = []byte("evil==6.6.6\n")
	files["model.joblib"].Data = []byte("not the model")
	data := pkgtest.ZipRaw(t, files) // keeps the old manifest
	dir, _, err := openAndExtract(t, data, nil, &modelpkg.ExtractOptions{Concurrency: 2})
	require.ErrorIs(t, err, modelpkg.ErrHashMismatch)
	var hm *modelpkg.HashMismatchError
	require.ErrorAs(t, err, &hm)
	var names []string
	for _, m := range hm.Mismatches {
		names = append(names, m.Name)
		assert.Len(t, m.Want, 64)
		assert.Len(t, m.Got, 64)
		assert.NotEqual(t, m.Want, m.Got)
	}
	assert.Equal(t, []string{"README.md", "model.joblib", "requirements.txt"}, names)
	assert.Equal(t, "hash_mismatch", modelpkg.Code(err))
	requireNothingWritten(t, dir)
}

func TestExtractCanceled(t *testing.T) {
	data := pkgOf(t, file("a.txt", strings.Repeat("x", 1<<20)), file("b.txt", "y"))
	p, err := modelpkg.Open(bytes.NewReader(data), int64(len(data)), nil)
	require.NoError(t, err)
	out := filepath.Join(t.TempDir(), "out")
	dst, err := modelpkg.OpenDirDestination(out, nil)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = p.Extract(ctx, dst, nil)
	require.ErrorIs(t, err, context.Canceled)
	requireNothingWritten(t, out)

	// Cancellation in the middle of a file.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	dst, err = modelpkg.OpenDirDestination(out, nil)
	require.NoError(t, err)
	_, err = p.Extract(ctx, dst, &modelpkg.ExtractOptions{Progress: func(done, total int64) { cancel() }})
	require.ErrorIs(t, err, context.Canceled)
	requireNothingWritten(t, out)
}

func TestAllowUnlisted(t *testing.T) {
	data := craft(t, craftOpts{}, file("a.txt", "x"), file("extra.txt", "y"), manifestEntry(t, file("a.txt", "x")))
	dir, res, err := openAndExtract(t, data, nil, &modelpkg.ExtractOptions{AllowUnlisted: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"extra.txt is not listed in the manifest"}, res.Warnings)
	got, err := os.ReadFile(filepath.Join(dir, "extra.txt"))
	require.NoError(t, err)
	assert.Equal(t, "y", string(got))
}

func TestExplicitDirectoriesAndPythonModes(t *testing.T) {
	// Python's writestr leaves the file type bits zero; directory entries
	// may precede their files.
	entries := []rawEntry{
		{name: "docs/", unixMode: 0o040755},
		{name: "docs/guide.md", plain: []byte("# guide"), unixMode: 0o600},
		{name: "model.joblib", plain: pkgtest.Model, unixMode: 0o100644},
	}
	dir, res, err := openAndExtract(t, pkgOf(t, entries...), nil, nil)
	require.NoError(t, err)
	assert.Len(t, res.Files, 3)
	got, err := os.ReadFile(filepath.Join(dir, "docs", "guide.md"))
	require.NoError(t, err)
	assert.Equal(t, "# guide", string(got))
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }

func TestZip64ExtraField(t *testing.T) {
	content := []byte("zip64 sizes")
	extra := make([]byte, 4+16)
	binary.LittleEndian.PutUint16(extra, 0x0001)
	binary.LittleEndian.PutUint16(extra[2:], 16)
	binary.LittleEndian.PutUint64(extra[4:], uint64(len(content)))  // uncompressed
	binary.LittleEndian.PutUint64(extra[12:], uint64(len(content))) // compressed
	e := rawEntry{name: "big.bin", plain: content, cdExtra: extra, usize: ptr(uint32(0xffffffff)), csize: ptr(uint32(0xffffffff))}
	dir, res, err := openAndExtract(t, pkgOf(t, e), nil, nil)
	require.NoError(t, err)
	assert.Len(t, res.Files, 2)
	got, err := os.ReadFile(filepath.Join(dir, "big.bin"))
	require.NoError(t, err)
	assert.Equal(t, content, got)
}

func TestAcceptedNames(t *testing.T) {
	var entries []rawEntry
	for _, name := range []string{"console.py", "nullable.txt", "com10.txt", "lpt.md", "a.b.c", "caf\u00e9.txt",
		"dir with space/x.txt", ".hidden", "deep/er/still/file-1_2+3.txt", "日本語.md"} {
		entries = append(entries, file(name, name))
	}
	dir, res, err := openAndExtract(t, pkgOf(t, entries...), nil, nil)
	require.NoError(t, err)
	assert.Len(t, res.Files, len(entries)+1)
	got, err := os.ReadFile(filepath.Join(dir, "dir with space", "x.txt"))
	require.NoError(t, err)
	assert.Equal(t, "dir with space/x.txt", string(got))
}
