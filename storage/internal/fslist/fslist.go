package fslist

import (
	"cmp"
	"context"
	"errors"
	"io/fs"
	"slices"
	"strings"

	"github.com/modelvault/modelvault/storage"
)

// DefaultPageSize is the page size used when ListOptions.PageSize is zero,
// and the largest one honoured.
const DefaultPageSize = 1000

// CheckOptions validates the prefix and delimiter of a listing.
func CheckOptions(opts *storage.ListOptions) error {
	if err := storage.ValidPrefix(opts.Prefix); err != nil {
		return err
	}
	if opts.Delimiter != "" && opts.Delimiter != "/" {
		return &delimError{}
	}
	return nil
}

type delimError struct{}

func (*delimError) Error() string { return `invalid delimiter: only "/" is supported` }
func (*delimError) Unwrap() error { return storage.ErrInvalidKey }

// IsTemp reports whether a file name is a backend's temporary file.
func IsTemp(name string) bool { return strings.HasPrefix(name, storage.ReservedPrefix) }

var errStop = errors.New("page full")

type lister struct {
	cache *DirCache
	ctx   context.Context
	fsys  fs.FS
	delim bool
	token string
	limit int
	page  *storage.ListPage
	count int
}

// List returns one page of the objects stored as regular files in fsys
// (key "a/b" is file "a/b"), following opts as [storage.Store.List] does.
// Temporary files (see [IsTemp]), files whose paths are not valid keys and
// anything that is neither a regular file nor a directory are skipped;
// symbolic links are followed through fsys. A missing directory lists as
// empty. The page token is the last key or prefix of the previous page.
func List(ctx context.Context, fsys fs.FS, opts *storage.ListOptions) (*storage.ListPage, error) {
	return ListCached(ctx, fsys, nil, opts)
}

// ListCached is [List] with a cache of the names of large directories,
// so that paging through one reads it once rather than once per page.
// cache may be nil.
func ListCached(ctx context.Context, fsys fs.FS, cache *DirCache, opts *storage.ListOptions) (*storage.ListPage, error) {
	if opts == nil {
		opts = &storage.ListOptions{}
	}
	if err := CheckOptions(opts); err != nil {
		return nil, err
	}
	l := &lister{
		cache: cache,
		ctx:   ctx,
		fsys:  fsys,
		delim: opts.Delimiter != "",
		token: opts.PageToken,
		limit: opts.PageSize,
		page:  &storage.ListPage{},
	}
	if l.limit <= 0 || l.limit > DefaultPageSize {
		l.limit = DefaultPageSize
	}
	dir, keyPrefix, namePrefix := ".", "", opts.Prefix
	if i := strings.LastIndexByte(opts.Prefix, '/'); i >= 0 {
		dir, keyPrefix, namePrefix = opts.Prefix[:i], opts.Prefix[:i+1], opts.Prefix[i+1:]
	}
	err := l.walk(dir, keyPrefix, namePrefix)
	if err == errStop {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	return l.page, nil
}

type entry struct {
	name string
	dir  bool
	path string      // for files: stat'ed only when emitted
	info fs.FileInfo // for followed symbolic links to files
}

// fileInfo returns the entry's file information; a file removed since the
// directory was read returns an error matching fs.ErrNotExist.
func (l *lister) fileInfo(e entry) (fs.FileInfo, error) {
	if e.info != nil {
		return e.info, nil
	}
	info, err := fs.Stat(l.fsys, e.path)
	if err == nil && !info.Mode().IsRegular() {
		err = fs.ErrNotExist // replaced by something else meanwhile
	}
	return info, err
}

// sortKey orders a directory's entries so that a walk yields keys in
// lexical order: a directory "a" holds keys starting "a/", which sort
// after "a-b" and "a.b".
func (e entry) sortKey() string {
	if e.dir {
		return e.name + "/"
	}
	return e.name
}

// readDir returns the entries of dir that start with namePrefix, in walk
// order, leaving out those whose keys (keyPrefix+name) and subtrees sort
// entirely before the page token: a page costs one read of the names of
// each directory on its path, and file information only for what it
// returns, not for everything before it. A missing directory (or a file
// where one was expected) is empty.
func (l *lister) readDir(dir, keyPrefix, namePrefix string) ([]entry, error) {
	if err := l.ctx.Err(); err != nil {
		return nil, err
	}
	des, err := l.cache.read(l.fsys, dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || isNotDir(l.fsys, dir) {
			return nil, nil
		}
		return nil, err
	}
	out := make([]entry, 0, len(des))
	for _, de := range des {
		name := de.name
		if !strings.HasPrefix(name, namePrefix) || IsTemp(name) {
			continue
		}
		if key := keyPrefix + name; key < l.token && !strings.HasPrefix(l.token, key) {
			continue // the key and every key below it sort before the token
		}
		p := name
		if dir != "." {
			p = dir + "/" + name
		}
		switch t := de.typ; {
		case t&fs.ModeSymlink != 0:
			info, err := fs.Stat(l.fsys, p)
			switch {
			case err != nil:
				continue // dangling, looping, or escaping the root
			case info.IsDir():
				out = append(out, entry{name: name, dir: true})
			case info.Mode().IsRegular():
				out = append(out, entry{name: name, info: info})
			}
		case t.IsDir():
			out = append(out, entry{name: name, dir: true})
		case t.IsRegular():
			out = append(out, entry{name: name, path: p})
		}
	}
	slices.SortFunc(out, func(a, b entry) int { return cmp.Compare(a.sortKey(), b.sortKey()) })
	return out, nil
}

func isNotDir(fsys fs.FS, dir string) bool {
	info, err := fs.Stat(fsys, dir)
	return err == nil && !info.IsDir()
}

// walk lists dir, whose entries' keys start with keyPrefix.
func (l *lister) walk(dir, keyPrefix, namePrefix string) error {
	entries, err := l.readDir(dir, keyPrefix, namePrefix)
	if err != nil {
		return err
	}
	for _, e := range entries {
		key := keyPrefix + e.name
		if !e.dir {
			if key <= l.token || storage.ValidKey(key) != nil {
				continue
			}
			info, err := l.fileInfo(e)
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed meanwhile
			}
			if err != nil {
				return err
			}
			if err := l.emit(); err != nil {
				return err
			}
			l.page.Objects = append(l.page.Objects, storage.ObjectInfo{Key: key, Size: info.Size(), ModTime: info.ModTime()})
			continue
		}
		sub := key + "/"
		if storage.ValidPrefix(sub) != nil {
			continue
		}
		if l.delim {
			if sub <= l.token {
				continue
			}
			found, err := l.hasObject(key, sub, 0)
			if err != nil {
				return err
			}
			if !found {
				continue
			}
			if err := l.emit(); err != nil {
				return err
			}
			l.page.Prefixes = append(l.page.Prefixes, sub)
			continue
		}
		if sub < l.token && !strings.HasPrefix(l.token, sub) {
			continue // the whole subtree sorts before the token
		}
		if err := l.walk(key, sub, ""); err != nil {
			return err
		}
	}
	return nil
}

// maxDepth bounds recursion in hasObject; keys cannot be deeper anyway.
const maxDepth = storage.MaxKeyLen / 2

// hasObject reports whether the tree at dir holds at least one object.
func (l *lister) hasObject(dir, keyPrefix string, depth int) (bool, error) {
	if depth > maxDepth {
		return false, nil
	}
	entries, err := l.readDir(dir, keyPrefix, "")
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		key := keyPrefix + e.name
		if !e.dir {
			if storage.ValidKey(key) == nil {
				return true, nil
			}
			continue
		}
		if ok, err := l.hasObject(key, key+"/", depth+1); ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}

// emit makes room for one more entry, or ends the page: the previous
// entry becomes the page token.
func (l *lister) emit() error {
	if l.count == l.limit {
		l.page.NextPageToken = l.last()
		return errStop
	}
	l.count++
	return nil
}

// last returns the last key or prefix added to the page. Objects and
// prefixes are both appended in key order, so it is the larger of the two
// slices' last elements.
func (l *lister) last() string {
	var a, b string
	if n := len(l.page.Objects); n > 0 {
		a = l.page.Objects[n-1].Key
	}
	if n := len(l.page.Prefixes); n > 0 {
		b = l.page.Prefixes[n-1]
	}
	return max(a, b)
}
