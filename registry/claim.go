package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/storage"
)

// Import claims. An import (and the removal of a deleted version's files)
// holds the version's claim, a conditional create at claimKey, so that no
// two processes write one version's files at once. Every claim carries a
// random token, and everything destructive is fenced by it:
//
//   - a create answered "exists" reads the claim: our token there is our
//     own write retried by the store client, so we hold it;
//   - a claim is judged stale from its start and its holder's heartbeats
//     (a lease object per token, rewritten while the import runs), by the
//     registry's clock ([Options.Now]);
//   - a stale claim is taken over only after re-reading that the claim is
//     still the one judged stale (same token), right before its files are
//     removed and again right before the claim is;
//   - an importer re-checks that it holds its claim right before its
//     commit, and its heartbeat cancels the import as soon as it finds the
//     claim taken; an importer that lost its claim leaves the files alone.
const (
	leasePrefix = registryPrefix + "leases/"
	// maxClaimSize bounds a claim or lease object read back.
	maxClaimSize = 1 << 16
)

func leaseKey(token string) string { return leasePrefix + token + ".json" }

// claimRecord is stored at a claim key while an import is in progress.
type claimRecord struct {
	Version string    `json:"version"`
	Token   string    `json:"token,omitempty"`
	Started time.Time `json:"started"`
	Host    string    `json:"host,omitempty"`
	PID     int       `json:"pid,omitempty"`
}

// leaseRecord is a claim holder's heartbeat.
type leaseRecord struct {
	Version string    `json:"version"`
	Renewed time.Time `json:"renewed"`
}

// heldClaim is a claim this process holds.
type heldClaim struct {
	r       *Registry
	version string
	token   string

	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
}

// readClaim returns the version's claim, its token (a claim written before
// tokens existed is identified by its bytes) and the time it was last
// known alive, or an error matching storage.ErrNotExist.
func (r *Registry) readClaim(ctx context.Context, version string) (rec claimRecord, alive time.Time, err error) {
	key := claimKey(version)
	info, err := r.store.Stat(ctx, key)
	if err != nil {
		return rec, alive, err
	}
	data, err := readLimited(ctx, r.store, key, maxClaimSize)
	if err != nil {
		return rec, alive, err
	}
	if json.Unmarshal(data, &rec) != nil {
		rec = claimRecord{Version: version}
	}
	if rec.Token == "" {
		rec.Token = "legacy-" + hashOf(data)
	}
	alive = info.ModTime
	if rec.Started.After(alive) {
		alive = rec.Started
	}
	if ldata, err := readLimited(ctx, r.store, leaseKey(rec.Token), maxClaimSize); err == nil {
		var l leaseRecord
		if json.Unmarshal(ldata, &l) == nil && l.Version == version && l.Renewed.After(alive) {
			alive = l.Renewed
		}
	} else if !errors.Is(err, storage.ErrNotExist) {
		return rec, alive, err
	}
	return rec, alive, nil
}

// claim takes the version's import claim with a conditional create. A
// claim whose holder was last alive longer than the lease ago was
// abandoned (its importer died) and is taken over, fenced by its token.
func (r *Registry) claim(ctx context.Context, version string) (*heldClaim, error) {
	host, _ := os.Hostname()
	token := newID()
	data, _ := json.Marshal(claimRecord{Version: version, Token: token, Started: r.opts.Now().UTC(), Host: host, PID: os.Getpid()})
	key := claimKey(version)
	for attempt := 0; attempt < 3; attempt++ {
		err := r.store.Put(ctx, key, bytes.NewReader(data), &storage.PutOptions{IfNotExist: true, ContentType: "application/json"})
		if err == nil {
			return r.hold(version, token), nil
		}
		// Taken or unknown: the claim says whose it is.
		rec, alive, rerr := r.readClaim(ctx, version)
		switch {
		case rerr == nil && rec.Token == token:
			return r.hold(version, token), nil
		case errors.Is(rerr, storage.ErrNotExist):
			if !errors.Is(err, storage.ErrExist) && ctx.Err() != nil {
				return nil, err
			}
			// Released meanwhile (its import finished, and the caller
			// re-checks the log once it holds the claim, or failed), or
			// our write did not land: claim again.
			continue
		case rerr != nil:
			return nil, rerr
		}
		if !errors.Is(err, storage.ErrExist) {
			return nil, err
		}
		if r.opts.Now().Sub(alive) <= r.opts.ClaimLease {
			break
		}
		if err := r.removeAbandoned(ctx, version, rec.Token); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("%w: an import of %q is in progress", ErrConflict, version)
}

// hold starts the heartbeat of a claim just taken.
func (r *Registry) hold(version, token string) *heldClaim {
	return &heldClaim{r: r, version: version, token: token, stop: make(chan struct{}), done: make(chan struct{})}
}

// heartbeat renews the claim's lease every quarter lease until release,
// and calls lost (once) when it finds the claim is no longer ours. A
// heartbeat that fails is retried at the next beat: only a claim seen
// taken is lost.
func (h *heldClaim) heartbeat(lost func()) {
	go func() {
		defer close(h.done)
		every := max(h.r.opts.ClaimLease/4, time.Millisecond)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), every)
			held, err := h.held(ctx)
			if err == nil && !held {
				cancel()
				lost()
				return
			}
			data, _ := json.Marshal(leaseRecord{Version: h.version, Renewed: h.r.opts.Now().UTC()})
			if err := h.r.store.Put(ctx, leaseKey(h.token), bytes.NewReader(data), &storage.PutOptions{ContentType: "application/json"}); err != nil {
				h.r.logger.Warn("registry: claim heartbeat", "version", h.version, "err", err)
			}
			cancel()
		}
	}()
}

// held reports whether the claim is still ours.
func (h *heldClaim) held(ctx context.Context) (bool, error) {
	data, err := readLimited(ctx, h.r.store, claimKey(h.version), maxClaimSize)
	if errors.Is(err, storage.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var rec claimRecord
	return json.Unmarshal(data, &rec) == nil && rec.Token == h.token, nil
}

// stopHeartbeat stops the heartbeat, if one was started, and waits for it.
func (h *heldClaim) stopHeartbeat(started bool) {
	h.stopOnce.Do(func() { close(h.stop) })
	if started {
		<-h.done
	}
}

// release removes the claim if it is still ours, and its lease.
func (h *heldClaim) release(ctx context.Context) {
	if held, err := h.held(ctx); err != nil || !held {
		if err != nil {
			h.r.logger.Warn("registry: release claim", "version", h.version, "err", err)
		}
	} else if err := h.r.store.Delete(ctx, claimKey(h.version)); err != nil {
		h.r.logger.Warn("registry: release claim", "version", h.version, "err", err)
	}
	if err := h.r.store.Delete(ctx, leaseKey(h.token)); err != nil {
		h.r.logger.Warn("registry: release claim lease", "version", h.version, "err", err)
	}
}

// forget leaves the claim in place for a repair, which takes it over once
// its lease has passed (the heartbeat is not running), with everything
// under the version's directory.
func (h *heldClaim) forget(ctx context.Context) {
	h.stopHeartbeat(false)
	h.r.logger.Debug("registry: claim left to a repair", "version", h.version, "token", h.token)
}

// stillClaimed reports whether the version's claim still carries token.
func (r *Registry) stillClaimed(ctx context.Context, version, token string) (bool, error) {
	rec, _, err := r.readClaim(ctx, version)
	if errors.Is(err, storage.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return rec.Token == token, nil
}

// removeAbandoned removes the files and the claim of an import that died,
// the claim judged stale carrying token. It reads the log's tail first (an
// import that finished in another process must never lose its files to
// this process's stale view) and re-reads the claim right before each
// destructive step: a claim taken over meanwhile by another process, which
// may be importing, is left alone with its files.
func (r *Registry) removeAbandoned(ctx context.Context, version, token string) error {
	if err := r.Sync(ctx); err != nil {
		return err
	}
	ok, err := r.stillClaimed(ctx, version, token)
	if err != nil || !ok {
		return err
	}
	r.mu.RLock()
	other := r.st.alias(version)
	r.mu.RUnlock()
	remove := !r.imported(version) && other == ""
	if remove {
		// Fence the claim in the log first: an import holding it cannot
		// commit after this event, and one that committed before it
		// makes it a no-op, which leaves its files alone.
		e, err := r.appendEvent(ctx, &Caller{Actor: "repair", Reason: "abandoned import claim"}, func(st *state) (*Event, error) {
			if v := st.Versions[version]; v != nil && v.Valid {
				return noop(&Event{})
			}
			return &Event{Type: EventClaimExpired, Version: version, Claim: token}, nil
		})
		if err != nil {
			return err
		}
		remove = !e.NoOp
	}
	// A registered alias owns the directory on a case-insensitive store.
	if remove {
		if err := storage.DeletePrefix(ctx, r.store, modelpkg.DirName(version)+"/"); err != nil {
			return err
		}
		if ok, err = r.stillClaimed(ctx, version, token); err != nil || !ok {
			return err
		}
	}
	if err := r.store.Delete(ctx, claimKey(version)); err != nil {
		return err
	}
	if err := r.store.Delete(ctx, leaseKey(token)); err != nil {
		r.logger.Warn("registry: remove abandoned lease", "version", version, "err", err)
	}
	return nil
}
