package modelpkg

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/klauspost/compress/flate"
)

// BuildOptions configures [Build] and [BuildDir]. The zero value (or nil)
// is ready to use.
type BuildOptions struct {
	// Layout names the manifest file; nil means [DefaultLayout].
	Layout *Layout
	// ModTime is the modification time recorded for every entry; the
	// zero value means 1980-01-01 00:00:00, the earliest a ZIP can store.
	ModTime time.Time
	// Compress decides whether a file is deflated (true) or stored,
	// given its name and up to its first 64 KiB. Nil means the default:
	// store files with an already-compressed extension (.zip, .gz,
	// .png, ...), files whose sample deflates by less than 10% (model
	// weights, compressed joblib files), and files whose sample deflates
	// by more than 50:1 (so the package stays within [DefaultMaxRatio]);
	// deflate the rest.
	Compress func(name string, sample []byte) bool
}

const sampleSize = 64 << 10

var compressedExts = []string{".zip", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".lz4", ".7z", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".mp3", ".mp4"}

// defaultCompress deflates a file only if a fast deflate of its first 64
// KiB saves at least 10% without exceeding 50:1.
func defaultCompress(name string, sample []byte) bool {
	if slices.Contains(compressedExts, strings.ToLower(path.Ext(name))) {
		return false
	}
	if len(sample) == 0 {
		return false
	}
	var cw countWriter
	fw, _ := flate.NewWriter(&cw, flate.BestSpeed) // BestSpeed is a valid level
	fw.Write(sample)
	fw.Close()
	return cw.n < int64(len(sample))*9/10 && cw.n*50 > int64(len(sample))
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// Build writes a package made of the regular files in fsys to w and
// returns its manifest. It reads each file once: the file is hashed while
// it is compressed into the archive, and deployment_manifest.json (named
// by the layout) is generated from the hashes and written last. A manifest
// already present in fsys is replaced; its fields other than file_hashes
// are kept if it parses.
//
// The output is deterministic: entries in name order (the manifest last),
// fixed modification times and attributes (0644), no directory entries,
// and a fixed deflate level. Names must be canonical relative paths
// ([ErrUnsafePath]), unique under case folding ([ErrDuplicateEntry]);
// symlinks and other non-regular files are rejected
// ([ErrUnsafeEntryType]). Build does not check for required files.
func Build(ctx context.Context, w io.Writer, fsys fs.FS, opts *BuildOptions) (*Manifest, error) {
	if opts == nil {
		opts = &BuildOptions{}
	}
	layout := opts.Layout.resolve()
	compress := opts.Compress
	if compress == nil {
		compress = defaultCompress
	}
	mod := opts.ModTime
	if mod.IsZero() {
		mod = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	names, err := buildList(fsys)
	if err != nil {
		return nil, err
	}
	m := &Manifest{FileHashes: make(map[string]string, len(names)), Extra: map[string]json.RawMessage{}}
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, 6)
	})
	sample := make([]byte, sampleSize)
	copyBuf := make([]byte, 256<<10)
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if name == layout.ManifestFile {
			if f, err := fsys.Open(name); err == nil {
				old, perr := ParseManifest(f, nil)
				f.Close()
				if perr == nil {
					m.Extra = old.Extra
				}
			}
			continue
		}
		if name == layout.ManifestFile+SignatureSuffix {
			// A stale signature of another manifest: never copied, the
			// manifest written below is new (sign the built package).
			continue
		}
		digest, err := addFile(zw, fsys, name, sample, copyBuf, compress, mod)
		if err != nil {
			return nil, fmt.Errorf("build: %s: %w", name, err)
		}
		m.FileHashes[name] = digest
	}
	body, err := m.MarshalJSON()
	if err != nil {
		return nil, err
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, body, "", "  "); err != nil {
		return nil, err
	}
	pretty.WriteByte('\n')
	hw, err := zw.CreateHeader(fileHeader(layout.ManifestFile, zip.Deflate, mod))
	if err != nil {
		return nil, err
	}
	if _, err := hw.Write(pretty.Bytes()); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return m, nil
}

// BuildDir is [Build] over the directory dir, opened with os.OpenRoot so
// that symlinks cannot lead outside it.
func BuildDir(ctx context.Context, w io.Writer, dir string, opts *BuildOptions) (*Manifest, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	return Build(ctx, w, root.FS(), opts)
}

// buildList walks fsys and returns the sorted names of its files.
func buildList(fsys fs.FS) ([]string, error) {
	var names []string
	seen := map[string]string{}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if name == "." {
			return nil
		}
		if p := pathProblem(name); p != "" {
			return fmt.Errorf("build: %w: %q: %s", ErrUnsafePath, name, p)
		}
		if old, ok := seen[foldKey(name)]; ok {
			return fmt.Errorf("build: %w: %q collides with %q", ErrDuplicateEntry, name, old)
		}
		seen[foldKey(name)] = name
		switch {
		case d.IsDir():
			return nil
		case !d.Type().IsRegular():
			return fmt.Errorf("build: %w: %q is %v", ErrUnsafeEntryType, name, d.Type())
		}
		names = append(names, name)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	return names, nil
}

func fileHeader(name string, method uint16, mod time.Time) *zip.FileHeader {
	fh := &zip.FileHeader{Name: name, Method: method, Modified: mod.UTC()}
	fh.SetMode(0o644)
	return fh
}

func addFile(zw *zip.Writer, fsys fs.FS, name string, sample, copyBuf []byte, compress func(string, []byte) bool, mod time.Time) (string, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return "", err
	} else if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%w: %v", ErrUnsafeEntryType, fi.Mode())
	}
	n, err := io.ReadFull(f, sample)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return "", err
	}
	method := zip.Store
	if compress(name, sample[:n]) {
		method = zip.Deflate
	}
	w, err := zw.CreateHeader(fileHeader(name, method, mod))
	if err != nil {
		return "", err
	}
	h := sha256.New()
	mw := io.MultiWriter(w, h)
	if _, err := mw.Write(sample[:n]); err != nil {
		return "", err
	}
	if _, err := io.CopyBuffer(mw, f, copyBuf); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
