package modelpkg_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/internal/pkgtest"
	"github.com/modelvault/modelvault/modelpkg"
)

// Fuzz targets are seeded from testdata/: names.txt (one name per line),
// manifest/*.json, metadata/*.json and zip/*.zip. Regenerate the crafted
// ZIP seeds with MODELVAULT_WRITE_SEEDS=1 go test -run TestWriteSeeds.

func seedFiles(f *testing.F, pattern string) {
	f.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", pattern))
	require.NoError(f, err)
	require.NotEmpty(f, paths, pattern)
	for _, p := range paths {
		data, err := os.ReadFile(p)
		require.NoError(f, err)
		f.Add(data)
	}
}

func FuzzParseFileName(f *testing.F) {
	file, err := os.Open(filepath.Join("testdata", "names.txt"))
	require.NoError(f, err)
	defer file.Close()
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		f.Add(sc.Text())
	}
	f.Fuzz(func(t *testing.T, name string) {
		v, err := modelpkg.ParseFileName(name)
		if err != nil {
			require.ErrorIs(t, err, modelpkg.ErrInvalidName)
			return
		}
		require.NoError(t, modelpkg.ValidateVersion(v))
		require.Equal(t, name, modelpkg.FileName(v))
		require.True(t, fs.ValidPath(modelpkg.DirName(v)))
		d, err := modelpkg.ParseDirName(modelpkg.DirName(v))
		require.NoError(t, err)
		require.Equal(t, v, d)
		require.Zero(t, modelpkg.CompareVersions(v, v))
	})
}

func FuzzParseManifest(f *testing.F) {
	seedFiles(f, "manifest/*.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := modelpkg.ParseManifest(bytes.NewReader(data), nil)
		if err != nil {
			if !errorsIsAny(err, modelpkg.ErrInvalidManifest, modelpkg.ErrResourceLimit) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		for name, h := range m.FileHashes {
			require.True(t, fs.ValidPath(name), name)
			require.Len(t, h, 64)
			require.Equal(t, strings.ToLower(h), h)
		}
		out, err := m.MarshalJSON()
		require.NoError(t, err)
		m2, err := modelpkg.ParseManifest(bytes.NewReader(out), nil)
		require.NoError(t, err, "re-parse %s", out)
		out2, err := m2.MarshalJSON()
		require.NoError(t, err)
		require.Equal(t, string(out), string(out2))
	})
}

func FuzzParseMetadata(f *testing.F) {
	seedFiles(f, "metadata/*.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		md, err := modelpkg.ParseMetadata(bytes.NewReader(data), nil)
		if err != nil {
			if !errorsIsAny(err, modelpkg.ErrInvalidMetadata, modelpkg.ErrResourceLimit) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		require.NotNil(t, md.Raw)
		require.LessOrEqual(t, len(md.Missing), 4)
		// What every interface shows on one line is plain text.
		require.NoError(t, modelpkg.CheckText(md.ModelType, modelpkg.MaxModelTypeLen))
		require.NoError(t, modelpkg.CheckText(md.Version, modelpkg.MaxVersionLen))
	})
}

func errorsIsAny(err error, targets ...error) bool {
	for _, t := range targets {
		if errorsIs(err, t) {
			return true
		}
	}
	return false
}

// fuzzLimits keep fuzzing fast: nothing may inflate beyond a few MiB.
var fuzzLimits = &modelpkg.Limits{MaxFileSize: 1 << 20, MaxTotalSize: 4 << 20}

func FuzzOpen(f *testing.F) {
	seedFiles(f, "zip/*.zip")
	seedFiles(f, "zip/tools/*.zip")
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := modelpkg.Open(bytes.NewReader(data), int64(len(data)), &modelpkg.OpenOptions{Limits: fuzzLimits})
		if err != nil {
			require.NotEmpty(t, modelpkg.Code(err), "every rejection has a code: %v", err)
			return
		}
		defer p.Close()
		for _, e := range p.Files() {
			require.True(t, fs.ValidPath(e.Name), e.Name)
			data, err := fs.ReadFile(p, e.Name)
			if err == nil {
				require.Len(t, data, int(e.Size), e.Name)
			}
		}
		fs.WalkDir(p, ".", func(path string, d fs.DirEntry, err error) error {
			require.True(t, fs.ValidPath(path), path)
			return nil
		})
	})
}

// memDest keeps files in memory and records Abort.
type memDest struct {
	mu      sync.Mutex
	files   map[string][]byte
	aborted bool
}

func (d *memDest) WriteFile(ctx context.Context, name string, r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, dup := d.files[name]; dup {
		return fs.ErrExist
	}
	d.files[name] = data
	return nil
}

func (d *memDest) Abort(context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.aborted = true
	clear(d.files)
	return nil
}

func FuzzExtract(f *testing.F) {
	seedFiles(f, "zip/*.zip")
	seedFiles(f, "zip/tools/*.zip")
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := modelpkg.Open(bytes.NewReader(data), int64(len(data)), &modelpkg.OpenOptions{Limits: fuzzLimits})
		if err != nil {
			return
		}
		dst := &memDest{files: map[string][]byte{}}
		res, err := p.Extract(context.Background(), dst, &modelpkg.ExtractOptions{Concurrency: 2})
		if err != nil {
			require.True(t, dst.aborted, "Abort after failure")
			require.Empty(t, dst.files)
			require.NotEmpty(t, modelpkg.Code(err), "every failure has a code: %v", err)
			return
		}
		require.Len(t, dst.files, len(p.Files()))
		for name, content := range dst.files {
			sum := sha256.Sum256(content)
			require.Equal(t, hex.EncodeToString(sum[:]), res.Digests[name])
			if want, ok := res.Manifest.FileHashes[name]; ok {
				require.Equal(t, want, res.Digests[name])
			}
		}
	})
}

// TestWriteSeeds regenerates testdata/zip from the crafted archives of
// the rejection tests and a valid package.
func TestWriteSeeds(t *testing.T) {
	if os.Getenv("MODELVAULT_WRITE_SEEDS") == "" {
		t.Skip("set MODELVAULT_WRITE_SEEDS=1 to rewrite testdata/zip")
	}
	inner := file("inner.txt", "inner")
	seeds := map[string][]byte{
		"valid":          pkgtest.Zip(t, pkgtest.Files("1.0")),
		"valid-dirs":     pkgOf(t, rawEntry{name: "docs/", unixMode: 0o040755}, file("docs/a.md", "# a"), rawEntry{name: "z.txt", plain: bytes.Repeat([]byte("z"), 5000), deflate: true}),
		"dotdot":         crafted(file("../evil.txt", "x"))(t),
		"symlink":        crafted(rawEntry{name: "link", plain: []byte("/etc/passwd"), unixMode: 0o120777})(t),
		"duplicate-fold": crafted(file("README.md", "1"), file("readme.md", "2"))(t),
		"encrypted":      crafted(rawEntry{name: "a.txt", plain: []byte("x"), flags: 1})(t),
		"local-name":     crafted(rawEntry{name: "a.txt", localName: ptr("b.txt"), plain: []byte("x")})(t),
		"overlap":        crafted(rawEntry{name: "outer.bin", plain: []byte("outer"), inner: &inner})(t),
		"lying-size":     pkgOf(t, rawEntry{name: "bomb", plain: make([]byte, 64<<10), deflate: true, usize: ptr(uint32(100))}),
		"bad-crc":        pkgOf(t, rawEntry{name: "a.txt", plain: []byte("hello"), crc: ptr(uint32(1))}),
		"hash-mismatch":  craft(t, craftOpts{}, file("a.txt", "x"), manifestEntry(t, file("a.txt", "not x"))),
	}
	for name, data := range seeds {
		require.NoError(t, os.WriteFile(filepath.Join("testdata", "zip", name+".zip"), data, 0o644))
	}
}
