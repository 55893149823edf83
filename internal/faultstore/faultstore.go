// Package faultstore wraps a [storage.Store] and makes chosen calls
// fail, for fault-injection tests.
//
// A [Fault] fails one call: the Nth call of a kind (or of any kind)
// returns an error, a context timeout, a reader that breaks midway, or,
// for a Put, leaves a prefix of the data behind as a backend without
// atomic writes would. The store counts every call, so a test can run an
// operation once to learn how many calls it makes, then again with a
// fault at each index in turn.
//
// A [Nemesis] fails calls at random, from a seed, by rules a test can
// change while clients run: a probability per mode, filters by kind,
// key prefix or conditional create, and an on/off switch. It is what a
// linearizability harness drives.
//
// Besides the classic modes ([Modes]), the commit modes ([CommitModes])
// model what clouds do to a change that did happen: the object is stored
// (or deleted), then the caller is told it already existed (a cloud SDK
// retried a conditional PUT whose response was lost and got 412 for its
// own object), that the request timed out, or that its context was
// cancelled. [ModeDelay] delays a call without failing it.
//
// A Store has the method set of a [storage.Driver], so that
// storage.NewPortable(faultstore.New(inner, f), opts) tests how the
// portable layer resolves these faults, while a Store given to a
// registry directly tests how the registry does.
//
// # Concurrency
//
// A Store and a Nemesis are safe for concurrent use. When an operation
// calls the store from several goroutines the order of the calls, and so
// which call is the Nth (and which random draw a call gets), may differ
// between runs.
package faultstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"
	"time"

	"github.com/modelvault/modelvault/storage"
)

// Kind is the kind of a store call.
type Kind string

// Kinds of calls. KindAny matches every kind.
const (
	KindAny    Kind = ""
	KindGet    Kind = "get"
	KindPut    Kind = "put"
	KindStat   Kind = "stat"
	KindList   Kind = "list"
	KindDelete Kind = "delete"
)

// Mode is how the chosen call fails.
type Mode string

// Failure modes.
const (
	// ModeError makes the call return ErrInjected without doing anything.
	ModeError Mode = "error"
	// ModeTimeout makes the call return an error matching
	// context.DeadlineExceeded without doing anything.
	ModeTimeout Mode = "timeout"
	// ModeShortRead (Get only) returns a reader that fails with
	// io.ErrUnexpectedEOF halfway through the object.
	ModeShortRead Mode = "short-read"
	// ModePartialWrite (Put only) stores the first half of the data,
	// unconditionally, and returns ErrInjected: a backend whose writes
	// are not atomic.
	ModePartialWrite Mode = "partial-write"
	// ModeSilentTruncate (Put only) stores the first half of the data and
	// reports success: a backend that loses data.
	ModeSilentTruncate Mode = "silent-truncate"
	// ModeAfter performs the call, then returns ErrInjected: the change
	// happened but the caller cannot know (a timeout after the server
	// committed). Put, Delete.
	ModeAfter Mode = "after"

	// ModeCommittedExist (Put only) performs the put, then returns an
	// error matching storage.ErrExist (an *fs.PathError, as stores
	// return): the SDK-retry shape, where the first attempt landed, its
	// response was lost, and the retry was refused (412/409) because of
	// the caller's own object. An unconditional put fails as ModeAfter.
	ModeCommittedExist Mode = "committed-exist"
	// ModeCommittedTimeout performs the call, then returns an error
	// matching context.DeadlineExceeded. Put, Delete.
	ModeCommittedTimeout Mode = "committed-timeout"
	// ModeCommittedCancel performs the call, then returns an error
	// matching context.Canceled, as when the caller's context ended just
	// after the server committed. Put, Delete.
	ModeCommittedCancel Mode = "committed-cancel"
	// ModeDelay waits (Fault.Delay, or a Nemesis rule's Delay) before
	// making the call normally; if ctx ends first, the call is not made
	// and the context's error is returned. Every kind.
	ModeDelay Mode = "delay"
)

// Modes returns the failure modes that apply to a call of kind k.
func Modes(k Kind) []Mode {
	switch k {
	case KindGet:
		return []Mode{ModeError, ModeTimeout, ModeShortRead}
	case KindPut:
		return []Mode{ModeError, ModeTimeout, ModePartialWrite, ModeAfter}
	case KindDelete:
		return []Mode{ModeError, ModeTimeout, ModeAfter}
	}
	return []Mode{ModeError, ModeTimeout}
}

// CommitModes returns the modes that perform a call of kind k and then
// report a failure: the change happened but the caller is told otherwise.
// They are kept out of [Modes] so that tests written for the classic
// modes keep their meaning; add them where the code under test is
// expected to resolve such outcomes.
func CommitModes(k Kind) []Mode {
	switch k {
	case KindPut:
		return []Mode{ModeAfter, ModeCommittedExist, ModeCommittedTimeout, ModeCommittedCancel}
	case KindDelete:
		return []Mode{ModeAfter, ModeCommittedTimeout, ModeCommittedCancel}
	}
	return nil
}

// applies reports whether mode m can fail a call of kind k.
func applies(m Mode, k Kind) bool {
	switch m {
	case ModeError, ModeTimeout, ModeDelay:
		return true
	case ModeShortRead:
		return k == KindGet
	case ModePartialWrite, ModeSilentTruncate, ModeCommittedExist:
		return k == KindPut
	case ModeAfter, ModeCommittedTimeout, ModeCommittedCancel:
		return k == KindPut || k == KindDelete
	}
	return false
}

// ErrInjected is the error an injected fault returns (wrapped).
var ErrInjected = errors.New("faultstore: injected fault")

// Fault chooses the call to fail.
type Fault struct {
	// Kind is the kind of call counted; KindAny counts every call.
	Kind Kind
	// N is the 1-based index of the call to fail among the calls of
	// Kind. Zero disables the fault.
	N int
	// Mode is how it fails. A mode that does not apply to the chosen
	// call's kind falls back to ModeError.
	Mode Mode
	// KeyPrefix, when set, counts only calls on keys with this prefix
	// (List calls count when their prefix starts with it).
	KeyPrefix string
	// Delay is how long ModeDelay waits.
	Delay time.Duration
}

// Call records one call made through the store.
type Call struct {
	Kind Kind
	Key  string // the key, or the List prefix
	// Conditional is set for a Put with IfNotExist.
	Conditional bool
}

// Store is a fault-injecting [storage.Store]. The zero value is not
// usable; create one with [New].
type Store struct {
	inner storage.Store

	mu      sync.Mutex
	fault   Fault
	matched int
	fired   *Call
	calls   []Call
	nemesis *Nemesis
}

var _ storage.Store = (*Store)(nil)

// New returns a Store over inner that injects f (a zero Fault injects
// nothing).
func New(inner storage.Store, f Fault) *Store {
	return &Store{inner: inner, fault: f}
}

// Inner returns the wrapped store.
func (s *Store) Inner() storage.Store { return s.inner }

// Calls returns the calls made so far, in order.
func (s *Store) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Fired returns the call that failed, or nil if the fault has not fired.
func (s *Store) Fired() *Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fired
}

// Reset sets a new fault and clears the call record.
func (s *Store) Reset(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault, s.matched, s.fired, s.calls = f, 0, nil, nil
}

// SetNemesis makes n choose faults for the calls that the Fault does not
// fail; nil removes it. One Nemesis may drive several Stores.
func (s *Store) SetNemesis(n *Nemesis) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nemesis = n
}

// hit records a call and returns the mode to fail it with ("" for none)
// and, for ModeDelay, the delay.
func (s *Store) hit(k Kind, key string, conditional bool) (Mode, time.Duration) {
	s.mu.Lock()
	c := Call{Kind: k, Key: key, Conditional: conditional}
	s.calls = append(s.calls, c)
	m, d := s.hitFault(c)
	n := s.nemesis
	s.mu.Unlock()
	if m == "" && n != nil {
		m, d = n.choose(c)
	}
	return m, d
}

// hitFault applies the Fault; s.mu is held.
func (s *Store) hitFault(c Call) (Mode, time.Duration) {
	f := s.fault
	if f.N <= 0 || s.fired != nil {
		return "", 0
	}
	if f.Kind != KindAny && f.Kind != c.Kind {
		return "", 0
	}
	if f.KeyPrefix != "" && !hasPrefix(c.Key, f.KeyPrefix) {
		return "", 0
	}
	s.matched++
	if s.matched != f.N {
		return "", 0
	}
	s.fired = &c
	if applies(f.Mode, c.Kind) {
		return f.Mode, f.Delay
	}
	return ModeError, 0
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

func injected(op, key string, m Mode) error {
	switch m {
	case ModeTimeout, ModeCommittedTimeout:
		return fmt.Errorf("%s %s: %w (%w, %s)", op, key, context.DeadlineExceeded, ErrInjected, m)
	case ModeCommittedCancel:
		return fmt.Errorf("%s %s: %w (%w, %s)", op, key, context.Canceled, ErrInjected, m)
	case ModeCommittedExist:
		return &fs.PathError{Op: op, Path: key, Err: &existError{}}
	}
	return fmt.Errorf("%s %s: %w (%s)", op, key, ErrInjected, m)
}

// existError matches both storage.ErrExist and ErrInjected.
type existError struct{}

func (*existError) Error() string   { return "file already exists (faultstore: injected after commit)" }
func (*existError) Unwrap() []error { return []error{storage.ErrExist, ErrInjected} }

// delay waits d or until ctx ends.
func delay(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Get implements storage.Store.
func (s *Store) Get(ctx context.Context, key string) (storage.Reader, error) {
	m, d := s.hit(KindGet, key, false)
	switch m {
	case "":
		return s.inner.Get(ctx, key)
	case ModeDelay:
		if err := delay(ctx, d); err != nil {
			return nil, err
		}
		return s.inner.Get(ctx, key)
	case ModeShortRead:
		r, err := s.inner.Get(ctx, key)
		if err != nil {
			return nil, err
		}
		return &shortReader{Reader: r, left: r.Size() / 2}, nil
	}
	return nil, injected("get", key, m)
}

// shortReader fails with io.ErrUnexpectedEOF after left bytes.
type shortReader struct {
	storage.Reader
	left int64
}

func (r *shortReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.Reader.Read(p)
	r.left -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (r *shortReader) ReadAt(p []byte, off int64) (int, error) {
	return 0, io.ErrUnexpectedEOF
}

// Put implements storage.Store.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, opts *storage.PutOptions) error {
	m, d := s.hit(KindPut, key, opts != nil && opts.IfNotExist)
	switch m {
	case "":
		return s.inner.Put(ctx, key, r, opts)
	case ModeDelay:
		if err := delay(ctx, d); err != nil {
			return err
		}
		return s.inner.Put(ctx, key, r, opts)
	case ModeAfter, ModeCommittedExist, ModeCommittedTimeout, ModeCommittedCancel:
		if err := s.inner.Put(ctx, key, r, opts); err != nil {
			return err
		}
		if m == ModeCommittedExist && (opts == nil || !opts.IfNotExist) {
			m = ModeAfter
		}
		return injected("put", key, m)
	case ModePartialWrite, ModeSilentTruncate:
		data, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		if err := s.inner.Put(ctx, key, &halfReader{data: data}, nil); err != nil {
			return err
		}
		if m == ModeSilentTruncate {
			return nil
		}
		return injected("put", key, m)
	}
	// Drain a little of the source, as a real failing upload would.
	_, _ = io.CopyN(io.Discard, r, 512)
	return injected("put", key, m)
}

// halfReader yields the first half of data.
type halfReader struct {
	data []byte
	off  int
}

func (h *halfReader) Read(p []byte) (int, error) {
	end := len(h.data) / 2
	if h.off >= end {
		return 0, io.EOF
	}
	n := copy(p, h.data[h.off:end])
	h.off += n
	return n, nil
}

// Stat implements storage.Store.
func (s *Store) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	switch m, d := s.hit(KindStat, key, false); m {
	case "":
	case ModeDelay:
		if err := delay(ctx, d); err != nil {
			return storage.ObjectInfo{}, err
		}
	default:
		return storage.ObjectInfo{}, injected("stat", key, m)
	}
	return s.inner.Stat(ctx, key)
}

// List implements storage.Store.
func (s *Store) List(ctx context.Context, opts *storage.ListOptions) (*storage.ListPage, error) {
	prefix := ""
	if opts != nil {
		prefix = opts.Prefix
	}
	switch m, d := s.hit(KindList, prefix, false); m {
	case "":
	case ModeDelay:
		if err := delay(ctx, d); err != nil {
			return nil, err
		}
	default:
		return nil, injected("list", prefix, m)
	}
	return s.inner.List(ctx, opts)
}

// Delete implements storage.Store.
func (s *Store) Delete(ctx context.Context, key string) error {
	m, d := s.hit(KindDelete, key, false)
	switch m {
	case "":
		return s.inner.Delete(ctx, key)
	case ModeDelay:
		if err := delay(ctx, d); err != nil {
			return err
		}
		return s.inner.Delete(ctx, key)
	case ModeAfter, ModeCommittedTimeout, ModeCommittedCancel:
		if err := s.inner.Delete(ctx, key); err != nil {
			return err
		}
	}
	return injected("delete", key, m)
}
