package registry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/storage"
)

// callHookStore calls its hooks around a store's calls (nil hooks do nothing).
type callHookStore struct {
	storage.Store
	afterGet  func(key string)
	beforePut func(key string, opts *storage.PutOptions)
	afterPut  func(key string, data []byte)
}

func (s *callHookStore) Get(ctx context.Context, key string) (storage.Reader, error) {
	r, err := s.Store.Get(ctx, key)
	if s.afterGet != nil {
		s.afterGet(key)
	}
	return r, err
}

func (s *callHookStore) Put(ctx context.Context, key string, r io.Reader, opts *storage.PutOptions) error {
	if s.beforePut != nil {
		s.beforePut(key, opts)
	}
	if s.afterPut == nil {
		return s.Store.Put(ctx, key, r, opts)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := s.Store.Put(ctx, key, bytes.NewReader(data), opts); err != nil {
		return err
	}
	s.afterPut(key, data)
	return nil
}

// fakeClock is a controllable clock for leases.
type fakeClock struct{ t atomic.Int64 }

func newFakeClock(t time.Time) *fakeClock {
	c := &fakeClock{}
	c.t.Store(t.UnixNano())
	return c
}
func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.t.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.t.Add(int64(d)) }

const claimKey10 = "_registry/claims/1.0.json"

// TestStaleClaimTakeoverIsFenced is scenario 3 of issue 11: replica B
// judges an abandoned claim stale and is paused; replica A takes the claim
// over and imports; B resumes while A commits. B must not remove A's
// files: it re-reads the claim and finds another token.
func TestStaleClaimTakeoverIsFenced(t *testing.T) {
	ctx := context.Background()
	base := memStore()
	// An abandoned claim, as a crashed importer leaves it.
	require.NoError(t, storage.WriteAll(ctx, base, claimKey10,
		[]byte(`{"version":"1.0","token":"dead","started":"2020-01-01T00:00:00Z"}`), nil))
	clock := newFakeClock(time.Now().Add(24 * time.Hour)) // past the lease
	opts := func(storage.Store) *registry.Options {
		return &registry.Options{SkipOpenScan: true, Now: clock.Now}
	}

	judged, resume, bDone := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var bOnce sync.Once
	bStore := &callHookStore{Store: base}
	b := openReg(t, bStore, opts(bStore))
	bStore.afterGet = func(key string) {
		if key == claimKey10 {
			bOnce.Do(func() { close(judged); <-resume })
		}
	}
	go func() {
		defer close(bDone)
		_, err := b.Repair(ctx)
		assert.NoError(t, err)
	}()
	<-judged

	var aOnce sync.Once
	aStore := &callHookStore{Store: base}
	aStore.beforePut = func(key string, o *storage.PutOptions) {
		if strings.HasPrefix(key, "_registry/log/") {
			aOnce.Do(func() { close(resume); <-bDone })
		}
	}
	a := openReg(t, aStore, opts(aStore))
	data := zipOf(t, pkgFiles("1.0", ""))
	v, err := a.Import(ctx, modelpkg.FileName("1.0"), bytes.NewReader(data), nil)
	aOnce.Do(func() { close(resume); <-bDone })
	if err != nil {
		_, gerr := a.Get("1.0")
		require.ErrorIs(t, gerr, registry.ErrNotFound, "a failed import registers nothing: %v", err)
		return
	}
	for name := range v.Files {
		ok, err := storage.Exists(ctx, base, v.Dir()+name)
		require.NoError(t, err)
		assert.True(t, ok, "%s of the imported version is stored", name)
	}
}

// TestLongImportHeartbeats: an import that outlasts the claim lease keeps
// its claim alive, so a repair elsewhere sees it in progress and leaves
// its files alone.
func TestLongImportHeartbeats(t *testing.T) {
	ctx := context.Background()
	base := memStore()
	clock := newFakeClock(time.Now().Add(24 * time.Hour))
	const lease = 20 * time.Millisecond

	var renewedAfter atomic.Int64 // a lease renewed at or after this (fake) time
	renewedAfter.Store(1 << 62)
	beat := make(chan struct{}, 1)
	release := make(chan struct{})
	var extracting sync.Once
	started := make(chan struct{})
	aStore := &callHookStore{Store: base}
	aStore.beforePut = func(key string, o *storage.PutOptions) {
		if strings.HasPrefix(key, "model_1.0/") {
			extracting.Do(func() { close(started); <-release })
		}
	}
	aStore.afterPut = func(key string, data []byte) {
		if !strings.HasPrefix(key, "_registry/leases/") {
			return
		}
		var l struct{ Renewed time.Time }
		if json.Unmarshal(data, &l) == nil && l.Renewed.UnixNano() >= renewedAfter.Load() {
			select {
			case beat <- struct{}{}:
			default:
			}
		}
	}
	a := openReg(t, aStore, &registry.Options{SkipOpenScan: true, Now: clock.Now, ClaimLease: lease})
	b := openReg(t, base, &registry.Options{SkipOpenScan: true, Now: clock.Now, ClaimLease: lease})

	done := make(chan error, 1)
	go func() {
		data := zipOf(t, pkgFiles("1.0", ""))
		_, err := a.Import(ctx, modelpkg.FileName("1.0"), bytes.NewReader(data), nil)
		done <- err
	}()
	<-started
	clock.Advance(10 * lease) // the claim is far older than its lease
	renewedAfter.Store(clock.Now().UnixNano())
	select { // the importer renewed its lease since
	case <-beat:
	case <-time.After(time.Minute):
		t.Fatal("the importer never renewed its claim's lease (no heartbeat)")
	}

	res, err := b.Repair(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"1.0"}, res.InProgress)
	assert.Empty(t, res.RemovedImports)
	close(release)
	require.NoError(t, <-done)
	v, err := a.Get("1.0")
	require.NoError(t, err)
	for name := range v.Files {
		ok, err := storage.Exists(ctx, base, v.Dir()+name)
		require.NoError(t, err)
		assert.True(t, ok, "%s is stored", name)
	}
}
