package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/modelpkg/sshsig"
	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/validate"
)

// Defaults for [Options].
const (
	DefaultCheckpointEvery = 1000
	DefaultClaimLease      = time.Hour
	DefaultPollInterval    = 2 * time.Second
	DefaultAppendRetries   = 32
	DefaultCommitTimeout   = 30 * time.Second
)

// Options configures [Open]. A nil *Options, and every zero field, means
// the documented default.
type Options struct {
	// Name is the model's name, for hosts that serve several models (see
	// [OpenModel]): it labels logs, metrics and the model the HTTP API
	// and the inference protocol address. It is not stored.
	Name string
	// Layout names the files a package must hold. Nil means
	// modelpkg.DefaultLayout().
	Layout *modelpkg.Layout
	// Limits bound what an imported archive may hold. Nil means
	// modelpkg.DefaultLimits().
	Limits *modelpkg.Limits
	// Validator judges packages at import, scan and Validate. Nil means
	// validate.Default(layout). The registry always checks the manifest
	// and every file's SHA-256 on top of a validator given here.
	Validator validate.Validator
	// Loader, when set, is used by Deploy as a load test: a version that
	// its loader cannot load is not deployed. A loaded model that
	// implements io.Closer is closed right after.
	Loader Loader[any]
	// AllowUnlisted turns files missing from the manifest into warnings
	// instead of errors.
	AllowUnlisted bool
	// CheckpointEvery is how many events pass between checkpoints of the
	// folded state (default 1000).
	CheckpointEvery int
	// ClaimLease is how old an import claim without an imported event must
	// be before a repair treats it as abandoned (default one hour). Keep it
	// well above the longest import.
	ClaimLease time.Duration
	// PollInterval is how often Watch reads the log tail for events written
	// by other processes (default 2s).
	PollInterval time.Duration
	// AppendRetries bounds how often an append that lost a race is retried
	// before the operation fails with ErrConflict (default 32).
	AppendRetries int
	// CommitTimeout bounds one commit (the conditional create of an event,
	// with the reads and retries that settle its outcome). A commit runs
	// detached from its caller's cancellation, so that a commit that
	// succeeded is never undone by a client going away (default 30s).
	CommitTimeout time.Duration
	// SkipOpenScan turns off the scan and repair that Open runs.
	SkipOpenScan bool
	// Logger receives the registry's logs; nil means silent.
	Logger *slog.Logger
	// Notify, when set, is called synchronously for every event this
	// registry observes (its own and, through Watch and refreshes, other
	// processes') and for notices such as failed verifications. It must
	// not block for long.
	Notify func(Notice)
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Signers is the trust policy for package signatures (an OpenSSH
	// allowed_signers file, see modelpkg/sshsig). With it, import and scan
	// reject an unsigned package (unsigned), one signed by a key the policy
	// does not trust (untrusted_signer) and a bad signature
	// (bad_signature), even with ImportOptions.SkipValidation; Deploy and
	// Live re-verify the signature against the policy before loading, so a
	// key removed from the policy or past its valid-before stops new
	// deploys and loads. Without it a signature is verified when present.
	// The verified signer is recorded in Version.Signer. A Validator given
	// here should not check signatures itself.
	Signers *sshsig.AllowedSigners
}

// Caller says who performs an operation and why; both end up in the
// event it records.
type Caller struct {
	Actor  string
	Reason string
}

// Registry is a registry of model versions kept in a [storage.Store]. It is
// safe for concurrent use, and any number of Registry values, in any
// number of processes, may share one store: every change is an append to
// a log with a conditional create, so changes are linearizable.
type Registry struct {
	store     storage.Store
	log       eventLog
	layout    *modelpkg.Layout
	limits    *modelpkg.Limits
	validator validate.Validator // everything an import runs
	integrity validate.Validator // manifest and SHA-256 checks alone
	opts      Options
	logger    *slog.Logger

	swept    sync.Map   // spool directories swept of stale files
	appendMu sync.Mutex // serialises this process's appends
	mu       sync.RWMutex
	st       *state
	hub      hub // watchers, Lives and the one poller: see poller.go
}

// probeKey is where Open probes the store's conditional creates (a random
// suffix is added, and the probe removed).
const probeKey = registryPrefix + "probe"

// Open opens (or starts) the registry kept in store. It first checks that
// the store honours conditional creates, and refuses one that does not
// with an error wrapping storage.ErrNoConditionalCreate. Unless
// opts.SkipOpenScan is set it then repairs what a crash left behind and
// scans the store for placed packages (see [Registry.Scan]); a scan that
// finds invalid packages is not an error.
func Open(ctx context.Context, store storage.Store, opts *Options) (*Registry, error) {
	r := &Registry{store: store, log: eventLog{store: store}}
	if opts != nil {
		r.opts = *opts
	}
	o := &r.opts
	r.layout = o.Layout
	if r.layout == nil {
		r.layout = modelpkg.DefaultLayout()
	}
	r.limits = o.Limits
	if r.limits == nil {
		r.limits = modelpkg.DefaultLimits()
	}
	mopts := &validate.ManifestOptions{AllowUnlisted: o.AllowUnlisted, Limits: r.limits}
	r.integrity = validate.All(validate.Manifest(mopts), validate.SHA256(mopts))
	sigOpts := &validate.SignatureOptions{Policy: o.Signers, Now: func() time.Time { return r.opts.Now() }}
	if o.Signers != nil {
		r.integrity = validate.All(r.integrity, validate.Signature(sigOpts))
	}
	if o.Validator == nil {
		r.validator = validate.Standard(&validate.Options{Layout: r.layout, Manifest: *mopts, Signature: sigOpts})
	} else {
		r.validator = validate.All(r.integrity, o.Validator)
	}
	if o.CheckpointEvery <= 0 {
		o.CheckpointEvery = DefaultCheckpointEvery
	}
	if o.ClaimLease <= 0 {
		o.ClaimLease = DefaultClaimLease
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.AppendRetries <= 0 {
		o.AppendRetries = DefaultAppendRetries
	}
	if o.CommitTimeout <= 0 {
		o.CommitTimeout = DefaultCommitTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	r.logger = o.Logger
	if r.logger == nil {
		r.logger = slog.New(slog.DiscardHandler)
	}

	// Every commit point is a conditional create: a store that ignores
	// them would let two writers both win a slot. Probe once.
	if err := storage.CheckConditionalCreate(ctx, store, probeKey); err != nil {
		return nil, fmt.Errorf("open registry: %w", err)
	}
	st, err := r.log.latestCheckpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("open registry: %w", err)
	}
	r.st = st
	if _, err := r.refresh(ctx); err != nil {
		return nil, fmt.Errorf("open registry: %w", err)
	}
	if !o.SkipOpenScan {
		if _, err := r.Repair(ctx); err != nil {
			return nil, fmt.Errorf("open registry: %w", err)
		}
		if _, err := r.Scan(ctx, nil); err != nil {
			return nil, fmt.Errorf("open registry: %w", err)
		}
	}
	return r, nil
}

// Store returns the store the registry keeps its state and files in.
func (r *Registry) Store() storage.Store { return r.store }

// Name returns Options.Name: the model's name, or "" when not given.
func (r *Registry) Name() string { return r.opts.Name }

// Layout returns the package layout the registry enforces.
func (r *Registry) Layout() *modelpkg.Layout { return r.layout }

// Close stops the registry's watchers and its poller. It does not close
// the store.
func (r *Registry) Close() error {
	r.hub.close()
	return nil
}

// refresh reads events appended after the current state (by this or any
// other process) and folds them in. It returns the new events.
func (r *Registry) refresh(ctx context.Context) ([]*Event, error) {
	r.mu.RLock()
	seq := r.st.Seq
	r.mu.RUnlock()
	var events []loggedEvent
	var readErr error
	for {
		if readErr = ctx.Err(); readErr != nil {
			break
		}
		e, hash, err := r.log.read(ctx, seq+1)
		if errors.Is(err, storage.ErrNotExist) {
			break
		}
		if err != nil {
			readErr = err
			break
		}
		events = append(events, loggedEvent{e, hash})
		seq++
	}
	if len(events) == 0 {
		return nil, readErr
	}
	// Fold in what was read even when a later read failed, so that it
	// is not read again.
	applied, err := r.applyEvents(events)
	if err != nil {
		return applied, err
	}
	return applied, readErr
}

// loggedEvent is an event with the SHA-256 of its stored bytes.
type loggedEvent struct {
	e    *Event
	hash string
}

// applyEvents folds events (which follow each other) into the state,
// skipping those already applied by a concurrent refresh.
func (r *Registry) applyEvents(events []loggedEvent) ([]*Event, error) {
	r.mu.Lock()
	var applied []*Event
	var err error
	for _, le := range events {
		if le.e.Seq <= r.st.Seq {
			continue
		}
		if err = r.st.apply(le.e, le.hash); err != nil {
			break
		}
		applied = append(applied, le.e)
	}
	if len(applied) > 0 {
		r.hub.publish(applied)
	}
	r.mu.Unlock()
	for _, e := range applied {
		r.notify(Notice{Kind: NoticeEvent, Event: e})
	}
	return applied, err
}

// errNoop tells appendEvent that the operation has nothing to record.
var errNoop = errors.New("no-op")

// noop returns e marked as a no-op, with errNoop, for a build function.
func noop(e *Event) (*Event, error) {
	e.NoOp = true
	return e, errNoop
}

// appendEvent appends the event that build derives from the latest state.
// If another writer appends first, it reads the new tail and calls build
// again, so build re-checks its preconditions against the state the event
// will really follow. build returning errNoop (see noop) makes appendEvent
// return the event build gave, marked NoOp, or an empty no-op event.
//
// The write itself is the commit point and is decided by identity (see
// eventLog.commit). It runs detached from ctx's cancellation, bounded by
// [Options.CommitTimeout]: once started, a commit is never abandoned
// because the caller went away.
func (r *Registry) appendEvent(ctx context.Context, caller *Caller, build func(st *state) (*Event, error)) (*Event, error) {
	r.appendMu.Lock()
	defer r.appendMu.Unlock()
	for attempt := 0; attempt < r.opts.AppendRetries; attempt++ {
		if _, err := r.refresh(ctx); err != nil {
			return nil, err
		}
		r.mu.RLock()
		e, err := build(r.st)
		seq, head := r.st.Seq, r.st.Head
		r.mu.RUnlock()
		if errors.Is(err, errNoop) {
			if e == nil {
				e = &Event{}
			}
			e.NoOp, e.Seq = true, seq
			return e, nil
		}
		if err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err // not started: nothing to decide
		}
		e.Seq = seq + 1
		e.ID = newID()
		e.Prev = head
		e.Time = r.opts.Now().UTC()
		if caller != nil {
			e.Actor, e.Reason = caller.Actor, caller.Reason
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.opts.CommitTimeout)
		hash, err := r.log.commit(cctx, e)
		cancel()
		if errors.Is(err, errLostRace) {
			r.logger.Debug("registry: lost append race", "seq", e.Seq, "attempt", attempt)
			continue
		}
		if err != nil {
			return nil, &uncertainAppendError{seq: e.Seq, id: e.ID, err: fmt.Errorf("append event %d: %w", e.Seq, err)}
		}
		if _, err := r.applyEvents([]loggedEvent{{e, hash}}); err != nil {
			return nil, err
		}
		if e.Seq%int64(r.opts.CheckpointEvery) == 0 {
			r.checkpoint(context.WithoutCancel(ctx))
		}
		return e, nil
	}
	return nil, fmt.Errorf("%w: gave up after %d attempts to append", ErrConflict, r.opts.AppendRetries)
}

// uncertainAppendError is a failed write of an event: the store reported
// an error, and reading the slot did not settle whether the event is
// there (it may yet land: a write the store still processes).
type uncertainAppendError struct {
	seq int64
	id  string
	err error
}

func (e *uncertainAppendError) Error() string { return e.err.Error() }
func (e *uncertainAppendError) Unwrap() error { return e.err }

// landed reports whether the event whose append failed with err is in the
// log after all, by its ID. It returns an error when that cannot be known.
func (r *Registry) landed(ctx context.Context, err error) (bool, error) {
	var ue *uncertainAppendError
	if !errors.As(err, &ue) {
		return false, nil
	}
	e, _, err := r.log.read(ctx, ue.seq)
	if errors.Is(err, storage.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if e.ID != ue.id {
		return false, nil
	}
	return true, r.Sync(ctx)
}

// checkpoint writes a snapshot of the current state. Failure is logged,
// not returned: checkpoints only make Open faster.
func (r *Registry) checkpoint(ctx context.Context) {
	r.mu.RLock()
	st := r.st.clone()
	r.mu.RUnlock()
	if err := r.log.writeCheckpoint(ctx, st); err != nil {
		r.logger.Warn("registry: checkpoint failed", "seq", st.Seq, "err", err)
	}
}

// Sync reads events that other processes appended since the last read.
// Operations that change the registry sync first on their own; Sync is
// for readers that want List and Get to be current.
func (r *Registry) Sync(ctx context.Context) error {
	_, err := r.refresh(ctx)
	return err
}

// ListOptions filters [Registry.List].
type ListOptions struct {
	// Status keeps only versions in this status.
	Status Status
}

// List returns the registered versions, newest version first (see
// modelpkg.CompareVersions). It reflects what this process has read of the
// log; call Sync first to include other processes' latest changes.
func (r *Registry) List(opts *ListOptions) []*Version {
	r.mu.RLock()
	out := make([]*Version, 0, len(r.st.Versions))
	for _, v := range r.st.Versions {
		if opts != nil && opts.Status != "" && v.Status != opts.Status {
			continue
		}
		out = append(out, v.clone())
	}
	r.mu.RUnlock()
	slices.SortFunc(out, func(a, b *Version) int { return modelpkg.CompareVersions(b.Version, a.Version) })
	return out
}

// Get returns one version, or an error matching [ErrNotFound].
func (r *Registry) Get(version string) (*Version, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	v := r.st.Versions[version]
	if v == nil {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, version)
	}
	return v.clone(), nil
}

// Deployed returns the deployed version, or an error matching
// [ErrNotFound] when none is deployed.
func (r *Registry) Deployed() (*Version, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	v := r.st.Versions[r.st.Current]
	if v == nil {
		return nil, fmt.Errorf("%w: nothing is deployed", ErrNotFound)
	}
	return v.clone(), nil
}
