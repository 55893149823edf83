package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Package is what a [Loader] receives: a verified stored version.
type Package struct {
	// Version describes the version being loaded.
	Version *Version
	// FS serves the version's files and checks each file's SHA-256 as it
	// is read: reading a tampered file to its end fails with an error
	// matching modelpkg.ErrHashMismatch. Files the loader does not read
	// are verified after it returns, so no file is read twice to verify it.
	FS fs.FS
	// LocalDir is the version's directory on local disk, for loaders that
	// need file names (set when the store is a diskstore; "" otherwise).
	// Files read through it bypass FS and are verified after the load.
	LocalDir string
}

// Loader turns a verified package into the host's model type M. It is
// declared here, where it is consumed; [LoaderFunc] adapts a function.
// A model that implements io.Closer is closed when it is retired.
type Loader[M any] interface {
	Load(ctx context.Context, pkg *Package) (M, error)
}

// LoaderFunc adapts a function to a [Loader], like http.HandlerFunc.
type LoaderFunc[M any] func(ctx context.Context, pkg *Package) (M, error)

// Load calls f(ctx, pkg).
func (f LoaderFunc[M]) Load(ctx context.Context, pkg *Package) (M, error) { return f(ctx, pkg) }

// AnyLoader adapts a typed loader for [Options.Loader].
func AnyLoader[M any](l Loader[M]) Loader[any] {
	return LoaderFunc[any](func(ctx context.Context, pkg *Package) (any, error) {
		return l.Load(ctx, pkg)
	})
}

// SwapPolicy says whether a [Live] holds the old and the new model at once
// during a swap.
type SwapPolicy int

const (
	// LoadBeforeUnload loads the new model completely, swaps it in, and
	// only then retires the old one: no request ever waits or fails, at
	// the cost of holding two models during the swap (the default, as in
	// TensorFlow Serving).
	LoadBeforeUnload SwapPolicy = iota
	// UnloadBeforeLoad retires the old model (waiting for its last lease)
	// before loading the new one, for models too big to hold twice.
	// Acquire fails with ErrNotLoaded in between.
	UnloadBeforeLoad
)

// Defaults for [LiveOptions].
const (
	DefaultRetryMin        = time.Second
	DefaultRetryMax        = time.Minute
	DefaultPublishInterval = 30 * time.Second
)

// LiveOptions configures [NewLive].
type LiveOptions[M any] struct {
	// Warmup, when set, runs on a newly loaded model before it is swapped
	// in; an error keeps the old model serving.
	Warmup func(ctx context.Context, m M) error
	// Policy is LoadBeforeUnload (default) or UnloadBeforeLoad.
	Policy SwapPolicy
	// RetryMin and RetryMax bound the delay before a failed load is
	// retried: it starts at RetryMin, doubles after each failure up to
	// RetryMax, and is jittered (a random delay between half of it and
	// all of it), so replicas that failed together do not retry together
	// (defaults 1s and 1m). A failed load is retried until it succeeds
	// or another version is deployed; events that do not change the
	// deployed version do not cut a retry's wait short.
	RetryMin, RetryMax time.Duration
	// Name identifies this Live in what it publishes (see
	// [Registry.Serving]): at most 128 letters, digits, '.', '_' or '-'.
	// "" means the host name, the process id and a random suffix. Two
	// Lives must not share a name.
	Name string
	// PublishInterval is how often the Live refreshes its published
	// [ServingState] when nothing changes (default 30s); a change is
	// published at once, but never more often than every PublishInterval/10
	// (and at most once a second). Readers treat a state not refreshed for
	// three intervals as gone. A negative interval turns publishing off
	// (for hosts whose credentials cannot write to the store).
	PublishInterval time.Duration
}

// Live serves the registry's deployed version as an in-memory model
// of the host's type M, and follows deploys and rollbacks (made by this
// process or any other sharing the store) by loading the new version
// completely and then swapping it in atomically. A failed load is retried
// with backoff (see [LiveOptions.RetryMin]), so replicas converge;
// [Live.WaitFor] waits until a version is served. Each Live publishes
// what it serves to the store ([Live.Status], [Registry.Serving]).
//
// Acquire and Release are lock-free and never block on a swap; a retired
// model is closed (when it implements io.Closer) exactly once, after its
// last lease is released, so no request ever sees a closed model.
type Live[M any] struct {
	reg    *Registry
	loader Loader[M]
	opts   LiveOptions[M]
	name   string

	cur    atomic.Pointer[handle[M]]
	closed atomic.Bool

	loadMu  sync.Mutex // serialises loads
	lastErr atomic.Pointer[error]
	cancel  context.CancelFunc
	done    chan struct{} // closed when follow returns
	pubDone chan struct{} // closed when publish returns

	stMu    sync.Mutex
	st      ServingState  // guarded by stMu
	changed chan struct{} // closed and replaced on every change of st
	dirty   chan struct{} // wakes the publisher

	// iterations counts the follow loop's wake-ups and publishes the
	// published states (for tests).
	iterations, publishes atomic.Int64
}

// NewLive loads the deployed version of the model (if one is deployed)
// and starts following the registry. ctx bounds the initial load only;
// call Close to stop following and retire the model. A failed initial
// load is returned as an error.
func NewLive[M any](ctx context.Context, reg *Registry, loader Loader[M], opts *LiveOptions[M]) (*Live[M], error) {
	l := &Live[M]{
		reg: reg, loader: loader,
		done: make(chan struct{}), pubDone: make(chan struct{}),
		changed: make(chan struct{}), dirty: make(chan struct{}, 1),
	}
	if opts != nil {
		l.opts = *opts
	}
	o := &l.opts
	if o.RetryMin <= 0 {
		o.RetryMin = DefaultRetryMin
	}
	if o.RetryMax <= 0 {
		o.RetryMax = DefaultRetryMax
	}
	o.RetryMax = max(o.RetryMax, o.RetryMin)
	if o.PublishInterval == 0 {
		o.PublishInterval = DefaultPublishInterval
	}
	l.name = o.Name
	if l.name == "" {
		l.name = defaultLiveName()
	} else if !validLiveName(l.name) {
		return nil, fmt.Errorf("new live: %w: %q", ErrLiveName, l.name)
	}
	l.st.Name, l.st.Model = l.name, reg.Name()
	if err := reg.Sync(ctx); err != nil {
		return nil, err
	}
	// Subscribe before the initial load, so no deploy is missed.
	sub, _ := reg.subscribe(false)
	if sub == nil {
		return nil, fmt.Errorf("new live: %w", ErrClosed)
	}
	wctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	if err := l.sync(ctx); err != nil {
		cancel()
		reg.unsubscribe(sub)
		return nil, err
	}
	go l.follow(wctx, sub)
	if o.PublishInterval > 0 {
		go l.publish(wctx)
	} else {
		close(l.pubDone)
	}
	return l, nil
}

// handle is one loaded model with its reference count: one reference
// held by the Live while it is current, plus one per lease.
type handle[M any] struct {
	model   M
	version *Version
	refs    atomic.Int64
	closed  chan struct{}
}

func (h *handle[M]) tryAcquire() bool {
	for {
		n := h.refs.Load()
		if n <= 0 {
			return false
		}
		if h.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (h *handle[M]) release() {
	switch n := h.refs.Add(-1); {
	case n == 0:
		if c, ok := any(h.model).(io.Closer); ok {
			_ = c.Close()
		}
		close(h.closed)
	case n < 0:
		panic("registry: Lease released twice")
	}
}

// Lease is a reference to the model current when it was acquired. The
// model stays open until the lease is released; release it exactly once.
type Lease[M any] struct {
	r *leaseRef[M]
}

// leaseRef is one lease's reference, so a second Release of the same
// lease is told apart from the release of another lease on the model.
type leaseRef[M any] struct {
	h        *handle[M]
	released atomic.Bool
}

// Model returns the leased model.
func (l Lease[M]) Model() M { return l.r.h.model }

// Version returns the leased model's version string.
func (l Lease[M]) Version() string { return l.r.h.version.Version }

// Release ends the lease. The zero Lease's Release does nothing.
//
// Release panics when the lease (or a copy of it) was already released:
// a second release would drop another request's reference and could
// close the model under it, so it is a programming error, like closing a
// closed channel, and fails loudly where it happens.
func (l Lease[M]) Release() {
	if l.r == nil {
		return
	}
	if l.r.released.Swap(true) {
		panic(errLeaseReleased)
	}
	l.r.h.release()
}

// errLeaseReleased is the value a second [Lease.Release] panics with.
var errLeaseReleased = errors.New("registry: Lease released twice")

// Acquire returns a lease on the current model. It never blocks; it fails
// with [ErrNotLoaded] when no model is loaded and [ErrClosed] after Close.
func (l *Live[M]) Acquire() (Lease[M], error) {
	for {
		h := l.cur.Load()
		if h == nil {
			if l.closed.Load() {
				return Lease[M]{}, ErrClosed
			}
			return Lease[M]{}, ErrNotLoaded
		}
		if h.tryAcquire() {
			return Lease[M]{r: &leaseRef[M]{h: h}}, nil
		}
		// h was retired between Load and tryAcquire: its successor is
		// already current.
	}
}

// Do runs fn with the current model under a lease.
func (l *Live[M]) Do(fn func(m M) error) error {
	lease, err := l.Acquire()
	if err != nil {
		return err
	}
	defer lease.Release()
	return fn(lease.Model())
}

// Version returns the version currently served ("" when none).
func (l *Live[M]) Version() string {
	if h := l.cur.Load(); h != nil {
		return h.version.Version
	}
	return ""
}

// Err returns the error of the last failed load, or nil if the last load
// succeeded.
func (l *Live[M]) Err() error {
	if p := l.lastErr.Load(); p != nil {
		return *p
	}
	return nil
}

// Close stops following the registry and retires the current model (it is
// closed once its last lease is released). It waits for a load in
// progress to finish, and removes the state the Live published.
func (l *Live[M]) Close() error {
	if l.closed.Swap(true) {
		return nil
	}
	l.cancel()
	<-l.done
	<-l.pubDone
	l.loadMu.Lock()
	defer l.loadMu.Unlock()
	if h := l.cur.Swap(nil); h != nil {
		h.release()
	}
	l.update(func(st *ServingState) { st.Version, st.Since = "", time.Time{} })
	return nil
}

// follow loads what is deployed whenever the registry applies events,
// and retries a failed load with backoff. It returns when ctx is done or
// the registry is closed; a burst of events is one wake-up, so it never
// spins.
func (l *Live[M]) follow(ctx context.Context, sub *subscription) {
	defer close(l.done)
	defer l.reg.unsubscribe(sub)
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	var (
		failures int
		failed   string // the version whose load failed, while a retry waits
	)
	for {
		select {
		case <-ctx.Done():
			return
		case <-sub.done:
			return
		case <-sub.wake:
			if failed != "" && l.wanted() == failed {
				continue // the retry is due later; the target did not change
			}
		case <-retry.C:
		}
		l.iterations.Add(1)
		err := l.sync(ctx)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			failures, failed = 0, ""
			retry.Stop()
			continue
		}
		failures++
		failed = l.wanted()
		retry.Reset(l.backoff(failures))
	}
}

// backoff returns the jittered delay before retry number n (n >= 1).
func (l *Live[M]) backoff(n int) time.Duration {
	d := l.opts.RetryMin
	for i := 1; i < n && d < l.opts.RetryMax; i++ {
		d *= 2
	}
	d = min(d, l.opts.RetryMax)
	return d/2 + rand.N(d/2+1)
}

// wanted returns the deployed version ("" when none).
func (l *Live[M]) wanted() string {
	v, err := l.reg.Deployed()
	if err != nil {
		return ""
	}
	return v.Version
}

// sync loads the deployed version if it is not the one served.
func (l *Live[M]) sync(ctx context.Context) error {
	l.loadMu.Lock()
	defer l.loadMu.Unlock()
	if l.closed.Load() {
		return ErrClosed
	}
	want, err := l.reg.Deployed()
	if errors.Is(err, ErrNotFound) {
		return nil // nothing deployed: keep serving what we have
	}
	if err != nil {
		return l.fail(nil, err)
	}
	l.update(func(st *ServingState) { st.Want = want.Version })
	if cur := l.cur.Load(); cur != nil && cur.version.Version == want.Version {
		return nil
	}
	if l.opts.Policy == UnloadBeforeLoad {
		if old := l.cur.Swap(nil); old != nil {
			l.update(func(st *ServingState) { st.Version, st.Since = "", time.Time{} })
			old.release()
			select {
			case <-old.closed:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	h, err := l.load(ctx, want)
	if err != nil {
		return l.fail(want, err)
	}
	if old := l.cur.Swap(h); old != nil {
		old.release()
	}
	l.lastErr.Store(nil)
	now := l.reg.opts.Now().UTC()
	l.update(func(st *ServingState) {
		st.Version, st.Since = want.Version, now
		st.LastError, st.ErrorVersion, st.Failures = "", "", 0
	})
	l.reg.notify(Notice{Kind: NoticeLoaded, Version: want.Version})
	return nil
}

func (l *Live[M]) fail(v *Version, err error) error {
	l.lastErr.Store(&err)
	n := Notice{Kind: NoticeLoadFailed, Err: err}
	if v != nil {
		n.Version = v.Version
	}
	now := l.reg.opts.Now().UTC()
	l.update(func(st *ServingState) {
		if st.ErrorVersion != n.Version {
			st.Failures = 0
		}
		st.LastError, st.ErrorVersion, st.ErrorTime = err.Error(), n.Version, now
		st.Failures++
	})
	l.reg.notify(n)
	return err
}

// load loads v through the verifying view, verifies what the loader did
// not read, and warms the model up.
func (l *Live[M]) load(ctx context.Context, v *Version) (*handle[M], error) {
	vfs := newVerifyingFS(ctx, l.reg.store, v)
	if err := l.reg.checkSignature(ctx, vfs, v); err != nil {
		return nil, fmt.Errorf("load %s: %w", v.Version, err)
	}
	m, err := l.loader.Load(ctx, l.reg.loadPackage(vfs, v))
	closeModel := func() {
		if c, ok := any(m).(io.Closer); ok {
			_ = c.Close()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrLoad, v.Version, err)
	}
	if err := vfs.verifyRest(ctx); err != nil {
		closeModel()
		l.reg.notify(Notice{Kind: NoticeVerificationFailed, Version: v.Version, Err: err})
		return nil, fmt.Errorf("load %s: %w", v.Version, err)
	}
	if l.opts.Warmup != nil {
		if err := l.opts.Warmup(ctx, m); err != nil {
			closeModel()
			return nil, fmt.Errorf("%w: %s: warm-up: %w", ErrLoad, v.Version, err)
		}
	}
	h := &handle[M]{model: m, version: v, closed: make(chan struct{})}
	h.refs.Store(1)
	return h, nil
}
