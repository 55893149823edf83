package diskstore

import "sync"

// dirSyncer coalesces the fsyncs of a directory (group commit). A put
// that renamed or linked a file into a directory, a delete that removed
// one and a mkdir need the directory fsynced after their change; when
// several of them change one directory at once (the files of a package
// extracted in parallel), one fsync that starts after all their changes
// makes all of them durable. So a caller waits for an fsync of the
// directory that started after it called sync: it starts one when none
// is running, and otherwise joins the round queued behind the running
// one (which may have started before its change), shared by everyone
// who arrives meanwhile. Each caller still returns only once an fsync
// covering its change has succeeded, so the durability of every put and
// delete is what it was with one fsync per call; only the number of
// fsyncs falls (8 files extracted at once: 2-3 directory fsyncs instead
// of 8).
type dirSyncer struct {
	mu   sync.Mutex
	dirs map[string]*dirSyncState

	joined func() // for tests: a caller joined a queued round (mu held)
}

// dirSyncState is one directory's running and queued rounds.
type dirSyncState struct {
	running *syncRound // nil when no fsync of the directory is running
	next    *syncRound // the round that starts when running ends
}

// syncRound is one fsync of a directory, shared by its callers.
type syncRound struct {
	done chan struct{} // closed when err is set
	err  error
}

// sync returns once an fsync of dir (done by fsync) that started after
// the call has completed, with that fsync's error.
func (s *dirSyncer) sync(dir string, fsync func() error) error {
	s.mu.Lock()
	if s.dirs == nil {
		s.dirs = make(map[string]*dirSyncState)
	}
	d := s.dirs[dir]
	if d == nil {
		d = &dirSyncState{}
		s.dirs[dir] = d
	}
	if d.running == nil {
		return s.start(dir, d, fsync) // unlocks
	}
	// The running fsync may have started before our change: wait for the
	// next round, which starts after it ends.
	if d.next == nil {
		d.next = &syncRound{done: make(chan struct{})}
	}
	r, cur := d.next, d.running
	if s.joined != nil {
		s.joined()
	}
	s.mu.Unlock()
	<-cur.done
	s.mu.Lock()
	if d.running == nil && d.next == r {
		return s.start(dir, d, fsync) // we are the first of r's callers back
	}
	// Another caller started r (whoever starts a round when none is
	// running takes the queued one).
	s.mu.Unlock()
	<-r.done
	return r.err
}

// start runs the queued round of d, or a new one, with s.mu held; it
// returns unlocked, with the round's error.
func (s *dirSyncer) start(dir string, d *dirSyncState, fsync func() error) error {
	r := d.next
	if r == nil {
		r = &syncRound{done: make(chan struct{})}
	}
	d.running, d.next = r, nil
	s.mu.Unlock()
	r.err = fsync()
	s.mu.Lock()
	d.running = nil
	if d.next == nil && s.dirs[dir] == d {
		delete(s.dirs, dir) // idle: nobody holds a round of it
	}
	close(r.done)
	s.mu.Unlock()
	return r.err
}
