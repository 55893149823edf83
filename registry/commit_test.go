package registry_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	iofs "io/fs"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/storage"
)

// commitFaultStore commits conditional creates of matching keys, then
// misreports them, as a cloud SDK does when it retries a conditional PUT
// whose response was lost (the retry answers "exists" for the caller's
// own object), or as a backend does that removes what it just stored once
// the caller's context is cancelled.
type commitFaultStore struct {
	storage.Store
	match func(key string) bool

	mu sync.Mutex
	// exist makes a committed create report storage.ErrExist.
	exist bool
	// cancel, when set, is called after a committed create; the create then
	// behaves like a backend that undoes a write when its context is
	// cancelled: it deletes the object and returns the context's error.
	cancel context.CancelFunc
	hits   int
}

func (s *commitFaultStore) Put(ctx context.Context, key string, r io.Reader, opts *storage.PutOptions) error {
	err := s.Store.Put(ctx, key, r, opts)
	if err != nil || opts == nil || !opts.IfNotExist || !s.match(key) {
		return err
	}
	s.mu.Lock()
	exist, cancel := s.exist, s.cancel
	if exist || cancel != nil {
		s.hits++
	}
	s.mu.Unlock()
	if exist {
		return &iofs.PathError{Op: "put", Path: key, Err: storage.ErrExist}
	}
	if cancel != nil {
		cancel()
		if ctx.Err() != nil {
			_ = s.Store.Delete(context.WithoutCancel(ctx), key)
			return ctx.Err()
		}
	}
	return nil
}

func isLogKey(key string) bool { return strings.HasPrefix(key, "_registry/log/") }

func isStateKey(key string) bool { return strings.HasPrefix(key, "_registry/") }

// TestOwnCommitReportedAsExisting is scenario 1 of issue 11: every
// conditional create of the registry commits and then answers "exists".
// Each operation must recognise its own write and succeed, exactly once.
func TestOwnCommitReportedAsExisting(t *testing.T) {
	ctx := context.Background()
	cs := &commitFaultStore{Store: memStore(), match: isStateKey}
	r := openReg(t, cs, nil)
	cs.mu.Lock()
	cs.exist = true
	cs.mu.Unlock()

	for _, v := range []string{"1.0", "2.0", "3.0"} {
		data := zipOf(t, pkgFiles(v, ""))
		got, err := r.Import(ctx, modelpkg.FileName(v), bytes.NewReader(data), nil)
		require.NoError(t, err, "import %s", v)
		assert.Equal(t, registry.StatusAvailable, got.Status)
		assert.NotEmpty(t, keys(t, cs, "model_"+v+"/"), "the files of a committed import stay")
	}
	assert.Empty(t, keys(t, cs, "_registry/claims/"), "claims are released")

	e, err := r.Deploy(ctx, "1.0", nil)
	require.NoError(t, err)
	assert.False(t, e.NoOp, "a committed deploy is not reported as already deployed")
	_, err = r.Deploy(ctx, "2.0", nil)
	require.NoError(t, err)
	e, err = r.Rollback(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, "1.0", e.To)
	_, err = r.Delete(ctx, "3.0", nil)
	require.NoError(t, err, "a committed delete is not reported as not found")
	assert.Empty(t, keys(t, cs, "model_3.0/"))

	// Exactly one event per call, and a fresh replica agrees.
	hist, err := r.History(ctx, nil)
	require.NoError(t, err)
	require.Len(t, hist, 3+2+1+1)
	cs.mu.Lock()
	assert.GreaterOrEqual(t, cs.hits, len(hist), "the fault was injected on every append")
	cs.exist = false
	cs.mu.Unlock()
	r2 := openReg(t, cs, &registry.Options{SkipOpenScan: true})
	for _, v := range r2.List(nil) {
		for name := range v.Files {
			ok, err := storage.Exists(ctx, cs, v.Dir()+name)
			require.NoError(t, err)
			assert.True(t, ok, "%s%s of a listed version is stored", v.Dir(), name)
		}
	}
}

// TestCommitSurvivesCallerCancellation is scenario 2 of issue 11: the
// caller's context is cancelled right after the event was stored. The
// commit must not be undone (it runs detached from the caller), and the
// import must not clean up the files of a version the log lists.
func TestCommitSurvivesCallerCancellation(t *testing.T) {
	cs := &commitFaultStore{Store: memStore(), match: isLogKey}
	r := openReg(t, cs, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cs.mu.Lock()
	cs.cancel = cancel
	cs.mu.Unlock()

	data := zipOf(t, pkgFiles("1.0", ""))
	_, err := r.Import(ctx, modelpkg.FileName("1.0"), bytes.NewReader(data), nil)
	if err != nil {
		require.True(t, errors.Is(err, context.Canceled), "only the caller's own cancellation may be reported: %v", err)
	}
	r2 := openReg(t, cs, &registry.Options{SkipOpenScan: true})
	v, err := r2.Get("1.0")
	require.NoError(t, err, "the committed event stays in the log")
	for name := range v.Files {
		ok, err := storage.Exists(context.Background(), cs, v.Dir()+name)
		require.NoError(t, err)
		assert.True(t, ok, "%s is stored", name)
	}
}
