package modelpkg

import (
	"archive/zip"
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/flate"
)

// maxExtraPerEntry is the central directory space allowed per entry for
// extra fields and comments (zip64 and timestamp fields need under 64).
const maxExtraPerEntry = 1024

// OpenOptions configures [Open] and [OpenFile]. The zero value (or nil)
// means default limits and the default layout.
type OpenOptions struct {
	// Limits bounds the package; nil means [DefaultLimits].
	Limits *Limits
	// Layout names the manifest and metadata files; nil means
	// [DefaultLayout]. Open does not check for required files; that
	// is the validate package's job.
	Layout *Layout
}

// Package is an opened, structurally checked model package. It
// implements fs.FS, fs.ReadDirFS, fs.ReadFileFS and fs.StatFS over the
// package's files; directories that the archive implies but does not list
// are synthesized. A Package is safe for concurrent use.
type Package struct {
	ra       io.ReaderAt
	closer   io.Closer
	zr       *zip.Reader
	limits   Limits
	layout   Layout
	entries  map[string]*entry // every file and directory, by name; "." is the root
	files    []*entry          // regular files, sorted by name
	warnings []Warning         // entries deliberately ignored or renamed, and why
	flate    sync.Pool         // of *inflater
}

// entry is one file or directory of a package.
type entry struct {
	name     string // canonical, without a trailing slash; "." for the root
	isDir    bool
	dataOff  int64
	csize    int64
	usize    int64
	method   uint16
	crc      uint32
	modTime  time.Time
	children []*entry // of a directory, sorted by name
}

// Entry describes one file of a package, as [Package.Files] lists it.
type Entry struct {
	// Name is the file's canonical slash-separated path.
	Name string
	// Size is the uncompressed size the archive declares. It is
	// informational: reads enforce it and the limits on real bytes.
	Size int64
	// CompressedSize is the size of the stored data.
	CompressedSize int64
	// Deflated reports whether the file is compressed (otherwise stored).
	Deflated bool
}

// OpenFile opens the package file at name; see [Open]. Closing the
// Package closes the file.
func OpenFile(name string, opts *OpenOptions) (*Package, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	p, err := Open(f, fi.Size(), opts)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	p.closer = f
	return p, nil
}

// Open reads the ZIP archive of the given size from r and checks its
// whole structure before returning; r must stay usable until Close. It
// rejects, with an error naming the entry:
//
//   - names that are not canonical, safe relative paths (invalid UTF-8,
//     NUL or control characters, absolute, drive letter, backslash, colon,
//     "." or ".." or empty elements, trailing dots or spaces, Windows
//     device names, 8.3 short names), or that exceed MaxNameLen or
//     MaxDepth: [ErrUnsafePath];
//   - entries that are not regular files or directories according to
//     their Unix mode bits (whatever the host) or MS-DOS attributes
//     (symlinks, reparse points, devices, FIFOs, sockets), or whose mode
//     disagrees with their name: [ErrUnsafeEntryType];
//   - the same name twice, names equal under Unicode NFC, NTFS
//     upper-casing or case folding, and a name used both as a file and as
//     a directory: [ErrDuplicateEntry];
//   - encrypted entries, methods other than store and deflate, a zip64
//     end record that disagrees with the 32-bit one, a central directory
//     its headers do not fill exactly, local headers or data descriptors
//     that disagree with the central directory, Unicode Path fields naming
//     another file, entries whose bytes overlap each other or the central
//     directory, data before the first entry, between entries or after the
//     end record, multi-disk archives, and anything archive/zip rejects:
//     [ErrInvalidArchive];
//   - more than MaxEntries entries, a central directory larger than they
//     need, declared sizes or ratios above the limits: [ErrResourceLimit].
//
// A leading "./" in names is dropped, and macOS AppleDouble entries under
// __MACOSX/ are ignored (see [Package.Warnings]).
//
// Reads through the returned Package enforce the limits again on the
// bytes they actually produce, and check each file's size and CRC-32.
func Open(r io.ReaderAt, size int64, opts *OpenOptions) (*Package, error) {
	if opts == nil {
		opts = &OpenOptions{}
	}
	p := &Package{ra: r, limits: opts.Limits.resolve(), layout: opts.Layout.resolve()}
	if size < 0 {
		return nil, archiveErr("negative size")
	}
	dir, err := readDirectoryEnd(r, size)
	if err != nil {
		return nil, err
	}
	if dir.records > uint64(p.limits.MaxEntries) {
		return nil, fmt.Errorf("%w: %d entries, the limit is %d", ErrResourceLimit, dir.records, p.limits.MaxEntries)
	}
	// Bound the central directory before anything parses it, so that
	// neither archive/zip nor readCentral allocates more than a small
	// multiple of what MaxEntries and MaxNameLen allow.
	if maxCD := int64(dir.records)*int64(centralLen+p.limits.MaxNameLen+maxExtraPerEntry) + 64<<10; dir.size > maxCD {
		return nil, fmt.Errorf("%w: central directory of %d bytes for %d entries (at most %d)", ErrResourceLimit, dir.size, dir.records, maxCD)
	}
	central, err := readCentral(r, dir)
	if err != nil {
		return nil, err
	}
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, archiveErr("%v", err)
	}
	zr.RegisterDecompressor(zip.Deflate, func(r io.Reader) io.ReadCloser { return flate.NewReader(r) })
	p.zr = zr
	if len(central) != len(zr.File) {
		return nil, archiveErr("central directory has %d entries, archive/zip read %d", len(central), len(zr.File))
	}
	if err := p.index(central, dir); err != nil {
		return nil, err
	}
	return p, nil
}

// index checks every entry and builds the file tree.
func (p *Package) index(central []rawCentral, dir *directory) error {
	root := &entry{name: ".", isDir: true}
	p.entries = map[string]*entry{".": root}
	folded := map[string]*entry{".": root}
	spans := make([]span, 0, len(central))
	explicitDirs := map[string]bool{}
	var total int64
	var appleDouble, dotSlash []string
	for i := range central {
		c := &central[i]
		zf := p.zr.File[i]
		name := string(c.name)
		if zf.Name != name || zf.CompressedSize64 != c.csize || zf.UncompressedSize64 != c.usize || zf.Method != c.method {
			return archiveErr("entry %q: archive/zip and this package disagree on the central directory", name)
		}
		if len(name) > p.limits.MaxNameLen {
			return fmt.Errorf("%w: entry %.64q...: name longer than %d bytes", ErrUnsafePath, name, p.limits.MaxNameLen)
		}
		isDir := strings.HasSuffix(name, "/")
		clean, err := canonicalName(c, name)
		if err != nil {
			return err
		}
		if d := strings.Count(clean, "/") + 1; d > p.limits.MaxDepth {
			return fmt.Errorf("%w: entry %q: %d path elements, the limit is %d", ErrUnsafePath, name, d, p.limits.MaxDepth)
		}
		if err := checkEntryType(zf, c, isDir); err != nil {
			return err
		}
		if c.flags&(flagEncrypted|flagStrongEnc|flagMaskedCD) != 0 {
			return archiveErr("entry %q: encrypted", name)
		}
		if c.method != zip.Store && c.method != zip.Deflate {
			return archiveErr("entry %q: compression method %d (only store and deflate are allowed)", name, c.method)
		}
		if c.csize > 1<<62 || c.usize > 1<<62 {
			return archiveErr("entry %q: size out of range", name)
		}
		csize, usize := int64(c.csize), int64(c.usize)
		if c.method == zip.Store && csize != usize {
			return archiveErr("entry %q: stored with compressed size %d but size %d", name, csize, usize)
		}
		if isDir && usize != 0 {
			return archiveErr("entry %q: directory with %d bytes of data", name, usize)
		}
		if usize > p.limits.MaxFileSize {
			return fmt.Errorf("%w: entry %q: declared size %d exceeds the %d-byte limit", ErrResourceLimit, name, usize, p.limits.MaxFileSize)
		}
		if total += usize; total > p.limits.MaxTotalSize {
			return fmt.Errorf("%w: entry %q: declared sizes exceed the %d-byte total limit", ErrResourceLimit, name, p.limits.MaxTotalSize)
		}
		if !p.limits.ratioOK(usize, csize) {
			return fmt.Errorf("%w: entry %q: declared compression ratio %d:%d exceeds %d:1", ErrResourceLimit, name, usize, csize, p.limits.MaxRatio)
		}
		li, err := checkLocal(p.ra, c, name)
		if err != nil {
			return err
		}
		if zoff, err := zf.DataOffset(); err != nil || zoff != li.dataOff {
			return archiveErr("entry %q: archive/zip and this package disagree on the data offset", name)
		}
		if li.dataEnd > dir.offset {
			return archiveErr("entry %q: data (bytes %d-%d) overlaps the central directory at %d", name, c.headerOffset, li.dataEnd, dir.offset)
		}
		spans = append(spans, span{start: c.headerOffset, end: li.dataEnd, name: name, index: i})

		if clean != "." && strings.HasPrefix(name, "./") {
			dotSlash = append(dotSlash, name)
		}
		switch {
		case clean == ".":
			continue // "./", the root itself (bsdtar)
		case isAppleDouble(clean, isDir):
			if !isDir {
				appleDouble = append(appleDouble, clean)
			}
			continue
		}
		e := &entry{name: clean, isDir: isDir, dataOff: li.dataOff, csize: csize, usize: usize,
			method: c.method, crc: c.crc, modTime: zf.Modified}
		if err := p.insert(e, folded, explicitDirs); err != nil {
			return err
		}
	}
	if err := checkLayout(p.ra, spans, central, dir.offset); err != nil {
		return err
	}
	if len(appleDouble) > 0 {
		p.warnings = append(p.warnings, Warning{Code: ErrIgnoredEntry, Message: fmt.Sprintf("ignored %d macOS AppleDouble metadata entries under %s (%s...)",
			len(appleDouble), macOSXDir, appleDouble[0])})
	}
	if len(dotSlash) > 0 {
		p.warnings = append(p.warnings, Warning{Code: ErrNormalizedName, Message: fmt.Sprintf("dropped the leading ./ of %d entry names (bsdtar), e.g. %q is %s",
			len(dotSlash), dotSlash[0], strings.TrimPrefix(strings.TrimSuffix(dotSlash[0], "/"), "./"))})
	}
	for _, e := range p.entries {
		if e.isDir {
			slices.SortFunc(e.children, func(a, b *entry) int { return strings.Compare(a.name, b.name) })
		} else {
			p.files = append(p.files, e)
		}
	}
	slices.SortFunc(p.files, func(a, b *entry) int { return strings.Compare(a.name, b.name) })
	return nil
}

// macOSXDir is where macOS Finder and ditto put AppleDouble files
// (resource forks and extended attributes) of the files they compress.
const macOSXDir = "__MACOSX/"

// isAppleDouble reports whether clean names a directory under __MACOSX/
// or an AppleDouble file ("._" + a file name) there. Such entries are
// checked like any other but not part of the package.
func isAppleDouble(clean string, isDir bool) bool {
	rest, ok := strings.CutPrefix(clean+"/", macOSXDir)
	if !ok {
		return false
	}
	return isDir || strings.HasPrefix(path.Base(strings.TrimSuffix(rest, "/")), "._")
}

// canonicalName returns the canonical name of a central directory entry,
// without a trailing slash: "." for "./" and without a leading "./" (bsdtar
// writes those, and every extractor drops them), or an [ErrUnsafePath]
// error.
func canonicalName(c *rawCentral, name string) (string, error) {
	clean := strings.TrimSuffix(name, "/")
	if clean == "." {
		return ".", nil
	}
	clean = strings.TrimPrefix(clean, "./")
	if prob := pathProblem(clean); prob != "" {
		if prob == "backslash" && c.creator>>8 != creatorUnix && c.creator>>8 != creatorMacOSX {
			// PowerShell 5.1's Compress-Archive. Python's zipfile
			// on Linux and macOS reads such a name as one file
			// name, unzip as a path: readers disagree.
			return "", fmt.Errorf("%w: entry %q: backslash path separators (PowerShell 5.1 Compress-Archive): "+
				"re-pack with modelctl pack, PowerShell 7 Compress-Archive or tar.exe -a -c -f", ErrUnsafePath, name)
		}
		return "", fmt.Errorf("%w: entry %q: %s", ErrUnsafePath, name, prob)
	}
	return clean, nil
}

// insert adds e and its implied parent directories to the tree, rejecting
// duplicates (exact, or equal after NFC and case folding) and names used
// both as a file and as a directory.
func (p *Package) insert(e *entry, folded map[string]*entry, explicitDirs map[string]bool) error {
	key := foldKey(e.name)
	if old, ok := folded[key]; ok {
		switch {
		case old.name != e.name:
			return fmt.Errorf("%w: entry %q collides with %q (case or Unicode normalization)", ErrDuplicateEntry, e.name, old.name)
		case !old.isDir || !e.isDir:
			if old.isDir != e.isDir {
				return fmt.Errorf("%w: %q is both a file and a directory", ErrDuplicateEntry, e.name)
			}
			return fmt.Errorf("%w: entry %q appears twice", ErrDuplicateEntry, e.name)
		case explicitDirs[e.name]:
			return fmt.Errorf("%w: directory entry %q appears twice", ErrDuplicateEntry, e.name+"/")
		}
		// An explicit directory entry for a directory seen implicitly.
		explicitDirs[e.name] = true
		old.modTime = e.modTime
		return nil
	}
	if e.isDir {
		explicitDirs[e.name] = true
	}
	folded[key] = e
	p.entries[e.name] = e
	// Attach to the parent, creating implied directories.
	child := e
	for {
		parentName := path.Dir(child.name)
		pkey := "."
		if parentName != "." {
			pkey = foldKey(parentName)
		}
		parent, ok := folded[pkey]
		if ok {
			if parent.name != parentName {
				return fmt.Errorf("%w: directory %q collides with %q (case or Unicode normalization)", ErrDuplicateEntry, parentName, parent.name)
			}
			if !parent.isDir {
				return fmt.Errorf("%w: %q is both a file and a directory", ErrDuplicateEntry, parentName)
			}
			parent.children = append(parent.children, child)
			return nil
		}
		parent = &entry{name: parentName, isDir: true}
		folded[pkey] = parent
		p.entries[parentName] = parent
		parent.children = append(parent.children, child)
		child = parent
	}
}

// Hosts in the "version made by" field of a central header.
const (
	creatorFAT    = 0
	creatorUnix   = 3
	creatorNTFS   = 10
	creatorVFAT   = 14
	creatorMacOSX = 19
)

// MS-DOS attribute bits of the low byte of the external attributes.
const (
	dosDirectory    = 0x10
	dosReparsePoint = 0x400
)

// checkEntryType accepts regular files and directories only, judged by
// archive/zip's reading of the mode and by the raw attributes: Unix mode
// bits are checked whatever host the entry claims (unzip and others honour
// them for hosts archive/zip ignores), and MS-DOS attributes for the hosts
// that use them.
func checkEntryType(zf *zip.File, c *rawCentral, isDir bool) error {
	mode := zf.Mode()
	if mode.Type()&^fs.ModeDir != 0 {
		return fmt.Errorf("%w: entry %q has mode %v", ErrUnsafeEntryType, zf.Name, mode)
	}
	switch ifmt := c.external >> 16 & 0o170000; ifmt {
	case 0, 0o100000: // unspecified (Python's writestr, MS-DOS hosts), regular
		if ifmt != 0 && isDir {
			return fmt.Errorf("%w: directory entry %q has the mode of a regular file", ErrUnsafeEntryType, zf.Name)
		}
	case 0o040000: // directory
		if !isDir {
			return fmt.Errorf("%w: file entry %q has the mode of a directory", ErrUnsafeEntryType, zf.Name)
		}
	default:
		return fmt.Errorf("%w: entry %q has file type %#o", ErrUnsafeEntryType, zf.Name, ifmt)
	}
	switch c.creator >> 8 {
	case creatorFAT, creatorNTFS, creatorVFAT:
		if c.external&dosReparsePoint != 0 {
			return fmt.Errorf("%w: entry %q is a reparse point (a link)", ErrUnsafeEntryType, zf.Name)
		}
		if c.external&dosDirectory != 0 && !isDir {
			return fmt.Errorf("%w: file entry %q has the attributes of a directory", ErrUnsafeEntryType, zf.Name)
		}
	}
	if mode.IsDir() != isDir {
		return fmt.Errorf("%w: file entry %q has the mode of a directory", ErrUnsafeEntryType, zf.Name)
	}
	return nil
}

// Close closes the underlying file if the package was opened with
// [OpenFile]; otherwise it does nothing.
func (p *Package) Close() error {
	if p.closer != nil {
		return p.closer.Close()
	}
	return nil
}

// Layout returns a copy of the layout the package was opened with.
func (p *Package) Layout() *Layout {
	l := p.layout
	l.Required = slices.Clone(l.Required)
	return &l
}

// Warnings lists what Open deliberately ignored or changed, such as the
// AppleDouble entries macOS adds under __MACOSX/ and the leading "./" of
// bsdtar's names; nil if nothing. [Package.CodedWarnings] gives the same
// with their codes.
func (p *Package) Warnings() []string {
	var out []string
	for _, w := range p.warnings {
		out = append(out, w.Message)
	}
	return out
}

// Warning is something Open accepted but ignored or changed: not a
// rejection, but worth telling whoever imports the package.
type Warning struct {
	// Code is the warning's sentinel: [ErrIgnoredEntry] or
	// [ErrNormalizedName] (see [Code]).
	Code error
	// Message says what was ignored or changed.
	Message string
}

// CodedWarnings is [Package.Warnings] with each warning's code, for
// reports (a validate.Report's warning findings) and the registry, which
// keeps them with the version.
func (p *Package) CodedWarnings() []Warning { return slices.Clone(p.warnings) }

// Files lists the package's regular files, sorted by name.
func (p *Package) Files() []Entry {
	out := make([]Entry, len(p.files))
	for i, e := range p.files {
		out[i] = Entry{Name: e.name, Size: e.usize, CompressedSize: e.csize, Deflated: e.method == zip.Deflate}
	}
	return out
}

// ReadManifest reads and parses the package's manifest (named by the
// layout), bounded by the package's limits. A package without one gives
// an error wrapping [ErrMissingFile]; see [ParseManifest] for the others.
func (p *Package) ReadManifest() (*Manifest, error) {
	rc, err := p.openNamed(p.layout.ManifestFile)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return ParseManifest(rc, &p.limits)
}

// ReadMetadata reads and parses the package's metadata file (named by the
// layout). A package without one gives an error wrapping
// [ErrMissingFile]; see [ParseMetadata] for the others.
func (p *Package) ReadMetadata() (*Metadata, error) {
	rc, err := p.openNamed(p.layout.MetadataFile)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return ParseMetadata(rc, &p.limits)
}

func (p *Package) openNamed(name string) (io.ReadCloser, error) {
	e, ok := p.entries[name]
	if !ok || e.isDir {
		return nil, fmt.Errorf("%w: %s", ErrMissingFile, name)
	}
	return p.newEntryReader(e, &p.limits, nil), nil
}

// inflater is a pooled deflate decompressor with its input buffer.
type inflater struct {
	br *bufio.Reader
	fr io.ReadCloser
}

func (p *Package) getInflater(src io.Reader) *inflater {
	if f, ok := p.flate.Get().(*inflater); ok {
		f.br.Reset(src)
		f.fr.(flate.Resetter).Reset(f.br, nil)
		return f
	}
	br := bufio.NewReaderSize(src, 64<<10)
	return &inflater{br: br, fr: flate.NewReader(br)}
}

func (p *Package) putInflater(f *inflater) {
	f.br.Reset(nil)
	p.flate.Put(f)
}
