package storage

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"io/fs"
	"sync"
	"time"
)

// More sentinel errors of the write contract.
var (
	// ErrConflict matches the error of a put that the server refused
	// because of a concurrent conditional write to the same key (S3's 409
	// ConditionalRequestConflict), when retrying did not settle it. A
	// [Driver] returns it (wrapped) to ask [Portable] for a retry.
	ErrConflict = errors.New("storage: conflicting concurrent write")
	// ErrUnknownOutcome matches the error of a put that may or may not
	// have stored its object: the request was sent whole but no definite
	// answer came back, and reading the key back did not settle it. A
	// [Driver] returns it (wrapped) for a failure after which the server
	// may have applied the request (a reset connection, a timeout).
	ErrUnknownOutcome = errors.New("storage: outcome unknown")
)

// Driver is what a backend implements; [NewPortable] turns it into a
// [Store]. The method set is Store's, with a narrower contract, as
// gocloud.dev/blob/driver is to blob: the portable layer does the checks,
// so a driver may assume that keys are valid ([ValidKey]), that PutOptions
// and ListOptions are non-nil, that a ListOptions has a valid Prefix, a
// Delimiter of "" or "/" and a PageSize from 1 to 1000, and that ctx was
// live when the call began. Errors need not be [*fs.PathError] values; the
// portable layer wraps them.
//
// A driver's Put must be atomic (readers see the old object or the new
// one), must commit nothing if r returns an error or ctx ends before r
// reached EOF, and, with IfNotExist, must let the server decide: an
// existing key is an error matching [ErrExist], even when the object is
// the caller's own (an SDK retry after a lost response); the portable
// layer tells the two apart. It returns an error matching [ErrConflict]
// for a conflict worth retrying, and one matching [ErrUnknownOutcome] when
// the request may have been applied. A driver's Delete may report a
// missing key with [ErrNotExist]. Get and Stat report a missing key with
// an error matching [ErrNotExist].
type Driver interface {
	Get(ctx context.Context, key string) (Reader, error)
	Put(ctx context.Context, key string, r io.Reader, opts *PutOptions) error
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	List(ctx context.Context, opts *ListOptions) (*ListPage, error)
	Delete(ctx context.Context, key string) error
}

// TagDriver is a [Driver] that can store a tag with an object and read it
// back. [Portable] then tells a put's own object from another by the tag
// (a random one per Put call), exactly, even among writers of identical
// bytes; objects without a tag are compared by content.
type TagDriver interface {
	Driver
	// PutTagged is Put, storing tag with the object.
	PutTagged(ctx context.Context, key string, r io.Reader, opts *PutOptions, tag string) error
	// Tag returns the tag stored with the object at key, or "" if it
	// has none; a missing key is an error matching [ErrNotExist].
	Tag(ctx context.Context, key string) (string, error)
}

// PortableOptions configures [NewPortable]. A nil *PortableOptions is the
// zero value.
type PortableOptions struct {
	// ConflictRetries is how many times Put retries after an
	// [ErrConflict], or after an unknown outcome that reading back showed
	// did not land. Zero means 4; negative means none.
	ConflictRetries int
	// ConflictBackoff is the first wait before such a retry; it doubles
	// with each retry, up to one second. Zero means 50ms.
	ConflictBackoff time.Duration
	// CommitTimeout bounds a put's commit once all its data has been
	// read, and the reading back that resolves an unknown outcome. Both
	// run detached from the caller's context (see [Portable.Put]). Zero
	// means two minutes.
	CommitTimeout time.Duration
	// ExistMayBeOwn says that the driver may answer [ErrExist] for the
	// put's own object: its SDK retries a conditional request whose
	// response was lost, and the retry is refused because the first
	// attempt landed. Put then resolves every such answer by identity
	// (see [Portable.Put]). Leave it false for drivers whose answer is
	// always about another writer (local file systems): an identical
	// object written by someone else is then still [ErrExist].
	ExistMayBeOwn bool
}

// Portable is the [Store] over a [Driver]: it owns the write contract that
// every backend shares. Backends return it (or a type that forwards to it)
// from their constructors.
type Portable struct {
	d             Driver
	retries       int
	backoff       time.Duration
	commitTimeout time.Duration
	existMayBeOwn bool
}

var _ Store = (*Portable)(nil)

// NewPortable returns the Store over d.
func NewPortable(d Driver, opts *PortableOptions) *Portable {
	var o PortableOptions
	if opts != nil {
		o = *opts
	}
	p := &Portable{d: d, retries: o.ConflictRetries, backoff: o.ConflictBackoff, commitTimeout: o.CommitTimeout, existMayBeOwn: o.ExistMayBeOwn}
	switch {
	case p.retries == 0:
		p.retries = 4
	case p.retries < 0:
		p.retries = 0
	}
	if p.backoff <= 0 {
		p.backoff = 50 * time.Millisecond
	}
	if p.commitTimeout <= 0 {
		p.commitTimeout = 2 * time.Minute
	}
	return p
}

// Driver returns the driver p wraps.
func (p *Portable) Driver() Driver { return p.d }

// wrapErr returns err as an *fs.PathError for op and key, keeping the
// driver's underlying error.
func wrapErr(op, key string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		if pe.Op == op && pe.Path == key {
			return pe
		}
		err = pe.Err
	}
	return &fs.PathError{Op: op, Path: key, Err: err}
}

func check(ctx context.Context, op, key string) error {
	if err := ValidKey(key); err != nil {
		return &fs.PathError{Op: op, Path: key, Err: err}
	}
	if err := ctx.Err(); err != nil {
		return &fs.PathError{Op: op, Path: key, Err: err}
	}
	return nil
}

// Get checks key and ctx and opens the object with the driver.
func (p *Portable) Get(ctx context.Context, key string) (Reader, error) {
	if err := check(ctx, "get", key); err != nil {
		return nil, err
	}
	r, err := p.d.Get(ctx, key)
	if err != nil {
		return nil, wrapErr("get", key, err)
	}
	return r, nil
}

// Stat checks key and ctx and asks the driver.
func (p *Portable) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	if err := check(ctx, "stat", key); err != nil {
		return ObjectInfo{}, err
	}
	info, err := p.d.Stat(ctx, key)
	if err != nil {
		return ObjectInfo{}, wrapErr("stat", key, err)
	}
	info.Key = key
	return info, nil
}

// maxListPage is the largest page size a driver is asked for.
const maxListPage = 1000

// List checks and normalises opts (nil lists everything; a PageSize of
// zero or above 1000 is 1000) and asks the driver.
func (p *Portable) List(ctx context.Context, opts *ListOptions) (*ListPage, error) {
	var o ListOptions
	if opts != nil {
		o = *opts
	}
	if err := ValidPrefix(o.Prefix); err != nil {
		return nil, &fs.PathError{Op: "list", Path: o.Prefix, Err: err}
	}
	if o.Delimiter != "" && o.Delimiter != "/" {
		return nil, &fs.PathError{Op: "list", Path: o.Prefix, Err: &keyError{`delimiter: only "/" is supported`}}
	}
	if o.PageSize <= 0 || o.PageSize > maxListPage {
		o.PageSize = maxListPage
	}
	if err := ctx.Err(); err != nil {
		return nil, &fs.PathError{Op: "list", Path: o.Prefix, Err: err}
	}
	page, err := p.d.List(ctx, &o)
	if err != nil {
		return nil, wrapErr("list", o.Prefix, err)
	}
	return page, nil
}

// Delete checks key and ctx and deletes with the driver; a missing key is
// not an error.
func (p *Portable) Delete(ctx context.Context, key string) error {
	if err := check(ctx, "delete", key); err != nil {
		return err
	}
	if err := p.d.Delete(ctx, key); err != nil && !errors.Is(err, ErrNotExist) {
		return wrapErr("delete", key, err)
	}
	return nil
}

// Put checks key and ctx and stores r with the driver, under the write
// contract shared by every backend:
//
//   - Until the driver has read r to its end, cancelling ctx aborts the
//     put and nothing is stored. From then on the commit runs detached
//     from ctx, bounded by [PortableOptions.CommitTimeout]: a commit that
//     happened is reported as a success, whatever happened to ctx, and is
//     never undone.
//   - With IfNotExist, an answer lost on the way back ([ErrUnknownOutcome],
//     or the commit timing out) is resolved by identity: the key is read
//     back and its SHA-256 compared with that of the bytes sent. Ours is
//     a success; another object is [ErrExist]; nothing there is retried
//     while the retry budget, ctx and the reader (an [io.Seeker]) allow.
//     So is an "already exists" answer after this put sent all its bytes,
//     if the driver may give it for the put's own object
//     ([PortableOptions.ExistMayBeOwn]: an SDK retry refused because its
//     first attempt landed) or an earlier attempt's outcome was unknown.
//     With a [TagDriver] the comparison is by the put's random tag
//     instead, exact even among writers of identical bytes; otherwise
//     two writers of identical bytes cannot be told apart: give objects
//     that decide races unique content.
//   - A conflict ([ErrConflict]) is retried with backoff, after looking
//     whether another writer's object has appeared (then a conditional
//     put lost: [ErrExist]).
//
// A put that cannot be resolved returns an error matching
// [ErrUnknownOutcome]: its object may or may not be stored.
func (p *Portable) Put(ctx context.Context, key string, r io.Reader, opts *PutOptions) error {
	if err := check(ctx, "put", key); err != nil {
		return err
	}
	var o PutOptions
	if opts != nil {
		o = *opts
	}
	rw := newRewinder(r)
	wait := p.backoff
	var sent *sentBody // what was sent in full, once an attempt read r to EOF
	tag := ""
	if _, ok := p.d.(TagDriver); ok {
		var b [16]byte
		rand.Read(b[:])
		tag = hex.EncodeToString(b[:])
	}
	unknown := false // an earlier attempt may have landed
	for attempt := 0; ; attempt++ {
		res := p.putOnce(ctx, key, r, &o, tag)
		if res.readErr != nil {
			if unknown {
				return &fs.PathError{Op: "put", Path: key, Err: &unknownError{res.readErr}}
			}
			return &fs.PathError{Op: "put", Path: key, Err: res.readErr}
		}
		if res.sent != nil {
			sent = res.sent
			sent.tag = tag
		}
		err := res.err
		if err == nil {
			return nil
		}
		if errors.Is(err, ErrInvalidKey) {
			return wrapErr("put", key, err)
		}
		mayHaveLanded := res.sent != nil && (errors.Is(err, ErrUnknownOutcome) ||
			errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
		switch {
		case o.IfNotExist && errors.Is(err, ErrExist):
			if sent == nil || !(p.existMayBeOwn || unknown) {
				// Nothing of ours was ever sent whole, or the driver's
				// answer is always about another writer.
				return wrapErr("put", key, err)
			}
			switch p.identify(ctx, key, sent) {
			case ours:
				return nil
			case unreadable:
				return &fs.PathError{Op: "put", Path: key, Err: &unknownError{err}}
			}
			return wrapErr("put", key, err) // another object, or gone again
		case o.IfNotExist && mayHaveLanded:
			switch p.identify(ctx, key, sent) {
			case ours:
				return nil
			case theirs:
				return &fs.PathError{Op: "put", Path: key, Err: &existError{err}}
			case unreadable:
				return &fs.PathError{Op: "put", Path: key, Err: &unknownError{err}}
			}
			// Not there (yet): retry. A late landing of the earlier
			// attempt makes the retry see our own object, resolved above.
			unknown = true
			if ctx.Err() != nil || attempt >= p.retries || !rw.rewind() {
				return &fs.PathError{Op: "put", Path: key, Err: &unknownError{err}}
			}
			if err := sleep(ctx, wait); err != nil {
				return &fs.PathError{Op: "put", Path: key, Err: &unknownError{err}}
			}
			wait = min(2*wait, time.Second)
		case errors.Is(err, ErrConflict):
			if attempt >= p.retries {
				return wrapErr("put", key, err)
			}
			// Someone else's conditional write to key was in flight:
			// wait, and if an object appeared, look whose it is.
			if serr := sleep(ctx, wait); serr != nil {
				if unknown {
					serr = &unknownError{serr}
				}
				return &fs.PathError{Op: "put", Path: key, Err: serr}
			}
			wait = min(2*wait, time.Second)
			if o.IfNotExist {
				switch p.identify(ctx, key, sent) {
				case ours:
					return nil
				case theirs:
					return &fs.PathError{Op: "put", Path: key, Err: &existError{err}}
				}
			}
			if !rw.rewind() {
				return p.awaitLoser(ctx, key, &o, attempt, wait, err)
			}
		default:
			if unknown {
				return &fs.PathError{Op: "put", Path: key, Err: &unknownError{err}}
			}
			return wrapErr("put", key, err)
		}
	}
}

// awaitLoser handles a conflict whose data cannot be sent again: a
// conditional put can still learn, within the retry budget, that it lost.
func (p *Portable) awaitLoser(ctx context.Context, key string, o *PutOptions, attempt int, wait time.Duration, cause error) error {
	for ; o.IfNotExist && attempt < p.retries; attempt++ {
		if err := sleep(ctx, wait); err != nil {
			return &fs.PathError{Op: "put", Path: key, Err: err}
		}
		wait = min(2*wait, time.Second)
		if p.identify(ctx, key, nil) == theirs {
			return &fs.PathError{Op: "put", Path: key, Err: &existError{cause}}
		}
	}
	return wrapErr("put", key, cause)
}

// existError matches ErrExist and keeps the driver's error in the chain.
type existError struct{ cause error }

func (e *existError) Error() string   { return ErrExist.Error() }
func (e *existError) Unwrap() []error { return []error{ErrExist, e.cause} }

// unknownError matches ErrUnknownOutcome and keeps the cause in the chain.
type unknownError struct{ cause error }

func (e *unknownError) Error() string   { return ErrUnknownOutcome.Error() + ": " + e.cause.Error() }
func (e *unknownError) Unwrap() []error { return []error{ErrUnknownOutcome, e.cause} }

// sentBody identifies the bytes of a put that were read to the end.
type sentBody struct {
	size int64
	sum  []byte
	tag  string // the put's tag, with a TagDriver
}

type identity int

const (
	absent     identity = iota // nothing stored under the key
	ours                       // exactly the bytes sent
	theirs                     // another object
	unreadable                 // the key could not be read
)

// identify reads key back and compares it with sent (nil: anything found
// is someone else's). It runs detached from ctx, bounded by the commit
// timeout, so that a cancelled caller still learns what it did.
func (p *Portable) identify(ctx context.Context, key string, sent *sentBody) identity {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.commitTimeout)
	defer cancel()
	if td, ok := p.d.(TagDriver); ok {
		tag, err := td.Tag(rctx, key)
		switch {
		case errors.Is(err, ErrNotExist):
			return absent
		case err != nil:
			return unreadable
		case tag != "" && sent != nil && tag == sent.tag:
			return ours
		case tag != "" || sent == nil:
			return theirs
		}
		// No tag (written by other tools): compare the bytes.
	}
	info, err := p.d.Stat(rctx, key)
	switch {
	case errors.Is(err, ErrNotExist):
		return absent
	case err != nil:
		return unreadable
	case sent == nil || info.Size != sent.size:
		return theirs
	}
	rd, err := p.d.Get(rctx, key)
	switch {
	case errors.Is(err, ErrNotExist):
		return absent
	case err != nil:
		return unreadable
	}
	defer rd.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rd); err != nil {
		return unreadable
	}
	if bytes.Equal(h.Sum(nil), sent.sum) {
		return ours
	}
	return theirs
}

// attempt is the outcome of one driver Put.
type attempt struct {
	err     error     // the driver's error
	readErr error     // r failed, or ctx ended before r reached EOF
	sent    *sentBody // set if r was read to EOF
}

// putOnce runs one driver Put with a context detached from ctx: ctx's end
// aborts it only while r is still being read; after EOF the commit has
// commitTimeout to finish.
func (p *Portable) putOnce(ctx context.Context, key string, r io.Reader, o *PutOptions, tag string) attempt {
	dctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancel(nil)
	g := &guard{r: r, cancel: cancel, timeout: p.commitTimeout}
	if o.IfNotExist {
		g.h = sha256.New()
	}
	stop := context.AfterFunc(ctx, func() { g.abort(context.Cause(ctx)) })
	defer stop()
	defer g.stopTimer()
	var err error
	if td, ok := p.d.(TagDriver); ok && tag != "" {
		err = td.PutTagged(dctx, key, g, o, tag)
	} else {
		err = p.d.Put(dctx, key, g, o)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	switch g.state {
	case stateFailed, stateAborted:
		return attempt{readErr: g.err}
	case stateEOF:
		sent := &sentBody{size: g.n}
		if g.h != nil {
			sent.sum = g.h.Sum(nil)
		}
		return attempt{err: err, sent: sent}
	}
	return attempt{err: err}
}

type guardState int

const (
	stateReading guardState = iota
	stateEOF                // r was read to its end: the commit is detached
	stateFailed             // r returned an error
	stateAborted            // ctx ended while r was being read
)

// errCommitTimeout is the cause of a commit cut short by CommitTimeout.
var errCommitTimeout = errors.New("storage: commit timed out")

// guard is the reader a driver gets: it hashes and counts what is read,
// fails once the caller's context ended before EOF, and cancels the
// driver's context when r fails, so that no driver commits a prefix.
type guard struct {
	r       io.Reader
	cancel  context.CancelCauseFunc
	timeout time.Duration

	mu    sync.Mutex // drivers may read from another goroutine
	state guardState
	err   error
	h     hash.Hash
	n     int64
	timer *time.Timer
}

func (g *guard) abort(cause error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.state != stateReading {
		return
	}
	g.state, g.err = stateAborted, cause
	g.cancel(cause)
}

func (g *guard) stopTimer() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.timer != nil {
		g.timer.Stop()
	}
}

func (g *guard) Read(b []byte) (int, error) {
	g.mu.Lock()
	state, gerr := g.state, g.err
	g.mu.Unlock()
	switch state {
	case stateFailed, stateAborted:
		return 0, gerr
	case stateEOF:
		return 0, io.EOF
	}
	n, err := g.r.Read(b)
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.state == stateAborted:
		return 0, g.err
	case err == nil || err == io.EOF:
		if g.h != nil {
			g.h.Write(b[:n])
		}
		g.n += int64(n)
		if err == io.EOF {
			g.state = stateEOF
			g.timer = time.AfterFunc(g.timeout, func() { g.cancel(errCommitTimeout) })
		}
	default:
		g.state, g.err = stateFailed, err
		g.cancel(err)
	}
	return n, err
}

// rewinder returns a reader to where it started, if it is an io.Seeker.
type rewinder struct {
	s     io.Seeker
	start int64
}

func newRewinder(r io.Reader) *rewinder {
	s, ok := r.(io.Seeker)
	if !ok {
		return &rewinder{}
	}
	start, err := s.Seek(0, io.SeekCurrent)
	if err != nil {
		return &rewinder{}
	}
	return &rewinder{s: s, start: start}
}

func (w *rewinder) rewind() bool {
	if w.s == nil {
		return false
	}
	_, err := w.s.Seek(w.start, io.SeekStart)
	return err == nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
