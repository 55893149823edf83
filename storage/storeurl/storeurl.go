package storeurl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	_ "gocloud.dev/blob/memblob" // mem://, for tests and throwaway stores

	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/storage/blobstore"
	"github.com/modelvault/modelvault/storage/diskstore"
)

// Options configures [Open]. A nil *Options is the zero value.
type Options struct {
	// Disk configures a diskstore (a path or a file:// URL).
	Disk *diskstore.Options
	// Blob configures a blobstore (any other URL).
	Blob *blobstore.Options
}

// Store is a store opened by [Open]. The embedded Store is the backend
// (a *diskstore.Store or a *blobstore.Store), for callers that need its
// own methods, such as diskstore's LocalPath.
type Store struct {
	storage.Store
	closer io.Closer
}

// Close releases the backend (the directory, or the bucket).
func (s *Store) Close() error { return s.closer.Close() }

// ErrNoLocalPath is returned by [Store.LocalPath] for stores that are not
// on local disk.
var ErrNoLocalPath = errors.New("storeurl: store has no local paths")

// LocalPath returns the file name of the object at key when the store is a
// directory (see diskstore.Store.LocalPath), and [ErrNoLocalPath] for
// object stores. Loaders that need a file name use it through the
// registry.
func (s *Store) LocalPath(key string) (string, error) {
	if d, ok := s.Store.(*diskstore.Store); ok {
		return d.LocalPath(key)
	}
	return "", ErrNoLocalPath
}

// ConditionalCreates forwards [storage.ConditionalCreator] to the backend:
// true for a directory (diskstore), so that opening a registry on it
// writes no probe object.
func (s *Store) ConditionalCreates() bool {
	c, ok := s.Store.(storage.ConditionalCreator)
	return ok && c.ConditionalCreates()
}

// Open opens the store that target names: a directory path or a file://
// URL (storage/diskstore, creating the directory if needed), or another
// URL (storage/blobstore). See the package documentation.
func Open(ctx context.Context, target string, opts *Options) (*Store, error) {
	if opts == nil {
		opts = &Options{}
	}
	if target == "" {
		return nil, errors.New("storeurl: empty store location")
	}
	if !strings.Contains(target, "://") {
		return openDisk(target, opts)
	}
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("storeurl: %w", err)
	}
	if u.Scheme == "file" {
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("storeurl: file URL with a remote host %q", u.Host)
		}
		if u.RawQuery != "" || u.Path == "" {
			return nil, fmt.Errorf("storeurl: file URL must be file:///absolute/path without parameters")
		}
		return openDisk(u.Path, opts)
	}
	s, err := blobstore.Open(ctx, target, opts.Blob)
	if err != nil {
		return nil, fmt.Errorf("storeurl: %w", err)
	}
	return &Store{Store: s, closer: s}, nil
}

func openDisk(dir string, opts *Options) (*Store, error) {
	s, err := diskstore.Open(dir, opts.Disk)
	if err != nil {
		return nil, fmt.Errorf("storeurl: %w", err)
	}
	return &Store{Store: s, closer: s}, nil
}
