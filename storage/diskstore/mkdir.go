package diskstore

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"syscall"

	"github.com/modelvault/modelvault/storage"
)

// A put into a new directory makes the directory's entry durable too: it
// fsyncs the parent of every directory it creates. Another put into the
// same directory (the other files of a package) must not return before
// that entry is durable either, but need not fsync the parent again: it
// waits for the creator's fsync, which it finds in driver.pending. A
// mkdir and its pending entry are made under pendingMu, so a put that
// sees the directory also sees whether it is pending.

// pendingDir is a directory created by a put whose parent's fsync has
// not yet completed.
type pendingDir struct {
	dir  string
	done chan struct{} // closed when err is set
	err  error         // the creator's failure: waiters fsync themselves
}

// pathSync is what one put must make durable besides its file.
type pathSync struct {
	created []*pendingDir // the directories it created
	waits   []*pendingDir // directories other puts created, not yet durable
}

// settle records the outcome of the fsync of p's parent (nil: p's entry
// is durable) and forgets p. It depends on nothing but that fsync, so
// puts that wait for each other's directories cannot deadlock.
func (s *driver) settle(p *pendingDir, err error) {
	s.pendingMu.Lock()
	if s.pending[p.dir] == p {
		delete(s.pending, p.dir)
	}
	s.pendingMu.Unlock()
	p.err = err
	close(p.done)
}

// abandon settles the directories of a put that failed before syncPath.
func (ps *pathSync) abandon(s *driver, err error) {
	for _, p := range ps.created {
		s.settle(p, err)
	}
	ps.created = nil
}

// createTemp creates the directory dir as needed (see mkdirAll) and a
// new temporary file in it.
func (s *driver) createTemp(dir string, ps *pathSync) (string, *os.File, error) {
	var lastErr error
	for range maxMkdirAttempts {
		if err := s.mkdirAll(dir, ps); err != nil {
			return "", nil, err
		}
		tmp := path.Join(dir, storage.ReservedPrefix+randomSuffix())
		f, err := s.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, s.filePerm)
		if err == nil {
			return tmp, f, nil
		}
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrExist) {
			return "", nil, err
		}
		lastErr = err // pruned by a concurrent Delete, or a name clash
	}
	return "", nil, lastErr
}

// mkdirAll creates dir and its missing parents, and records in ps what
// makes dir's path durable: the parent of every directory it creates,
// and the pending directories (created by other puts of this process)
// on the path.
func (s *driver) mkdirAll(dir string, ps *pathSync) error {
	if dir == "." {
		return nil
	}
	if info, err := s.root.Stat(dir); err == nil {
		if !info.IsDir() {
			return &fs.PathError{Op: "mkdir", Path: dir, Err: syscall.ENOTDIR}
		}
		s.waitPending(dir, ps)
		return nil
	}
	if err := s.mkdirAll(path.Dir(dir), ps); err != nil {
		return err
	}
	s.pendingMu.Lock()
	defer s.pendingMu.Unlock()
	if err := s.root.Mkdir(dir, s.dirPerm); err != nil {
		if errors.Is(err, fs.ErrExist) {
			if p := s.pending[dir]; p != nil {
				ps.waits = append(ps.waits, p)
			}
			return nil
		}
		return err
	}
	if s.noSync {
		return nil
	}
	p := &pendingDir{dir: dir, done: make(chan struct{})}
	if s.pending == nil {
		s.pending = make(map[string]*pendingDir)
	}
	s.pending[dir] = p
	ps.created = append(ps.created, p)
	return nil
}

// waitPending records the pending directories on dir's path (dir
// included) in ps.
func (s *driver) waitPending(dir string, ps *pathSync) {
	s.pendingMu.Lock()
	defer s.pendingMu.Unlock()
	for d := dir; d != "." && len(s.pending) > 0; d = path.Dir(d) {
		if p := s.pending[d]; p != nil {
			ps.waits = append(ps.waits, p)
		}
	}
}

// syncPath starts making ps durable, in parallel: the fsync of the
// parent of each directory the put created (settling it as soon as that
// fsync ends), and the wait for other puts' directories (fsyncing the
// parent itself where their creator failed). It returns a function that
// waits for all of it and returns the first error.
func (s *driver) syncPath(ps *pathSync) func() error {
	n := len(ps.created) + len(ps.waits)
	if n == 0 {
		return func() error { return nil }
	}
	errs := make(chan error, n)
	for _, p := range ps.created {
		go func() {
			err := s.syncDir(path.Dir(p.dir))
			s.settle(p, err)
			errs <- err
		}()
	}
	for _, p := range ps.waits {
		go func() {
			<-p.done
			if p.err != nil {
				errs <- s.syncDir(path.Dir(p.dir))
				return
			}
			errs <- nil
		}()
	}
	return func() error {
		var first error
		for range n {
			if err := <-errs; err != nil && first == nil {
				first = err
			}
		}
		return first
	}
}
