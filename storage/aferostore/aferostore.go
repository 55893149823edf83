package aferostore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"sync"
	"syscall"

	"github.com/spf13/afero"

	"github.com/modelvault/modelvault/internal/ctxio"
	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/storage/internal/fslist"
)

// Options configures [New]. A nil *Options is the zero value.
type Options struct {
	// NoSync skips the Sync of each written file before it is renamed
	// into place. (MemMapFs's Sync does nothing anyway.)
	NoSync bool
}

// Store is a [storage.Store] over an [afero.Fs]. Create one with [New].
// Its checks and write contract are [storage.Portable]'s; the methods
// below document what the file system adds.
type Store struct {
	p *storage.Portable
}

// driver is the [storage.Driver] over the file system.
type driver struct {
	fs     afero.Fs
	iofs   fs.FS
	noSync bool

	// mu serialises changes to the namespace: creating temporary files
	// (and their directories), publishing, conditional creates and
	// deletes with directory pruning.
	mu sync.Mutex
}

var _ storage.Store = (*Store)(nil)

// New returns a store over fsys. Keys are used as relative paths, so
// fsys should be rooted where the store lives (MemMapFs, or a BasePathFs).
func New(fsys afero.Fs, opts *Options) *Store {
	if opts == nil {
		opts = &Options{}
	}
	d := &driver{fs: fsys, iofs: afero.NewIOFS(fsys), noSync: opts.NoSync}
	return &Store{p: storage.NewPortable(d, nil)}
}

// Get opens the object at key.
func (s *Store) Get(ctx context.Context, key string) (storage.Reader, error) {
	return s.p.Get(ctx, key)
}

// Stat returns the size and modification time of the object at key.
func (s *Store) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	return s.p.Stat(ctx, key)
}

// List lists objects in lexical key order; temporary files are skipped.
// The page token is the last key or prefix of the previous page.
func (s *Store) List(ctx context.Context, opts *storage.ListOptions) (*storage.ListPage, error) {
	return s.p.List(ctx, opts)
}

// Put writes r to a temporary file next to key and renames it into place.
// With IfNotExist, the existence check and the rename happen under a
// mutex of the Store (see the package documentation for the scope of
// that).
func (s *Store) Put(ctx context.Context, key string, r io.Reader, opts *storage.PutOptions) error {
	return s.p.Put(ctx, key, r, opts)
}

// Delete removes the object at key and prunes directories that became
// empty. Deleting a missing key succeeds.
func (s *Store) Delete(ctx context.Context, key string) error {
	return s.p.Delete(ctx, key)
}

func pathErr(op, key string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	if errors.Is(err, afero.ErrFileNotFound) {
		err = fs.ErrNotExist
	}
	return &fs.PathError{Op: op, Path: key, Err: err}
}

// statObject returns the info of the regular file at key, or an error
// matching fs.ErrNotExist (also when a path element is a file).
func (s *driver) statObject(key string) (fs.FileInfo, error) {
	info, err := s.fs.Stat(key)
	if err != nil {
		if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, afero.ErrFileNotFound) {
			err = fs.ErrNotExist
		}
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fs.ErrNotExist
	}
	return info, nil
}

// reader serialises calls on an afero.File.
type reader struct {
	mu   sync.Mutex
	f    afero.File
	size int64
}

func (r *reader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.f.Read(p)
}

func (r *reader) ReadAt(p []byte, off int64) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if off >= r.size {
		return 0, io.EOF // MemMapFs answers io.ErrUnexpectedEOF past the end
	}
	n, err := r.f.ReadAt(p, off)
	if err == nil && n < len(p) {
		err = io.EOF
	}
	return n, err
}

func (r *reader) Close() error { return r.f.Close() }
func (r *reader) Size() int64  { return r.size }

func (s *driver) Get(ctx context.Context, key string) (storage.Reader, error) {
	f, err := s.fs.Open(key)
	if err != nil {
		if errors.Is(err, syscall.ENOTDIR) {
			err = fs.ErrNotExist
		}
		return nil, pathErr("get", key, err)
	}
	info, err := f.Stat()
	if err == nil && !info.Mode().IsRegular() {
		err = fs.ErrNotExist
	}
	if err != nil {
		f.Close()
		return nil, pathErr("get", key, err)
	}
	return &reader{f: f, size: info.Size()}, nil
}

func (s *driver) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	info, err := s.statObject(key)
	if err != nil {
		return storage.ObjectInfo{}, pathErr("stat", key, err)
	}
	return storage.ObjectInfo{Key: key, Size: info.Size(), ModTime: info.ModTime()}, nil
}

func (s *driver) List(ctx context.Context, opts *storage.ListOptions) (*storage.ListPage, error) {
	page, err := fslist.List(ctx, s.iofs, opts)
	if err != nil {
		prefix := ""
		if opts != nil {
			prefix = opts.Prefix
		}
		return nil, pathErr("list", prefix, err)
	}
	return page, nil
}

func (s *driver) Put(ctx context.Context, key string, r io.Reader, opts *storage.PutOptions) error {
	tmp, f, err := s.createTemp(path.Dir(key))
	if err != nil {
		return pathErr("put", key, err)
	}
	err = s.write(ctx, f, r)
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		err = s.publish(tmp, key, opts.IfNotExist)
	}
	if err != nil {
		s.fs.Remove(tmp)
		return pathErr("put", key, err)
	}
	return nil
}

func (s *driver) createTemp(dir string) (string, afero.File, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if dir != "." {
		if info, err := s.fs.Stat(dir); err == nil && !info.IsDir() {
			return "", nil, syscall.ENOTDIR
		}
		if err := s.fs.MkdirAll(dir, 0o755); err != nil {
			return "", nil, err
		}
	}
	var b [12]byte
	rand.Read(b[:])
	tmp := path.Join(dir, storage.ReservedPrefix+hex.EncodeToString(b[:]))
	f, err := s.fs.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", nil, err
	}
	return tmp, f, nil
}

func (s *driver) write(ctx context.Context, f afero.File, r io.Reader) error {
	buf := make([]byte, 256<<10)
	_, err := io.CopyBuffer(onlyWriter{f}, ctxio.Reader(ctx, r), buf)
	if err == nil && !s.noSync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// onlyWriter hides an afero.File's ReadFrom, so that the copy uses our
// context-checking reader and buffer.
type onlyWriter struct{ w io.Writer }

func (o onlyWriter) Write(p []byte) (int, error) { return o.w.Write(p) }

func (s *driver) publish(tmp, key string, ifNotExist bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	info, err := s.fs.Stat(key)
	switch {
	case err == nil && (ifNotExist || info.IsDir()):
		// A directory counts as existing, as link(2) would say.
		if !ifNotExist {
			return syscall.EISDIR
		}
		return fs.ErrExist
	case err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, afero.ErrFileNotFound):
		return err
	}
	return s.fs.Rename(tmp, key)
}

func (s *driver) Delete(ctx context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.statObject(key); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return pathErr("delete", key, err)
	}
	if err := s.fs.Remove(key); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return pathErr("delete", key, err)
	}
	// MemMapFs removes non-empty directories, so check first; the mutex
	// keeps puts from adding files meanwhile.
	for dir := path.Dir(key); dir != "."; dir = path.Dir(dir) {
		names, err := readDirNames(s.fs, dir)
		if err != nil || len(names) > 0 || s.fs.Remove(dir) != nil {
			break
		}
	}
	return nil
}

func readDirNames(fsys afero.Fs, dir string) ([]string, error) {
	f, err := fsys.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}
