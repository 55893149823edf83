package modelpkg

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"sync"
)

// DirOptions configures [OpenDirDestination].
type DirOptions struct {
	// NoSync skips fsync of files and directories. The default (false)
	// makes every file durable before WriteFile returns.
	NoSync bool
}

// DirDestination is a [Destination] that writes into a local directory,
// opened with os.OpenRoot so that nothing is ever written outside it. Each
// file is created exclusively (an existing file is an error, never
// overwritten), written, fsynced and its directory fsynced, unless
// DirOptions.NoSync. Abort removes exactly the files and directories this
// destination created. It is safe for concurrent use.
//
// The directory is a staging area, not an atomic commit: extract into a
// fresh directory and rename it into place once Extract succeeds.
type DirDestination struct {
	dir         string
	root        *os.Root
	sync        bool
	createdRoot bool

	mu    sync.Mutex
	files map[string]bool
	dirs  []string // created directories, parents before children
}

var _ Destination = (*DirDestination)(nil)

// OpenDirDestination opens dir as a destination, creating it (and its
// parents) if needed. Call Close when done.
func OpenDirDestination(dir string, opts *DirOptions) (*DirDestination, error) {
	if opts == nil {
		opts = &DirOptions{}
	}
	created := false
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		created = true
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &DirDestination{dir: dir, root: root, sync: !opts.NoSync, createdRoot: created, files: map[string]bool{}}, nil
}

// Dir returns the directory the destination writes into.
func (d *DirDestination) Dir() string { return d.dir }

// WriteFile creates name (a canonical relative path) with the contents of
// r, creating parent directories as needed. It fails if name exists, if
// name is not a canonical relative path ([ErrUnsafePath]), or if r fails;
// on failure it leaves no file behind.
func (d *DirDestination) WriteFile(ctx context.Context, name string, r io.Reader) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	if p := pathProblem(name); p != "" {
		return fmt.Errorf("%w: %q: %s", ErrUnsafePath, name, p)
	}
	if err := d.mkdirs(path.Dir(name)); err != nil {
		return err
	}
	f, err := d.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.files[name] = true
	d.mu.Unlock()
	defer func() {
		if err != nil {
			f.Close()
			d.root.Remove(name)
			d.mu.Lock()
			delete(d.files, name)
			d.mu.Unlock()
		}
	}()
	if _, err := io.Copy(f, r); err != nil {
		return err
	}
	if d.sync {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	if d.sync {
		return d.syncDir(path.Dir(name))
	}
	return nil
}

// mkdirs creates dir and its missing parents inside the root, recording
// the ones it created.
func (d *DirDestination) mkdirs(dir string) error {
	if dir == "." {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := 0; i <= len(dir); i++ {
		if i < len(dir) && dir[i] != '/' {
			continue
		}
		p := dir[:i]
		err := d.root.Mkdir(p, 0o755)
		switch {
		case err == nil:
			d.dirs = append(d.dirs, p)
			if d.sync {
				if err := d.syncDir(path.Dir(p)); err != nil {
					return err
				}
			}
		case errors.Is(err, fs.ErrExist):
			fi, serr := d.root.Lstat(p)
			if serr != nil {
				return serr
			}
			if !fi.IsDir() {
				return fmt.Errorf("%s: %w: not a directory", p, fs.ErrExist)
			}
		default:
			return err
		}
	}
	return nil
}

func (d *DirDestination) syncDir(dir string) error {
	f, err := d.root.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// Abort removes every file and directory this destination created, and
// the directory itself if OpenDirDestination created it. It is safe to
// call when nothing was written, and more than once.
func (d *DirDestination) Abort(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(d.files)) {
		if err := d.root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	clear(d.files)
	for _, dir := range slices.Backward(d.dirs) {
		if err := d.root.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	d.dirs = nil
	if d.createdRoot {
		if err := os.Remove(d.dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Close releases the directory handle. It does not remove anything.
func (d *DirDestination) Close() error { return d.root.Close() }
