package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"
	"sync/atomic"
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

// LiveOptions configures [NewLive].
type LiveOptions[M any] struct {
	// Model is the model name to serve; "" is allowed when the registry
	// holds a single model name (or none yet: then the first one deployed).
	Model string
	// Warmup, when set, runs on a newly loaded model before it is swapped
	// in; an error keeps the old model serving.
	Warmup func(ctx context.Context, m M) error
	// Policy is LoadBeforeUnload (default) or UnloadBeforeLoad.
	Policy SwapPolicy
}

// Live serves the deployed version of one model name as an in-memory model
// of the host's type M, and follows deploys and rollbacks (made by this
// process or any other sharing the store) by loading the new version
// completely and then swapping it in atomically.
//
// Acquire and Release are lock-free and never block on a swap; a retired
// model is closed (when it implements io.Closer) exactly once, after its
// last lease is released, so no request ever sees a closed model.
type Live[M any] struct {
	reg    *Registry
	loader Loader[M]
	opts   LiveOptions[M]

	cur    atomic.Pointer[handle[M]]
	closed atomic.Bool
	model  atomic.Pointer[string]

	loadMu  sync.Mutex // serialises loads
	lastErr atomic.Pointer[error]
	cancel  context.CancelFunc
	done    chan struct{}
}

// NewLive loads the deployed version of the model (if one is deployed)
// and starts following the registry. ctx bounds the initial load only;
// call Close to stop following and retire the model.
func NewLive[M any](ctx context.Context, reg *Registry, loader Loader[M], opts *LiveOptions[M]) (*Live[M], error) {
	l := &Live[M]{reg: reg, loader: loader, done: make(chan struct{})}
	if opts != nil {
		l.opts = *opts
	}
	if err := reg.Sync(ctx); err != nil {
		return nil, err
	}
	model := l.opts.Model
	if model == "" {
		reg.mu.RLock()
		m, err := reg.st.resolveModel("")
		reg.mu.RUnlock()
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		model = m
	}
	if model != "" {
		l.model.Store(&model)
	}
	// Subscribe before the initial load, so no deploy is missed.
	wctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	events := reg.Watch(wctx)
	if err := l.sync(ctx); err != nil {
		cancel()
		return nil, err
	}
	go l.follow(wctx, events)
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
	h *handle[M]
}

// Model returns the leased model.
func (l Lease[M]) Model() M { return l.h.model }

// Version returns the leased model's version string.
func (l Lease[M]) Version() string { return l.h.version.Version }

// Release ends the lease. The zero Lease's Release does nothing.
func (l Lease[M]) Release() {
	if l.h != nil {
		l.h.release()
	}
}

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
			return Lease[M]{h: h}, nil
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
// progress to finish.
func (l *Live[M]) Close() error {
	if l.closed.Swap(true) {
		return nil
	}
	l.cancel()
	<-l.done
	l.loadMu.Lock()
	defer l.loadMu.Unlock()
	if h := l.cur.Swap(nil); h != nil {
		h.release()
	}
	return nil
}

func (l *Live[M]) follow(ctx context.Context, events <-chan *Event) {
	defer close(l.done)
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-events:
			if !ok {
				return
			}
			if !l.relevant(e) {
				continue
			}
			// Coalesce a burst: only the latest deployment matters.
			for drained := false; !drained; {
				select {
				case <-events:
				default:
					drained = true
				}
			}
			_ = l.sync(ctx)
		}
	}
}

func (l *Live[M]) relevant(e *Event) bool {
	switch e.Type {
	case EventDeployed, EventRolledBack, EventImported, EventInvalid:
	default:
		return false
	}
	if p := l.model.Load(); p != nil {
		return e.Model == *p
	}
	if e.Type == EventDeployed || e.Type == EventRolledBack {
		m := e.Model
		l.model.Store(&m)
		return true
	}
	return false
}

// sync loads the deployed version if it is not the one served.
func (l *Live[M]) sync(ctx context.Context) error {
	l.loadMu.Lock()
	defer l.loadMu.Unlock()
	if l.closed.Load() {
		return ErrClosed
	}
	p := l.model.Load()
	if p == nil {
		return nil
	}
	want, err := l.reg.Deployed(*p)
	if errors.Is(err, ErrNotFound) {
		return nil // nothing deployed: keep serving what we have
	}
	if err != nil {
		return l.fail(want, err)
	}
	if cur := l.cur.Load(); cur != nil && cur.version.Version == want.Version {
		return nil
	}
	if l.opts.Policy == UnloadBeforeLoad {
		if old := l.cur.Swap(nil); old != nil {
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
	l.reg.notify(Notice{Kind: NoticeLoaded, Version: want.Version, Model: want.Model})
	return nil
}

func (l *Live[M]) fail(v *Version, err error) error {
	l.lastErr.Store(&err)
	n := Notice{Kind: NoticeLoadFailed, Err: err}
	if v != nil {
		n.Version, n.Model = v.Version, v.Model
	}
	l.reg.notify(n)
	return err
}

// load loads v through the verifying view, verifies what the loader did
// not read, and warms the model up.
func (l *Live[M]) load(ctx context.Context, v *Version) (*handle[M], error) {
	vfs := newVerifyingFS(ctx, l.reg.store, v)
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
		l.reg.notify(Notice{Kind: NoticeVerificationFailed, Version: v.Version, Model: v.Model, Err: err})
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
