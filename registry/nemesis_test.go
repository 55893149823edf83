package registry_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelvault/modelvault/storage"
)

// The nemesis of the linearizability check: a store wrapper that injects
// the faults real clouds produce, at random, into every call of every
// registry sharing the store, and a clock that jumps past claim leases.

// faultKind names one kind of injected fault.
type faultKind string

const (
	// faultLostResponse: the call is performed, its response is lost, and
	// the SDK retries it. A retried conditional create then reports
	// ErrExist for the caller's own object; a retried delete ErrNotExist.
	faultLostResponse faultKind = "lost-response-retried"
	// faultCancelAfter: the call is performed, then reports context
	// cancellation (the caller's context was cancelled as it committed).
	faultCancelAfter faultKind = "cancel-after-commit"
	// faultTimeoutAfter: the call is performed, then reports a timeout.
	faultTimeoutAfter faultKind = "timeout-after-commit"
	// faultErrorBefore: the call fails without doing anything.
	faultErrorBefore faultKind = "error-before"
	// faultDelay: the call is delayed by up to two milliseconds.
	faultDelay faultKind = "delay"
	// faultClockJump: the registries' clock jumps past the claim lease.
	faultClockJump faultKind = "clock-jump-past-lease"
	// faultClientCancel: a client cancels an operation's context midway.
	faultClientCancel faultKind = "client-cancel"
	// faultTamper: a stored file is changed, and restored later.
	faultTamper faultKind = "tamper-file"
)

var errNemesis = errors.New("nemesis: injected fault")

// faultCounts counts injected faults per kind.
type faultCounts struct {
	mu sync.Mutex
	n  map[faultKind]int
}

func (c *faultCounts) add(k faultKind) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[faultKind]int{}
	}
	c.n[k]++
}

func (c *faultCounts) snapshot() map[faultKind]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[faultKind]int, len(c.n))
	for k, v := range c.n {
		out[k] = v
	}
	return out
}

func (c *faultCounts) String() string {
	m := c.snapshot()
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// nemesisStore injects faults into the calls of the store it wraps while
// it is enabled. Rates are per call, in percent.
type nemesisStore struct {
	inner  storage.Store
	counts *faultCounts

	enabled atomic.Bool
	mu      sync.Mutex
	rng     *rand.Rand
	// rate is the chance in percent that a call gets a fault.
	rate int
}

var _ storage.Store = (*nemesisStore)(nil)

func newNemesisStore(inner storage.Store, seed uint64, rate int, counts *faultCounts) *nemesisStore {
	return &nemesisStore{inner: inner, counts: counts, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), rate: rate}
}

// pick chooses the fault for a call of the given kind ("" for none).
func (s *nemesisStore) pick(mutating bool) (faultKind, time.Duration) {
	if !s.enabled.Load() {
		return "", 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var delay time.Duration
	if s.rng.IntN(100) < 10 {
		delay = time.Duration(s.rng.IntN(2000)) * time.Microsecond
	}
	if s.rng.IntN(100) >= s.rate {
		return "", delay
	}
	if !mutating {
		return faultErrorBefore, delay
	}
	switch s.rng.IntN(4) {
	case 0:
		return faultLostResponse, delay
	case 1:
		return faultCancelAfter, delay
	case 2:
		return faultTimeoutAfter, delay
	}
	return faultErrorBefore, delay
}

func (s *nemesisStore) delay(d time.Duration) {
	if d > 0 {
		s.counts.add(faultDelay)
		time.Sleep(d)
	}
}

func nemesisErr(k faultKind, op, key string) error {
	switch k {
	case faultCancelAfter:
		return fmt.Errorf("%s %s: %w (%w: %s)", op, key, context.Canceled, errNemesis, k)
	case faultTimeoutAfter:
		return fmt.Errorf("%s %s: %w (%w: %s)", op, key, context.DeadlineExceeded, errNemesis, k)
	}
	return fmt.Errorf("%s %s: %w (%s)", op, key, errNemesis, k)
}

func (s *nemesisStore) Get(ctx context.Context, key string) (storage.Reader, error) {
	k, d := s.pick(false)
	s.delay(d)
	if k != "" {
		s.counts.add(k)
		return nil, nemesisErr(k, "get", key)
	}
	return s.inner.Get(ctx, key)
}

func (s *nemesisStore) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	k, d := s.pick(false)
	s.delay(d)
	if k != "" {
		s.counts.add(k)
		return storage.ObjectInfo{}, nemesisErr(k, "stat", key)
	}
	return s.inner.Stat(ctx, key)
}

func (s *nemesisStore) List(ctx context.Context, opts *storage.ListOptions) (*storage.ListPage, error) {
	k, d := s.pick(false)
	s.delay(d)
	if k != "" {
		s.counts.add(k)
		return nil, nemesisErr(k, "list", "")
	}
	return s.inner.List(ctx, opts)
}

func (s *nemesisStore) Put(ctx context.Context, key string, r io.Reader, opts *storage.PutOptions) error {
	k, d := s.pick(true)
	s.delay(d)
	switch k {
	case "":
		return s.inner.Put(ctx, key, r, opts)
	case faultErrorBefore:
		s.counts.add(k)
		_, _ = io.CopyN(io.Discard, r, 512)
		return nemesisErr(k, "put", key)
	}
	// The test's objects are small: keep the data to replay it as an
	// SDK's retry does.
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := s.inner.Put(ctx, key, bytes.NewReader(data), opts); err != nil {
		return err
	}
	s.counts.add(k)
	if k == faultLostResponse {
		// The SDK retries the request whose response was lost: a
		// conditional create now finds the caller's own object.
		return s.inner.Put(ctx, key, bytes.NewReader(data), opts)
	}
	return nemesisErr(k, "put", key)
}

func (s *nemesisStore) Delete(ctx context.Context, key string) error {
	k, d := s.pick(true)
	s.delay(d)
	switch k {
	case "":
		return s.inner.Delete(ctx, key)
	case faultErrorBefore:
		s.counts.add(k)
		return nemesisErr(k, "delete", key)
	}
	if err := s.inner.Delete(ctx, key); err != nil {
		return err
	}
	s.counts.add(k)
	if k == faultLostResponse {
		return s.inner.Delete(ctx, key)
	}
	return nemesisErr(k, "delete", key)
}

// jumpClock is a registry clock that a nemesis moves forward, past claim
// leases, so that claims of imports in progress look abandoned.
type jumpClock struct{ offset atomic.Int64 }

func (c *jumpClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

func (c *jumpClock) jump(d time.Duration) { c.offset.Add(int64(d)) }
