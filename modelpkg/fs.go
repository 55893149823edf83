package modelpkg

import (
	"io"
	"io/fs"
	"path"
	"time"
)

var (
	_ fs.FS         = (*Package)(nil)
	_ fs.ReadDirFS  = (*Package)(nil)
	_ fs.ReadFileFS = (*Package)(nil)
	_ fs.StatFS     = (*Package)(nil)
)

func (p *Package) lookup(op, name string) (*entry, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	e, ok := p.entries[name]
	if !ok {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	return e, nil
}

// Open opens the named file or directory for reading, as fs.FS
// requires. Reading a file decompresses it on the fly, enforcing the
// package's limits on the bytes produced and checking its size and CRC-32
// at the end; such failures wrap [ErrResourceLimit] or [ErrInvalidArchive].
func (p *Package) Open(name string) (fs.File, error) {
	e, err := p.lookup("open", name)
	if err != nil {
		return nil, err
	}
	if e.isDir {
		return &dirFile{e: e}, nil
	}
	return &file{e: e, r: p.newEntryReader(e, &p.limits, nil)}, nil
}

// ReadDir lists the named directory, sorted by name.
func (p *Package) ReadDir(name string) ([]fs.DirEntry, error) {
	e, err := p.lookup("readdir", name)
	if err != nil {
		return nil, err
	}
	if !e.isDir {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrInvalid}
	}
	out := make([]fs.DirEntry, len(e.children))
	for i, c := range e.children {
		out[i] = info{c}
	}
	return out, nil
}

// Stat describes the named file or directory.
func (p *Package) Stat(name string) (fs.FileInfo, error) {
	e, err := p.lookup("stat", name)
	if err != nil {
		return nil, err
	}
	return info{e}, nil
}

// ReadFile reads the named file. Unlike fs.ReadFile's default, it never
// sizes a buffer from the declared size; the buffer grows with the bytes
// actually produced.
func (p *Package) ReadFile(name string) ([]byte, error) {
	f, err := p.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, ok := f.(*dirFile); ok {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrInvalid}
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	return data, nil
}

// info is both the fs.FileInfo and the fs.DirEntry of an entry.
type info struct{ e *entry }

func (i info) Name() string {
	if i.e.name == "." {
		return "."
	}
	return path.Base(i.e.name)
}

func (i info) Size() int64 {
	if i.e.isDir {
		return 0
	}
	return i.e.usize
}

func (i info) Mode() fs.FileMode {
	if i.e.isDir {
		return fs.ModeDir | 0o555
	}
	return 0o444
}

func (i info) Type() fs.FileMode              { return i.Mode().Type() }
func (i info) ModTime() time.Time             { return i.e.modTime }
func (i info) IsDir() bool                    { return i.e.isDir }
func (i info) Sys() any                       { return nil }
func (i info) Info() (fs.FileInfo, error)     { return i, nil }
func (i info) String() string                 { return fs.FormatFileInfo(i) }
func (f *file) Stat() (fs.FileInfo, error)    { return info{f.e}, nil }
func (f *file) Read(b []byte) (int, error)    { return f.r.Read(b) }
func (f *file) Close() error                  { return f.r.Close() }
func (d *dirFile) Stat() (fs.FileInfo, error) { return info{d.e}, nil }
func (d *dirFile) Close() error               { return nil }
func (d *dirFile) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.e.name, Err: fs.ErrInvalid}
}

type file struct {
	e *entry
	r *entryReader
}

type dirFile struct {
	e   *entry
	off int
}

// ReadDir implements fs.ReadDirFile.
func (d *dirFile) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.e.children[d.off:]
	if n > 0 && len(rest) == 0 {
		return nil, io.EOF
	}
	if n > 0 && n < len(rest) {
		rest = rest[:n]
	}
	d.off += len(rest)
	out := make([]fs.DirEntry, len(rest))
	for i, c := range rest {
		out[i] = info{c}
	}
	return out, nil
}
