// Package faultstore wraps a [storage.Store] and makes one chosen call
// fail, for fault-injection tests: the Nth call of a kind (or of any
// kind) returns an error, a context timeout, a reader that breaks
// midway, or, for a Put, leaves a prefix of the data behind as a backend
// without atomic writes would.
//
// It counts every call, so a test can run an operation once to learn how
// many calls it makes, then again with a fault at each index in turn.
//
// # Concurrency
//
// A Store is safe for concurrent use. When an operation calls the store
// from several goroutines the order of the calls, and so which call is
// the Nth, may differ between runs.
package faultstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

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
}

// Call records one call made through the store.
type Call struct {
	Kind Kind
	Key  string // the key, or the List prefix
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

// hit records a call and returns the mode to fail it with ("" for none).
func (s *Store) hit(k Kind, key string) Mode {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := Call{Kind: k, Key: key}
	s.calls = append(s.calls, c)
	f := s.fault
	if f.N <= 0 || s.fired != nil {
		return ""
	}
	if f.Kind != KindAny && f.Kind != k {
		return ""
	}
	if f.KeyPrefix != "" && !hasPrefix(key, f.KeyPrefix) {
		return ""
	}
	s.matched++
	if s.matched != f.N {
		return ""
	}
	s.fired = &c
	for _, m := range Modes(k) {
		if m == f.Mode {
			return m
		}
	}
	if f.Mode == ModeSilentTruncate && k == KindPut {
		return f.Mode
	}
	return ModeError
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

func injected(op, key string, m Mode) error {
	if m == ModeTimeout {
		return fmt.Errorf("%s %s: %w (%w)", op, key, context.DeadlineExceeded, ErrInjected)
	}
	return fmt.Errorf("%s %s: %w (%s)", op, key, ErrInjected, m)
}

// Get implements storage.Store.
func (s *Store) Get(ctx context.Context, key string) (storage.Reader, error) {
	m := s.hit(KindGet, key)
	switch m {
	case "":
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
	m := s.hit(KindPut, key)
	switch m {
	case "":
		return s.inner.Put(ctx, key, r, opts)
	case ModeAfter:
		if err := s.inner.Put(ctx, key, r, opts); err != nil {
			return err
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
	if m := s.hit(KindStat, key); m != "" {
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
	if m := s.hit(KindList, prefix); m != "" {
		return nil, injected("list", prefix, m)
	}
	return s.inner.List(ctx, opts)
}

// Delete implements storage.Store.
func (s *Store) Delete(ctx context.Context, key string) error {
	m := s.hit(KindDelete, key)
	switch m {
	case "":
		return s.inner.Delete(ctx, key)
	case ModeAfter:
		if err := s.inner.Delete(ctx, key); err != nil {
			return err
		}
	}
	return injected("delete", key, m)
}
