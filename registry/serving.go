package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/storage"
)

// servingPrefix holds one object per running [Live]: what it serves.
const servingPrefix = registryPrefix + "serving/"

// Bounds of the serving states.
const (
	// maxServingSize bounds one published state when reading it back.
	maxServingSize = 64 << 10
	// servingStaleAfter is how many publish intervals a state may go
	// without a refresh before readers treat its Live as gone.
	servingStaleAfter = 3
	// servingGCAfter is how long after it went stale a state is removed
	// by a reader ([Registry.Serving]).
	servingGCAfter = time.Hour
	// maxLiveName bounds LiveOptions.Name.
	maxLiveName = 128
)

// ErrLiveName: LiveOptions.Name is not a valid name.
var ErrLiveName = modelpkg.NewError("invalid_live_name", "registry: invalid Live name")

// ServingState is what one [Live] serves, as [Live.Status] reports it and
// [Registry.Serving] lists it for every running Live sharing the store,
// so an operator sees a fleet converge ("3 of 3 replicas serve 2.0", "1
// failed to load 2.1: ...").
type ServingState struct {
	// Name identifies the Live (see LiveOptions.Name).
	Name string `json:"name"`
	// Model is the name of the registry the Live follows (Options.Name,
	// "" when not given).
	Model string `json:"model,omitempty"`
	// Version is the version served ("" when none).
	Version string `json:"version"`
	// Since is when Version began to be served.
	Since time.Time `json:"since,omitzero"`
	// Want is the deployed version as this Live last read it: what it
	// should serve. Version != Want means it has not converged (yet).
	Want string `json:"want,omitempty"`
	// LastError is the error of the last failed load, "" once a load
	// succeeded; ErrorVersion is the version it failed to load,
	// ErrorTime when, and Failures how many loads of it failed in a row.
	LastError    string    `json:"last_error,omitempty"`
	ErrorVersion string    `json:"error_version,omitempty"`
	ErrorTime    time.Time `json:"error_time,omitzero"`
	Failures     int       `json:"failures,omitempty"`
	// Updated is when the state was published, and Expires when readers
	// stop trusting it (three publish intervals later): a Live that
	// stopped without Close ages out. Both are zero in [Live.Status].
	Updated time.Time `json:"updated,omitzero"`
	Expires time.Time `json:"expires,omitzero"`
}

// Converged reports whether the Live serves the deployed version it
// knows of.
func (s ServingState) Converged() bool { return s.Version != "" && s.Version == s.Want }

// Status returns what the Live serves now.
func (l *Live[M]) Status() ServingState {
	l.stMu.Lock()
	defer l.stMu.Unlock()
	return l.st
}

// Name returns the name the Live publishes its state under.
func (l *Live[M]) Name() string { return l.name }

// update changes the Live's state, wakes WaitFor and the publisher.
func (l *Live[M]) update(f func(st *ServingState)) {
	l.stMu.Lock()
	before := l.st
	f(&l.st)
	if l.st != before {
		close(l.changed)
		l.changed = make(chan struct{})
	}
	l.stMu.Unlock()
	select {
	case l.dirty <- struct{}{}:
	default:
	}
}

// WaitFor waits until the Live serves version. It returns nil once it
// does, an error matching [ErrClosed] when the Live is closed first, and
// ctx's error when ctx is done first (joined with the last failed load of
// version, if any: a failed load is retried, so WaitFor keeps waiting
// through failures until ctx ends).
//
// A host that deploys and wants this process to serve the new version
// right after calls it with the deployed event's version:
//
//	e, err := reg.Deploy(ctx, "2.0", nil)
//	...
//	err = live.WaitFor(ctx, e.To)
func (l *Live[M]) WaitFor(ctx context.Context, version string) error {
	for {
		l.stMu.Lock()
		st, changed := l.st, l.changed
		l.stMu.Unlock()
		if l.closed.Load() {
			return fmt.Errorf("wait for %s: %w", version, ErrClosed)
		}
		if st.Version == version {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			err := fmt.Errorf("wait for %s: %w", version, ctx.Err())
			if st.ErrorVersion == version && st.LastError != "" {
				err = fmt.Errorf("%w (last load failed: %s)", err, st.LastError)
			}
			return err
		}
	}
}

// publish writes the Live's state to the store on every change (at most
// every PublishInterval/10, and at most once a second) and every
// PublishInterval, and removes it when ctx ends.
func (l *Live[M]) publish(ctx context.Context) {
	defer close(l.pubDone)
	interval := l.opts.PublishInterval
	gap := min(interval/10, time.Second)
	key := servingPrefix + l.name + ".json"
	heartbeat := time.NewTimer(0)
	defer heartbeat.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := l.reg.store.Delete(dctx, key); err != nil && !errors.Is(err, storage.ErrNotExist) {
				l.reg.logger.Debug("registry: live: remove serving state", "name", l.name, "err", err)
			}
			cancel()
			return
		case <-l.dirty:
		case <-heartbeat.C:
		}
		st := l.Status()
		st.Updated = l.reg.opts.Now().UTC()
		st.Expires = st.Updated.Add(servingStaleAfter * interval)
		data, err := json.Marshal(&st)
		if err == nil {
			err = l.reg.store.Put(ctx, key, bytes.NewReader(data), &storage.PutOptions{ContentType: "application/json"})
		}
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			failing = true
			l.reg.logger.Warn("registry: live: publish serving state", "name", l.name, "err", err)
		case err == nil:
			failing = false
			l.publishes.Add(1)
		}
		heartbeat.Reset(interval)
		t := time.NewTimer(gap) // bounds the write rate
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
}

// Serving returns the state every running [Live] sharing the store
// publishes (this process's and others'), sorted by name. States whose
// Live stopped without Close (not refreshed for three of its publish
// intervals) are left out, and removed an hour later.
func (r *Registry) Serving(ctx context.Context) ([]ServingState, error) {
	now := r.opts.Now()
	var out []ServingState
	for obj, err := range storage.All(ctx, r.store, &storage.ListOptions{Prefix: servingPrefix}) {
		if err != nil {
			return nil, fmt.Errorf("serving: %w", err)
		}
		if !strings.HasSuffix(obj.Key, ".json") {
			continue
		}
		data, err := readLimited(ctx, r.store, obj.Key, maxServingSize)
		if errors.Is(err, storage.ErrNotExist) {
			continue // its Live closed meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("serving: %w", err)
		}
		var st ServingState
		if err := json.Unmarshal(data, &st); err != nil {
			r.logger.Warn("registry: serving: unreadable state", "key", obj.Key, "err", err)
			continue
		}
		if now.After(st.Expires) {
			if now.After(st.Expires.Add(servingGCAfter)) {
				_ = r.store.Delete(ctx, obj.Key)
			}
			continue
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b ServingState) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// defaultLiveName returns host-pid-random, reduced to a valid name.
func defaultLiveName() string {
	host, _ := os.Hostname()
	var b strings.Builder
	for _, c := range host {
		if b.Len() >= 64 {
			break
		}
		if liveNameChar(c) {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		b.WriteString("host")
	}
	b.WriteString("-" + strconv.Itoa(os.Getpid()))
	b.WriteString("-" + strconv.FormatUint(rand.Uint64()&0xffffff, 16))
	return b.String()
}

func liveNameChar(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}

func validLiveName(s string) bool {
	if s == "" || len(s) > maxLiveName || s[0] == '.' {
		return false
	}
	for _, c := range s {
		if !liveNameChar(c) {
			return false
		}
	}
	return true
}
