package storage

import (
	"cmp"
	"context"
	"errors"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"
)

// FS returns a read-only [fs.FS] view of the objects whose keys start with
// prefix + "/" (or of the whole store if prefix is "" or "."). A name in
// the view is the key with that prefix removed. Directories are not stored
// objects: they are synthesised from keys, so a directory exists while at
// least one key lies beneath it, and every directory reports a zero
// modification time.
//
// Like [os.DirFS], FS does not check prefix; if it is not a valid key,
// every method fails with an error matching [ErrInvalidKey]. The view
// implements [fs.ReadFileFS], [fs.ReadDirFS] and [fs.StatFS], and passes
// [testing/fstest.TestFS]. Files it opens implement [io.ReaderAt] and
// [io.Seeker]; reads are ranged, so opening a large object is cheap.
//
// Every call made through the view uses ctx, which is why FS takes one:
// the fs interfaces have no context parameter. Cancel ctx to abort a
// long read.
//
// If a backend holds both an object "a" and objects under "a/" (object
// stores allow that; file systems do not), the view shows the object and
// hides the directory.
func FS(ctx context.Context, s Store, prefix string) fs.FS {
	prefix = strings.TrimSuffix(prefix, "/")
	var err error
	switch {
	case prefix == "" || prefix == ".":
		prefix = ""
	default:
		err = ValidKey(prefix)
		prefix += "/"
	}
	return &storeFS{ctx: ctx, s: s, prefix: prefix, err: err}
}

type storeFS struct {
	ctx    context.Context
	s      Store
	prefix string // "" or ending in "/"
	err    error  // prefix error, returned by every method
}

var (
	_ fs.ReadFileFS = (*storeFS)(nil)
	_ fs.ReadDirFS  = (*storeFS)(nil)
	_ fs.StatFS     = (*storeFS)(nil)
)

// key returns the store key for a valid fs name other than ".".
func (f *storeFS) key(name string) string { return f.prefix + name }

func (f *storeFS) check(op, name string) error {
	if f.err != nil {
		return &fs.PathError{Op: op, Path: name, Err: f.err}
	}
	if !fs.ValidPath(name) {
		return &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	return nil
}

// stat resolves name to a file or a directory.
func (f *storeFS) stat(op, name string) (fileInfo, error) {
	if err := f.check(op, name); err != nil {
		return fileInfo{}, err
	}
	if name == "." {
		return fileInfo{name: ".", dir: true}, nil
	}
	key := f.key(name)
	oi, err := f.s.Stat(f.ctx, key)
	switch {
	case err == nil:
		return fileInfo{name: path.Base(name), size: oi.Size, modTime: oi.ModTime}, nil
	case errors.Is(err, ErrInvalidKey):
		// No object can have this name, nor anything beneath it.
		return fileInfo{}, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	case !errors.Is(err, ErrNotExist):
		return fileInfo{}, &fs.PathError{Op: op, Path: name, Err: err}
	}
	page, err := f.s.List(f.ctx, &ListOptions{Prefix: key + "/", PageSize: 1})
	if err != nil {
		return fileInfo{}, &fs.PathError{Op: op, Path: name, Err: err}
	}
	if len(page.Objects) == 0 && len(page.Prefixes) == 0 {
		return fileInfo{}, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	return fileInfo{name: path.Base(name), dir: true}, nil
}

// Open opens the named file or directory.
func (f *storeFS) Open(name string) (fs.File, error) {
	info, err := f.stat("open", name)
	if err != nil {
		return nil, err
	}
	if info.dir {
		return &dirFile{fsys: f, name: name, info: info}, nil
	}
	return &objFile{fsys: f, key: f.key(name), info: info}, nil
}

// Stat returns information about the named file or directory.
func (f *storeFS) Stat(name string) (fs.FileInfo, error) {
	info, err := f.stat("stat", name)
	if err != nil {
		return nil, err
	}
	return info, nil
}

// ReadFile reads the named file.
func (f *storeFS) ReadFile(name string) ([]byte, error) {
	if err := f.check("readfile", name); err != nil {
		return nil, err
	}
	if name == "." {
		return nil, &fs.PathError{Op: "readfile", Path: name, Err: errIsDir}
	}
	b, err := ReadAll(f.ctx, f.s, f.key(name))
	if err == nil {
		return b, nil
	}
	if errors.Is(err, ErrNotExist) || errors.Is(err, ErrInvalidKey) {
		// Either missing or a directory.
		if info, serr := f.stat("readfile", name); serr == nil && info.dir {
			return nil, &fs.PathError{Op: "readfile", Path: name, Err: errIsDir}
		}
		return nil, &fs.PathError{Op: "readfile", Path: name, Err: fs.ErrNotExist}
	}
	return nil, &fs.PathError{Op: "readfile", Path: name, Err: err}
}

// ReadDir reads the named directory, sorted by name.
func (f *storeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	info, err := f.stat("readdir", name)
	if err != nil {
		return nil, err
	}
	if !info.dir {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errNotDir}
	}
	return f.readDir(name)
}

var (
	errIsDir  = errors.New("is a directory")
	errNotDir = errors.New("not a directory")
)

// readDir lists the directory name (which exists), sorted by name.
func (f *storeFS) readDir(name string) ([]fs.DirEntry, error) {
	p := f.prefix
	if name != "." {
		p = f.key(name) + "/"
	}
	var entries []fs.DirEntry
	files := map[string]bool{}
	for page, err := range Pages(f.ctx, f.s, &ListOptions{Prefix: p, Delimiter: "/"}) {
		if err != nil {
			return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
		}
		for _, o := range page.Objects {
			n := strings.TrimPrefix(o.Key, p)
			files[n] = true
			entries = append(entries, fs.FileInfoToDirEntry(fileInfo{name: n, size: o.Size, modTime: o.ModTime}))
		}
		for _, d := range page.Prefixes {
			n := strings.TrimSuffix(strings.TrimPrefix(d, p), "/")
			if n == "" || strings.Contains(n, "/") {
				continue // not a child of this directory
			}
			entries = append(entries, fs.FileInfoToDirEntry(fileInfo{name: n, dir: true}))
		}
	}
	// A directory hidden by an object of the same name is dropped.
	entries = slices.DeleteFunc(entries, func(e fs.DirEntry) bool { return e.IsDir() && files[e.Name()] })
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return cmp.Compare(a.Name(), b.Name()) })
	return entries, nil
}

// fileInfo implements fs.FileInfo for objects and synthesised directories.
type fileInfo struct {
	name    string
	size    int64
	modTime time.Time
	dir     bool
}

func (i fileInfo) Name() string       { return i.name }
func (i fileInfo) Size() int64        { return i.size }
func (i fileInfo) ModTime() time.Time { return i.modTime }
func (i fileInfo) IsDir() bool        { return i.dir }
func (i fileInfo) Sys() any           { return nil }
func (i fileInfo) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o555
	}
	return 0o444
}

// objFile is an open object. It opens the object on first read; Read
// streams from the object while reads are sequential and falls back to
// ranged reads after a Seek.
type objFile struct {
	fsys   *storeFS
	key    string
	info   fileInfo
	r      Reader // nil until the first read
	off    int64  // file offset for Read and Seek
	rpos   int64  // offset of r's sequential stream
	closed bool
}

var (
	_ io.ReaderAt = (*objFile)(nil)
	_ io.Seeker   = (*objFile)(nil)
)

func (o *objFile) Stat() (fs.FileInfo, error) { return o.info, nil }

func (o *objFile) open(op string) error {
	if o.closed {
		return &fs.PathError{Op: op, Path: o.info.name, Err: fs.ErrClosed}
	}
	if o.r != nil {
		return nil
	}
	r, err := o.fsys.s.Get(o.fsys.ctx, o.key)
	if err != nil {
		return err
	}
	o.r = r
	return nil
}

func (o *objFile) Read(p []byte) (int, error) {
	if err := o.open("read"); err != nil {
		return 0, err
	}
	var n int
	var err error
	if o.off == o.rpos {
		n, err = o.r.Read(p)
		o.rpos += int64(n)
	} else {
		n, err = o.r.ReadAt(p, o.off)
		if err == io.EOF && n > 0 {
			err = nil
		}
	}
	o.off += int64(n)
	return n, err
}

func (o *objFile) ReadAt(p []byte, off int64) (int, error) {
	if err := o.open("read"); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, &fs.PathError{Op: "read", Path: o.info.name, Err: fs.ErrInvalid}
	}
	return o.r.ReadAt(p, off)
}

func (o *objFile) Seek(offset int64, whence int) (int64, error) {
	if o.closed {
		return 0, &fs.PathError{Op: "seek", Path: o.info.name, Err: fs.ErrClosed}
	}
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += o.off
	case io.SeekEnd:
		offset += o.info.size
	default:
		return 0, &fs.PathError{Op: "seek", Path: o.info.name, Err: fs.ErrInvalid}
	}
	if offset < 0 {
		return 0, &fs.PathError{Op: "seek", Path: o.info.name, Err: fs.ErrInvalid}
	}
	o.off = offset
	return offset, nil
}

func (o *objFile) Close() error {
	if o.closed {
		return &fs.PathError{Op: "close", Path: o.info.name, Err: fs.ErrClosed}
	}
	o.closed = true
	if o.r != nil {
		return o.r.Close()
	}
	return nil
}

// dirFile is an open synthesised directory.
type dirFile struct {
	fsys    *storeFS
	name    string
	info    fileInfo
	entries []fs.DirEntry // nil until the first ReadDir
	read    bool
	closed  bool
}

func (d *dirFile) Stat() (fs.FileInfo, error) { return d.info, nil }

func (d *dirFile) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.name, Err: errIsDir}
}

func (d *dirFile) Close() error {
	if d.closed {
		return &fs.PathError{Op: "close", Path: d.name, Err: fs.ErrClosed}
	}
	d.closed = true
	return nil
}

// ReadDir lists the directory. The first call lists it completely.
func (d *dirFile) ReadDir(n int) ([]fs.DirEntry, error) {
	if d.closed {
		return nil, &fs.PathError{Op: "readdir", Path: d.name, Err: fs.ErrClosed}
	}
	if !d.read {
		entries, err := d.fsys.readDir(d.name)
		if err != nil {
			return nil, err
		}
		d.entries, d.read = entries, true
	}
	if n <= 0 {
		out := d.entries
		d.entries = nil
		return out, nil
	}
	if len(d.entries) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(d.entries))
	out := d.entries[:n:n]
	d.entries = d.entries[n:]
	return out, nil
}
