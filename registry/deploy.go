package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/validate"
)

// Deploy makes version the registry's deployed version, replacing the
// one deployed before (whatever its model_type: a registry is one model's
// lineage). The version must be valid; its files are re-verified
// against their digests and, when [Options.Loader] is set, loaded as a
// test, before the deploy is recorded. Deploying the version that is
// already deployed is a no-op that records nothing and returns an event
// with NoOp set.
func (r *Registry) Deploy(ctx context.Context, version string, caller *Caller) (*Event, error) {
	e, err := r.deploy(ctx, version, EventDeployed, caller, nil)
	if err != nil {
		return nil, fmt.Errorf("deploy %s: %w", version, err)
	}
	return e, nil
}

// RollbackOptions controls [Registry.Rollback].
type RollbackOptions struct {
	Caller
	// To is the version to roll back to. Empty means the version that was
	// deployed before the current one, from history.
	To string
}

// Rollback deploys an earlier version again: opts.To, or the one deployed
// before the current one. Rolling back twice goes back two deployments.
// It fails with [ErrNoPrevious] when there is nothing to go back to.
func (r *Registry) Rollback(ctx context.Context, opts *RollbackOptions) (*Event, error) {
	var o RollbackOptions
	if opts != nil {
		o = *opts
	}
	if o.To != "" {
		e, err := r.deploy(ctx, o.To, EventRolledBack, &o.Caller, nil)
		if err != nil {
			return nil, fmt.Errorf("rollback to %s: %w", o.To, err)
		}
		return e, nil
	}
	// The target is the previous deployment of the state the event lands
	// on, not of the state this call started from: a deploy or rollback
	// that lands first changes it. The chosen target is load-tested before
	// the append; the append's build re-derives it, and a different answer
	// starts over with the new target.
	for attempt := 0; attempt < r.opts.AppendRetries; attempt++ {
		if err := r.Sync(ctx); err != nil {
			return nil, fmt.Errorf("rollback: %w", err)
		}
		r.mu.RLock()
		target, err := r.st.previous()
		r.mu.RUnlock()
		if err != nil {
			return nil, fmt.Errorf("rollback: %w", err)
		}
		e, err := r.deploy(ctx, target, EventRolledBack, &o.Caller, func(st *state) error {
			now, err := st.previous()
			if err != nil {
				return err
			}
			if now != target {
				return errRetarget
			}
			return nil
		})
		if errors.Is(err, errRetarget) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("rollback to %s: %w", target, err)
		}
		return e, nil
	}
	return nil, fmt.Errorf("rollback: %w: the previous deployment kept changing", ErrConflict)
}

// errRetarget: the previous deployment changed before a rollback's append.
var errRetarget = errors.New("rollback target changed")

// previous returns the version a rollback returns to.
func (s *state) previous() (string, error) {
	stack := s.Rollbacks
	for i := len(stack) - 2; i >= 0; i-- {
		if v := s.Versions[stack[i]]; v != nil && v.Valid && stack[i] != s.Current {
			return stack[i], nil
		}
	}
	if s.Current == "" {
		return "", fmt.Errorf("%w: nothing is deployed", ErrNoPrevious)
	}
	return "", fmt.Errorf("%w: %q is the only valid deployment in the history", ErrNoPrevious, s.Current)
}

// deploy records typ of version after load-testing it. check, when set,
// is one more precondition on the state the event lands on.
func (r *Registry) deploy(ctx context.Context, version string, typ EventType, caller *Caller, check func(*state) error) (*Event, error) {
	if err := r.Sync(ctx); err != nil {
		return nil, err
	}
	v, err := r.Get(version)
	if err != nil && check != nil {
		return nil, errRetarget // deleted meanwhile: derive the target again
	}
	if err != nil {
		return nil, err
	}
	if v.Deployed && check == nil {
		r.mu.RLock()
		seq := r.st.Seq
		r.mu.RUnlock()
		return &Event{Type: typ, Version: version, From: version, To: version, Seq: seq, NoOp: true}, nil
	}
	if !v.Valid {
		return nil, fmt.Errorf("%w: %q failed validation", ErrInvalid, version)
	}
	if err := r.loadTest(ctx, v); err != nil {
		return nil, err
	}
	return r.appendEvent(ctx, caller, func(st *state) (*Event, error) {
		cur := st.Versions[version]
		if cur == nil {
			return nil, fmt.Errorf("%w: %q was deleted meanwhile", ErrNotFound, version)
		}
		if !cur.Valid {
			return nil, fmt.Errorf("%w: %q failed validation", ErrInvalid, version)
		}
		if check != nil {
			if err := check(st); err != nil {
				return nil, err
			}
		}
		from := st.Current
		e := &Event{Type: typ, Version: version, From: from, To: version}
		if from == version {
			return noop(e)
		}
		return e, nil
	})
}

// loadTest verifies v's files and, with a Loader configured, loads it
// through the verifying view so that the files the loader reads are
// checked in the same pass.
func (r *Registry) loadTest(ctx context.Context, v *Version) error {
	if r.opts.Loader == nil {
		return r.verifyVersion(ctx, v)
	}
	vfs := newVerifyingFS(ctx, r.store, v)
	if err := r.checkSignature(ctx, vfs, v); err != nil {
		return err
	}
	m, lerr := r.opts.Loader.Load(ctx, r.loadPackage(vfs, v))
	if c, ok := m.(io.Closer); ok && lerr == nil {
		_ = c.Close()
	}
	if err := vfs.verifyRest(ctx); err != nil {
		r.notify(Notice{Kind: NoticeVerificationFailed, Version: v.Version, Err: err})
		return fmt.Errorf("verify %s: %w", v.Version, err)
	}
	if lerr != nil {
		return fmt.Errorf("%w: %w", ErrLoad, lerr)
	}
	return nil
}

// loadPackage describes v to a Loader.
func (r *Registry) loadPackage(vfs *verifyingFS, v *Version) *Package {
	p := &Package{Version: v, FS: vfs}
	if lp, ok := r.store.(interface{ LocalPath(string) (string, error) }); ok {
		if dir, err := lp.LocalPath(v.Dir() + r.layout.ModelFile); err == nil {
			p.LocalDir = dir[:len(dir)-len(r.layout.ModelFile)]
		}
	}
	return p
}

// Delete removes a version and its files. The deployed version cannot be
// deleted ([ErrInUse]); deploy another or roll back first. Once its event
// is recorded the delete has succeeded: files it fails to remove are
// removed by a later [Registry.Repair], not reported as a failure.
func (r *Registry) Delete(ctx context.Context, version string, caller *Caller) (*Event, error) {
	e, err := r.appendEvent(ctx, caller, func(st *state) (*Event, error) {
		v := st.Versions[version]
		if v == nil {
			return nil, fmt.Errorf("%w: %q", ErrNotFound, version)
		}
		if st.Current == version {
			return nil, fmt.Errorf("%w: %q is deployed", ErrInUse, version)
		}
		return &Event{Type: EventDeleted, Version: version}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("delete %s: %w", version, err)
	}
	// The event is the commit point: the version is deleted whatever
	// happens next. Files a failure (or a crash, or a re-import that holds
	// the claim) leaves are removed by a later repair.
	if _, err := r.removeDeletedFiles(ctx, version); err != nil {
		r.logger.Warn("registry: files of a deleted version left to a repair", "version", version, "err", err)
	}
	return e, nil
}

// removeDeletedFiles removes the files of a deleted version while holding
// its import claim, so that a re-import of the same version cannot start
// in between and lose the files it writes. If an import holds the claim,
// the files are left alone: that import refuses to extract over them, and
// a later repair removes them.
func (r *Registry) removeDeletedFiles(ctx context.Context, version string) (removed bool, err error) {
	claim, err := r.claim(ctx, version)
	if errors.Is(err, ErrConflict) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer claim.release(context.WithoutCancel(ctx))
	if err := r.Sync(ctx); err != nil {
		return false, err
	}
	if r.has(version) {
		return false, nil // imported again before we claimed
	}
	r.mu.RLock()
	other := r.st.alias(version)
	r.mu.RUnlock()
	if other != "" {
		// On a case-insensitive store these are other's files.
		return false, nil
	}
	if err := storage.DeletePrefix(ctx, r.store, modelpkg.DirName(version)+"/"); err != nil {
		return false, err
	}
	return true, nil
}

// PruneOptions controls [Registry.Prune].
type PruneOptions struct {
	Caller
	// Keep is how many versions besides the deployed one to keep: the
	// most recently imported ones.
	Keep int
	// DryRun reports what would be deleted without deleting it.
	DryRun bool
}

// Prune deletes every version except the deployed one and the Keep most
// recently imported others. It returns the versions it
// deleted (or would delete, with DryRun).
func (r *Registry) Prune(ctx context.Context, opts *PruneOptions) ([]string, error) {
	var o PruneOptions
	if opts != nil {
		o = *opts
	}
	if o.Keep < 0 {
		return nil, fmt.Errorf("prune: Keep must not be negative")
	}
	if err := r.Sync(ctx); err != nil {
		return nil, err
	}
	var vs []*Version
	for _, v := range r.List(nil) {
		if !v.Deployed {
			vs = append(vs, v)
		}
	}
	slices.SortFunc(vs, func(a, b *Version) int {
		if c := b.ImportedAt.Compare(a.ImportedAt); c != 0 {
			return c
		}
		return modelpkg.CompareVersions(b.Version, a.Version)
	})
	var victims []string
	for _, v := range vs[min(o.Keep, len(vs)):] {
		victims = append(victims, v.Version)
	}
	if o.DryRun {
		return victims, nil
	}
	var deleted []string
	for _, v := range victims {
		if _, err := r.Delete(ctx, v, &o.Caller); err != nil {
			return deleted, fmt.Errorf("prune: %w", err)
		}
		deleted = append(deleted, v)
	}
	return deleted, nil
}

// Validate checks a stored version again: every file is re-hashed and the
// registry's validators run. A version that fails is marked invalid (it
// stays deployed if it was, so serving is not interrupted; see the
// findings); an invalid version that now passes becomes available.
func (r *Registry) Validate(ctx context.Context, version string, caller *Caller) (*validate.Report, error) {
	if err := r.Sync(ctx); err != nil {
		return nil, err
	}
	v, err := r.Get(version)
	if err != nil {
		return nil, fmt.Errorf("validate %s: %w", version, err)
	}
	report, digests, err := r.checkStored(ctx, version, v.Files)
	if err != nil {
		return nil, fmt.Errorf("validate %s: %w", version, err)
	}
	valid := report.Valid()
	if !valid {
		r.notify(Notice{Kind: NoticeVerificationFailed, Version: version, Err: report.Err(), Findings: report.Findings})
	}
	wasInvalid := !v.Valid
	if valid == !wasInvalid {
		return report, nil
	}
	rec := v.clone()
	rec.Findings = report.Findings
	if valid {
		rec.Files = digests
	}
	typ := EventInvalid
	if valid {
		typ = EventImported
	}
	_, err = r.appendEvent(ctx, caller, func(st *state) (*Event, error) {
		if st.Versions[version] == nil {
			return nil, fmt.Errorf("%w: %q was deleted meanwhile", ErrNotFound, version)
		}
		return &Event{Type: typ, Version: version, Record: rec}, nil
	})
	if err != nil {
		return report, fmt.Errorf("validate %s: %w", version, err)
	}
	return report, nil
}
