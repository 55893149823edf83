package diskstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/modelvault/modelvault/internal/ctxio"
	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/storage/internal/fslist"
)

// Options configures [Open]. A nil *Options is the zero value.
type Options struct {
	// NoSync turns off fsync of files and directories. Puts are still
	// atomic for readers, but a crash may lose or truncate recent ones.
	// Use it only for stores that can be thrown away.
	NoSync bool
	// DirPerm and FilePerm are the permissions of created directories
	// and files, before the umask. Zero means 0o755 and 0o644.
	DirPerm, FilePerm fs.FileMode
}

// Store is a [storage.Store] over a local directory. Create one with
// [Open]; close it with [Store.Close]. Its checks and write contract are
// [storage.Portable]'s; the methods below document what the directory
// adds.
type Store struct {
	p *storage.Portable
	d *driver
}

// driver is the [storage.Driver] over the directory.
type driver struct {
	root     *os.Root
	dir      string // absolute path of the root directory
	noSync   bool
	dirPerm  fs.FileMode
	filePerm fs.FileMode

	removeHook func(tmp string) // for tests; nil removes
	syncHook   func(dir string) // for tests: called before each directory fsync
	dirs       fslist.DirCache  // names of large directories being paged
	bufs       sync.Pool        // *[]byte of writeBufSize: a put's copy buffer

	pendingMu sync.Mutex             // held across a mkdir and its entry here
	pending   map[string]*pendingDir // directories created, entries not yet durable
}

var _ storage.Store = (*Store)(nil)

// Open opens the directory dir as a store, creating it (and its parents)
// if it does not exist.
func Open(dir string, opts *Options) (*Store, error) {
	if opts == nil {
		opts = &Options{}
	}
	s := &driver{noSync: opts.NoSync, dirPerm: opts.DirPerm, filePerm: opts.FilePerm}
	s.bufs.New = func() any { b := make([]byte, writeBufSize); return &b }
	if s.dirPerm == 0 {
		s.dirPerm = 0o755
	}
	if s.filePerm == 0 {
		s.filePerm = 0o644
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, s.dirPerm); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, err
	}
	s.root, s.dir = root, abs
	return &Store{p: storage.NewPortable(s, nil), d: s}, nil
}

// Close releases the directory. Readers already open stay usable.
func (s *Store) Close() error { return s.d.root.Close() }

// Dir returns the absolute path of the store's directory.
func (s *Store) Dir() string { return s.d.dir }

func (s *Store) Get(ctx context.Context, key string) (storage.Reader, error) {
	return s.p.Get(ctx, key)
}

func (s *Store) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	return s.p.Stat(ctx, key)
}

// List lists objects in lexical key order. Temporary files are skipped.
// The page token is the last key or prefix of the previous page; each
// page reads only the directories at and after it.
func (s *Store) List(ctx context.Context, opts *storage.ListOptions) (*storage.ListPage, error) {
	return s.p.List(ctx, opts)
}

func (s *Store) Delete(ctx context.Context, key string) error {
	return s.p.Delete(ctx, key)
}

// Put writes r to a temporary file next to key, fsyncs it and publishes it
// by rename (replacing any object at key) or, with IfNotExist, by hard
// link, so that exactly one of many concurrent creators wins. If r fails
// or ctx ends before r is read, the temporary file is removed and nothing
// changes. Once published, the object stays: failing to remove the
// temporary name afterwards is not a failed put (see [Store.Clean]).
func (s *Store) Put(ctx context.Context, key string, r io.Reader, opts *storage.PutOptions) error {
	return s.p.Put(ctx, key, r, opts)
}

// ConditionalCreates reports true: a put with IfNotExist publishes its
// file with link(2), which fails with EEXIST when the key exists and
// never replaces it, so [storage.CheckConditionalCreate] needs no probe
// (see [storage.ConditionalCreator]). It is what saves registry.Open
// its probe writes and their fsyncs on a directory.
func (s *Store) ConditionalCreates() bool { return true }

// LocalPath returns the file name of the object at key, for loaders that
// need one. The object must exist ([storage.ErrNotExist] otherwise). The
// path is not protected by the root (see the package documentation), and
// the file must not be modified: it is the stored object.
func (s *Store) LocalPath(key string) (string, error) {
	if _, err := s.Stat(context.Background(), key); err != nil {
		return "", err
	}
	return filepath.Join(s.d.dir, filepath.FromSlash(key)), nil
}

func pathErr(op, key string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err // drop the root-relative path; Path is the key
	}
	return &fs.PathError{Op: op, Path: key, Err: err}
}

// reader is the storage.Reader of an open file.
type reader struct {
	f    *os.File
	size int64
}

func (r *reader) Read(p []byte) (int, error)              { return r.f.Read(p) }
func (r *reader) ReadAt(p []byte, off int64) (int, error) { return r.f.ReadAt(p, off) }
func (r *reader) Seek(off int64, whence int) (int64, error) {
	return r.f.Seek(off, whence)
}
func (r *reader) WriteTo(w io.Writer) (int64, error) { return r.f.WriteTo(w) }
func (r *reader) Close() error                       { return r.f.Close() }
func (r *reader) Size() int64                        { return r.size }

func (s *driver) Get(ctx context.Context, key string) (storage.Reader, error) {
	f, err := s.root.Open(key)
	if err != nil {
		return nil, pathErr("get", key, notExist(err))
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

// notExist maps "a path element is a file" to ErrNotExist: key "a/b" is
// missing when "a" is an object.
func notExist(err error) error {
	if errors.Is(err, syscall.ENOTDIR) {
		return fs.ErrNotExist
	}
	return err
}

func (s *driver) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	info, err := s.root.Stat(key)
	if err == nil && !info.Mode().IsRegular() {
		err = fs.ErrNotExist
	}
	if err != nil {
		return storage.ObjectInfo{}, pathErr("stat", key, notExist(err))
	}
	return storage.ObjectInfo{Key: key, Size: info.Size(), ModTime: info.ModTime()}, nil
}

func (s *driver) List(ctx context.Context, opts *storage.ListOptions) (*storage.ListPage, error) {
	page, err := fslist.ListCached(ctx, s.root.FS(), &s.dirs, opts)
	if err != nil {
		prefix := ""
		if opts != nil {
			prefix = opts.Prefix
		}
		return nil, pathErr("list", prefix, err)
	}
	return page, nil
}

func (s *driver) Delete(ctx context.Context, key string) error {
	info, err := s.root.Lstat(key)
	if err != nil {
		if err = notExist(err); errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return pathErr("delete", key, err)
	}
	if info.IsDir() {
		return nil // a directory is not an object
	}
	if err := s.root.Remove(key); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return pathErr("delete", key, err)
	}
	dir := path.Dir(key)
	if err := s.syncDir(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return pathErr("delete", key, err)
	}
	// Prune empty directories; a non-empty one (or a racing put's new
	// temporary file) stops it.
	for ; dir != "."; dir = path.Dir(dir) {
		if s.root.Remove(dir) != nil {
			break
		}
	}
	return nil
}

// maxMkdirAttempts bounds the retries when a concurrent Delete prunes the
// directory a put has just created.
const maxMkdirAttempts = 10

func (s *driver) Put(ctx context.Context, key string, r io.Reader, opts *storage.PutOptions) error {
	dir := path.Dir(key)
	var ps pathSync
	tmp, f, err := s.createTemp(dir, &ps)
	if err != nil {
		ps.abandon(s, err)
		return pathErr("put", key, err)
	}
	// The entries of the directories on the path are made durable while
	// the file is written: the put publishes nothing before both are
	// done, and a crash before then loses a put that had not returned,
	// so their order does not matter.
	pathDurable := s.syncPath(&ps)
	err = s.write(ctx, f, r)
	if err == nil {
		err = ctx.Err() // a put cancelled at the last moment still fails
	}
	if perr := pathDurable(); err == nil {
		err = perr
	}
	if err != nil {
		s.root.Remove(tmp)
		// Leave no directory behind either (a rejected import must
		// not leave an empty model_{version}/): prune the empty ones,
		// as Delete does.
		for d := dir; d != "."; d = path.Dir(d) {
			if s.root.Remove(d) != nil {
				break
			}
		}
		return pathErr("put", key, err)
	}
	if opts.IfNotExist {
		err = s.root.Link(tmp, key)
		// The object is published (or not) by the link alone: a
		// temporary name that cannot be removed is left to Clean.
		s.removeTemp(tmp)
		if errors.Is(err, fs.ErrExist) {
			err = fs.ErrExist
		}
	} else {
		err = s.root.Rename(tmp, key)
		if err != nil {
			s.root.Remove(tmp)
		}
	}
	if err != nil {
		return pathErr("put", key, err)
	}
	if err := s.syncDir(dir); err != nil {
		return pathErr("put", key, err)
	}
	return nil
}

// removeTemp removes a temporary file; tests replace it to inject a
// failure.
func (s *driver) removeTemp(tmp string) {
	if s.removeHook != nil {
		s.removeHook(tmp)
		return
	}
	s.root.Remove(tmp)
}

func randomSuffix() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// writeBufSize is the size of a put's writes: large enough that a big
// object takes few write calls. Buffers are pooled, so a put of a small
// object does not allocate and zero one.
const writeBufSize = 256 << 10

// write copies r into f, checking ctx between reads, then fsyncs and
// closes f.
func (s *driver) write(ctx context.Context, f *os.File, r io.Reader) error {
	// r is the portable layer's guard (it hashes and watches the
	// caller's context), so in-memory data no longer reaches here as a
	// *bytes.Reader: everything is copied through one buffer.
	bp := s.bufs.Get().(*[]byte)
	_, err := io.CopyBuffer(newWriteback(f, s.noSync), ctxio.Reader(ctx, r), *bp)
	s.bufs.Put(bp)
	if err == nil && !s.noSync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir fsyncs the directory dir. Concurrent fsyncs of one directory
// are not coalesced here: ext4's journal already joins concurrent
// commits, and a group commit in this process (tried: each caller waited
// for an fsync that started after its call) made 200-file imports about
// 25% slower by serialising them (see modelpkg/BENCHMARKS.md).
func (s *driver) syncDir(dir string) error {
	if s.noSync {
		return nil
	}
	if s.syncHook != nil {
		s.syncHook(dir)
	}
	d, err := s.root.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Clean removes temporary files left behind by puts that crashed, if they
// were last modified more than olderThan ago (a put in progress keeps its
// file recent), and returns how many it removed. It walks the whole
// directory tree.
func (s *Store) Clean(ctx context.Context, olderThan time.Duration) (int, error) {
	return s.d.clean(ctx, olderThan)
}

func (s *driver) clean(ctx context.Context, olderThan time.Duration) (int, error) {
	cutoff := time.Now().Add(-olderThan)
	removed := 0
	err := fs.WalkDir(s.root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || !fslist.IsTemp(d.Name()) {
			return nil
		}
		info, err := d.Info()
		if err != nil || info.ModTime().After(cutoff) {
			return nil
		}
		if err := s.root.Remove(p); err == nil {
			removed++
		}
		return nil
	})
	if err != nil {
		return removed, &fs.PathError{Op: "clean", Path: s.dir, Err: err}
	}
	return removed, nil
}
