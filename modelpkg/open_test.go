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
		{name: "backslash separators (PowerShell 5.1)", data: crafted(rawEntry{name: `docs\guide.md`, plain: []byte("x"), creator: ptr(uint8(0)), external: ptr(uint32(0x20))}), want: modelpkg.ErrUnsafePath, msg: "re-pack with modelctl pack"},
		{name: "8.3 short name", data: crafted(file("MODEL~1.JOB", "x")), want: modelpkg.ErrUnsafePath, msg: "8.3"},
		{name: "8.3 short name in a directory", data: crafted(file("DOCU~12/a.txt", "x")), want: modelpkg.ErrUnsafePath, msg: "8.3"},
		{name: "dot dot", data: crafted(file("../evil.txt", "x")), want: modelpkg.ErrUnsafePath, msg: ".."},
		{name: "inner dot dot", data: crafted(file("docs/../model.joblib", "x")), want: modelpkg.ErrUnsafePath},
		{name: "inner dot slash", data: crafted(file("a/./b.txt", "x")), want: modelpkg.ErrUnsafePath, msg: "canonical"},
		{name: "dot slash twice", data: crafted(file("././a.txt", "x")), want: modelpkg.ErrUnsafePath, msg: "canonical"},
		{name: "dot slash duplicate", data: crafted(file("./a.txt", "x"), file("a.txt", "y")), want: modelpkg.ErrDuplicateEntry},
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
		{name: "symlink mode, MS-DOS host", data: crafted(rawEntry{name: "link", plain: []byte("../../etc/passwd"), creator: ptr(uint8(0)), external: ptr(uint32(0o120777 << 16))}), want: modelpkg.ErrUnsafeEntryType, msg: "file type"},
		{name: "symlink mode, NTFS host", data: crafted(rawEntry{name: "link", plain: []byte("/etc"), creator: ptr(uint8(10)), external: ptr(uint32(0o120777 << 16))}), want: modelpkg.ErrUnsafeEntryType},
		{name: "symlink mode, OS/2 host", data: crafted(rawEntry{name: "link", plain: []byte("/etc"), creator: ptr(uint8(6)), external: ptr(uint32(0o120777 << 16))}), want: modelpkg.ErrUnsafeEntryType},
		{name: "device mode, Amiga host", data: crafted(rawEntry{name: "dev", creator: ptr(uint8(1)), external: ptr(uint32(0o020644 << 16))}), want: modelpkg.ErrUnsafeEntryType},
		{name: "AppleDouble entry with symlink mode", data: crafted(rawEntry{name: "__MACOSX/._model.joblib", plain: []byte("/etc"), unixMode: 0o120777}), want: modelpkg.ErrUnsafeEntryType},
		{name: "AppleDouble entry with unsafe path", data: crafted(rawEntry{name: "__MACOSX/../._x", plain: []byte("x")}), want: modelpkg.ErrUnsafePath},
		{name: "reparse point attribute", data: crafted(rawEntry{name: "link", plain: []byte("x"), creator: ptr(uint8(10)), external: ptr(uint32(0x420))}), want: modelpkg.ErrUnsafeEntryType, msg: "reparse"},
		{name: "directory attribute on a file name", data: crafted(rawEntry{name: "dir", creator: ptr(uint8(0)), external: ptr(uint32(0x10))}), want: modelpkg.ErrUnsafeEntryType},

		// Duplicates.
		{name: "exact duplicate", data: crafted(file("a.txt", "1"), file("a.txt", "2")), want: modelpkg.ErrDuplicateEntry, msg: "a.txt"},
		{name: "case folding", data: crafted(file("README.md", "1"), file("readme.md", "2")), want: modelpkg.ErrDuplicateEntry},
		{name: "case folding in a directory", data: crafted(file("Docs/a.txt", "1"), file("docs/b.txt", "2")), want: modelpkg.ErrDuplicateEntry},
		{name: "unicode NFC", data: crafted(file("caf\u00e9.txt", "1"), file("cafe\u0301.txt", "2")), want: modelpkg.ErrDuplicateEntry},
		{name: "dotless i (NTFS upper-casing)", data: crafted(file("model.joblib", "1"), file("model.jobl\u0131b", "2")), want: modelpkg.ErrDuplicateEntry},
		{name: "long s", data: crafted(file("setup.py", "1"), file("\u017fetup.py", "2")), want: modelpkg.ErrDuplicateEntry},
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
		{name: "prepended data with absolute offsets (polyglot)", data: func(t *testing.T) []byte {
			return craft(t, craftOpts{prefix: []byte("#!/bin/sh\nexit 0\n"), absolute: true}, file("a.txt", "x"))
		}, want: modelpkg.ErrInvalidArchive, msg: "before the first entry"},
		{name: "data between entries", data: crafted(rawEntry{name: "a.txt", plain: []byte("x"), after: []byte("junk")}, file("b.txt", "y")), want: modelpkg.ErrInvalidArchive, msg: "unreferenced"},
		{name: "unreferenced local header between entries", data: func(t *testing.T) []byte {
			hidden := craft(t, craftOpts{}, file("model.joblib", "evil"))
			hidden = hidden[:bytes.Index(hidden, []byte("PK\x01\x02"))]
			return craft(t, craftOpts{}, rawEntry{name: "a.txt", plain: []byte("x"), after: hidden}, file("model.joblib", "good"))
		}, want: modelpkg.ErrInvalidArchive, msg: "unreferenced"},
		{name: "data before the central directory", data: func(t *testing.T) []byte {
			return craft(t, craftOpts{cdPad: 7}, file("a.txt", "x"))
		}, want: modelpkg.ErrInvalidArchive, msg: "unreferenced"},
		{name: "local CRC differs", data: crafted(rawEntry{name: "a.txt", plain: []byte("x"), localCRC: ptr(uint32(7))}), want: modelpkg.ErrInvalidArchive, msg: "local header CRC-32 or sizes"},
		{name: "local sizes differ", data: crafted(rawEntry{name: "a.txt", plain: []byte("xyz"), localSize: ptr(uint32(1))}), want: modelpkg.ErrInvalidArchive, msg: "local header CRC-32 or sizes"},
		{name: "local flags differ", data: crafted(rawEntry{name: "a.txt", plain: []byte("x"), localFlags: ptr(uint16(0x0800))}), want: modelpkg.ErrInvalidArchive, msg: "flags"},
		{name: "local descriptor flag only", data: crafted(rawEntry{name: "a.txt", plain: []byte("x"), localFlags: ptr(uint16(0x0008))}), want: modelpkg.ErrInvalidArchive, msg: "flags"},
		{name: "data descriptor CRC differs", data: crafted(rawEntry{name: "a.txt", plain: []byte("x"), descriptor: descriptor([]byte("y"), 1, true, false)}), want: modelpkg.ErrInvalidArchive, msg: "data descriptor"},
		{name: "data descriptor size differs", data: crafted(rawEntry{name: "a.txt", plain: []byte("xy"), descriptor: descriptor([]byte("x"), 1, false, false)}), want: modelpkg.ErrInvalidArchive, msg: "data descriptor"},
		{name: "data descriptor too long", data: crafted(rawEntry{name: "a.txt", plain: []byte("x"), descriptor: append(descriptor([]byte("x"), 1, true, true), 0)}), want: modelpkg.ErrInvalidArchive, msg: "data descriptor"},
		{name: "unicode path names another file", data: crafted(rawEntry{name: "README.md", plain: []byte("x"), cdExtra: unicodePath("README.md", "model.joblib")}), want: modelpkg.ErrInvalidArchive, msg: "Unicode Path"},
		{name: "unicode path in the local header", data: crafted(rawEntry{name: "README.md", plain: []byte("x"), localExtra: unicodePath("README.md", "model.joblib")}), want: modelpkg.ErrInvalidArchive, msg: "Unicode Path"},
		{name: "unicode path with a stale CRC", data: crafted(rawEntry{name: "README.md", plain: []byte("x"), cdExtra: unicodePath("other", "model.joblib")}), want: modelpkg.ErrInvalidArchive, msg: "Unicode Path"},
		{name: "truncated extra field", data: crafted(rawEntry{name: "a.txt", plain: []byte("x"), cdExtra: []byte{1, 2, 3}}), want: modelpkg.ErrInvalidArchive},
		{name: "central directory larger than its headers", data: func(t *testing.T) []byte {
			// A second header for model.joblib, after the counted
			// ones: Python's zipfile reads it, and the last one wins.
			dup := craft(t, craftOpts{}, file("model.joblib", "good"))
			cd := dup[bytes.Index(dup, []byte("PK\x01\x02")):bytes.Index(dup, []byte("PK\x05\x06"))]
			return craft(t, craftOpts{cdTrailer: cd}, file("model.joblib", "good"))
		}, want: modelpkg.ErrInvalidArchive, msg: "fill"},
		{name: "zip64 locator to another central directory", data: func(t *testing.T) []byte {
			// The 32-bit end record holds real values; the zip64 one
			// points at a second directory hidden before it.
			var hidden []byte
			return craft(t, craftOpts{beforeEnd: func(cdOff, cdSize int) []byte {
				hidden = make([]byte, cdSize) // stands for a second directory
				rec := zip64End(uint64(cdOff+cdSize+len(hidden)), 1, uint64(cdOff+cdSize), uint64(len(hidden)))
				return append(hidden, rec...)
			}}, file("a.txt", "x"))
		}, want: modelpkg.ErrInvalidArchive, msg: "disagrees with the zip64"},
		{name: "zip64 end record not at its locator", data: func(t *testing.T) []byte {
			return craft(t, craftOpts{beforeEnd: func(cdOff, cdSize int) []byte {
				return append([]byte("gap!"), zip64End(uint64(cdOff+cdSize), 1, uint64(cdOff), uint64(cdSize))...)
			}}, file("a.txt", "x"))
		}, want: modelpkg.ErrInvalidArchive, msg: "locator"},
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
		{name: "inflates past its declared size", data: func(t *testing.T) []byte {
			return pkgOf(t, rawEntry{name: "bomb", plain: zeros, deflate: true, usize: ptr(uint32(1 << 20))})
		}, want: modelpkg.ErrInvalidArchive, msg: "declared"},
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
	e := rawEntry{name: "big.bin", plain: content, cdExtra: extra, localExtra: extra, usize: ptr(uint32(0xffffffff)), csize: ptr(uint32(0xffffffff))}
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
		"dir with space/x.txt", ".hidden", "deep/er/still/file-1_2+3.txt", "日本語.md",
		"notes~draft.md", "backup~.txt", "LONGNAME~1.JOBLIB", "ı.txt"} {
		entries = append(entries, file(name, name))
	}
	dir, res, err := openAndExtract(t, pkgOf(t, entries...), nil, nil)
	require.NoError(t, err)
	assert.Len(t, res.Files, len(entries)+1)
	got, err := os.ReadFile(filepath.Join(dir, "dir with space", "x.txt"))
	require.NoError(t, err)
	assert.Equal(t, "dir with space/x.txt", string(got))
}

// TestAcceptedShapes covers the layouts real writers produce that the
// strict reader must keep accepting, each built byte by byte.
func TestAcceptedShapes(t *testing.T) {
	model := []byte("the model")
	zip64Sizes := func(us, cs uint64, off *uint64) []byte {
		d := binary.LittleEndian.AppendUint64(nil, us)
		d = binary.LittleEndian.AppendUint64(d, cs)
		if off != nil {
			d = binary.LittleEndian.AppendUint64(d, *off)
		}
		return extraField(0x0001, d)
	}
	tests := []struct {
		name     string
		data     func(t *testing.T) []byte
		files    []string
		warnings int
	}{
		{name: "bsdtar ./ names", data: func(t *testing.T) []byte {
			entries := []rawEntry{{name: "./", unixMode: 0o040755}, {name: "./model.joblib", plain: model, unixMode: 0o100644}}
			m := manifestEntry(t, file("model.joblib", string(model)))
			m.name = "./" + m.name
			return craft(t, craftOpts{}, append(entries, m)...)
		}, files: []string{"deployment_manifest.json", "model.joblib"}, warnings: 1},
		{name: "macOS ditto AppleDouble entries", data: func(t *testing.T) []byte {
			return craft(t, craftOpts{}, file("model.joblib", string(model)), rawEntry{name: "__MACOSX/", unixMode: 0o040755},
				rawEntry{name: "__MACOSX/._model.joblib", plain: []byte("\x00\x05\x16\x07appledouble"), unixMode: 0o100644},
				manifestEntry(t, file("model.joblib", string(model))))
		}, files: []string{"deployment_manifest.json", "model.joblib"}, warnings: 1},
		{name: "data descriptor, Go's 4-byte form", data: func(t *testing.T) []byte {
			return pkgOf(t, rawEntry{name: "model.joblib", plain: model, descriptor: descriptor(model, len(model), true, false)})
		}, files: []string{"deployment_manifest.json", "model.joblib"}},
		{name: "data descriptor, zip64 form", data: func(t *testing.T) []byte {
			return pkgOf(t, rawEntry{name: "model.joblib", plain: model, descriptor: descriptor(model, len(model), true, true)})
		}, files: []string{"deployment_manifest.json", "model.joblib"}},
		{name: "data descriptor without signature", data: func(t *testing.T) []byte {
			return pkgOf(t, rawEntry{name: "model.joblib", plain: model, descriptor: descriptor(model, len(model), false, false)})
		}, files: []string{"deployment_manifest.json", "model.joblib"}},
		{name: "4-byte descriptor, zip64 central offset (modelctl pack above 4 GiB)", data: func(t *testing.T) []byte {
			off := uint64(0)
			return pkgOf(t, rawEntry{name: "model.joblib", plain: model, descriptor: descriptor(model, len(model), true, false),
				cdExtra: extraField(0x0001, binary.LittleEndian.AppendUint64(nil, off))})
		}, files: []string{"deployment_manifest.json", "model.joblib"}},
		{name: "zip64 forced (Python force_zip64)", data: func(t *testing.T) []byte {
			n := uint64(len(model))
			return pkgOf(t, rawEntry{name: "model.joblib", plain: model, usize: ptr(uint32(0xffffffff)), csize: ptr(uint32(0xffffffff)),
				localExtra: zip64Sizes(n, n, nil), cdExtra: zip64Sizes(n, n, nil)})
		}, files: []string{"deployment_manifest.json", "model.joblib"}},
		{name: "zip64 end record with real 32-bit values (Python, directory past 2 GiB)", data: func(t *testing.T) []byte {
			m := manifestEntry(t, file("model.joblib", string(model)))
			return craft(t, craftOpts{beforeEnd: func(cdOff, cdSize int) []byte {
				return zip64End(uint64(cdOff+cdSize), 2, uint64(cdOff), uint64(cdSize))
			}}, file("model.joblib", string(model)), m)
		}, files: []string{"deployment_manifest.json", "model.joblib"}},
		{name: "unicode path repeating the name", data: func(t *testing.T) []byte {
			return pkgOf(t, rawEntry{name: "caf\u00e9.txt", plain: model, flags: 0x800, cdExtra: unicodePath("caf\u00e9.txt", "caf\u00e9.txt"), localExtra: unicodePath("caf\u00e9.txt", "caf\u00e9.txt")})
		}, files: []string{"caf\u00e9.txt", "deployment_manifest.json"}},
		{name: "unicode comment extra field", data: func(t *testing.T) []byte {
			return pkgOf(t, rawEntry{name: "model.joblib", plain: model, cdExtra: extraField(0x6375, []byte{1, 0, 0, 0, 0, 'h', 'i'})})
		}, files: []string{"deployment_manifest.json", "model.joblib"}},
		{name: "Windows Explorer attributes", data: func(t *testing.T) []byte {
			return pkgOf(t, rawEntry{name: "docs/", creator: ptr(uint8(0)), external: ptr(uint32(0x10))},
				rawEntry{name: "docs/a.md", plain: model, creator: ptr(uint8(0)), external: ptr(uint32(0x20))})
		}, files: []string{"deployment_manifest.json", "docs/a.md"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.data(t)
			p, err := modelpkg.Open(bytes.NewReader(data), int64(len(data)), nil)
			require.NoError(t, err)
			var names []string
			for _, f := range p.Files() {
				names = append(names, f.Name)
			}
			assert.Equal(t, tc.files, names)
			assert.Len(t, p.Warnings(), tc.warnings, "%q", p.Warnings())
			assert.Len(t, p.CodedWarnings(), tc.warnings)
			for _, w := range p.CodedWarnings() {
				assert.Contains(t, []string{"ignored_entry", "normalized_name"}, modelpkg.Code(w.Code), w.Message)
			}
			dir, res, err := openAndExtract(t, data, nil, nil)
			require.NoError(t, err)
			assert.Equal(t, p.Warnings(), res.Warnings)
			for _, f := range tc.files {
				assert.FileExists(t, filepath.Join(dir, filepath.FromSlash(f)))
			}
			_, err = os.Stat(filepath.Join(dir, "__MACOSX"))
			assert.ErrorIs(t, err, os.ErrNotExist)
			path := filepath.Join(t.TempDir(), "pkg.zip")
			require.NoError(t, os.WriteFile(path, data, 0o644))
			want, err := modelvaultView(t, path)
			require.NoError(t, err)
			requireReadersAgree(t, path, want)
		})
	}
}
