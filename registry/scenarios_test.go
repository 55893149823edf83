package registry_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	iofs "io/fs"
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

// One regression test per numbered scenario of issue #11, written against
// the public API and test-local store wrappers (so that they also compile
// against the code the issue was filed on).

// scenarioStore calls hook before every call it forwards; a hook may block,
// fail the call (returning an error) or change the store.
type scenarioStore struct {
	storage.Store
	// put runs before a Put; done, when it returns one, runs after the
	// inner Put with that Put's error and data, and returns the caller's
	// error.
	put func(ctx context.Context, key string, opts *storage.PutOptions) (done func(err error, data []byte) error)
	get func(key string)
}

func (s *scenarioStore) Put(ctx context.Context, key string, r io.Reader, opts *storage.PutOptions) error {
	var done func(error, []byte) error
	if s.put != nil {
		done = s.put(ctx, key, opts)
	}
	if done == nil {
		return s.Store.Put(ctx, key, r, opts)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	return done(s.Store.Put(ctx, key, bytes.NewReader(data), opts), data)
}

func (s *scenarioStore) Get(ctx context.Context, key string) (storage.Reader, error) {
	if s.get != nil {
		s.get(key)
	}
	return s.Store.Get(ctx, key)
}

// lostResponseOnce makes the first conditional create of a key under
// prefix commit, lose its response, and be retried: the retry reports
// ErrExist for the caller's own object.
func lostResponseOnce(inner storage.Store, prefix string) *scenarioStore {
	var fired atomic.Bool
	s := &scenarioStore{Store: inner}
	s.put = func(ctx context.Context, key string, opts *storage.PutOptions) func(error, []byte) error {
		if opts == nil || !opts.IfNotExist || !strings.HasPrefix(key, prefix) || !fired.CompareAndSwap(false, true) {
			return nil
		}
		return func(err error, data []byte) error {
			if err != nil {
				return err
			}
			return inner.Put(ctx, key, bytes.NewReader(data), opts)
		}
	}
	return s
}

func TestScenario1OwnWriteSeenAsLostRace(t *testing.T) {
	ctx := context.Background()
	for _, prefix := range []string{"_registry/log/", "_registry/claims/"} {
		t.Run(strings.Trim(strings.TrimPrefix(prefix, "_registry/"), "/"), func(t *testing.T) {
			base := memStore()
			r := openReg(t, lostResponseOnce(base, prefix), nil)
			v, err := r.Import(ctx, modelpkg.FileName("1.0"), bytes.NewReader(zipOf(t, pkgFiles("1.0", ""))), nil)
			require.NoError(t, err, "an import whose own write was retried succeeds")
			assert.Equal(t, registry.StatusAvailable, v.Status)
			checkFiles(t, base, r)
			got, err := r.Get("1.0")
			require.NoError(t, err)
			assert.NotEmpty(t, got.Files)
			// Re-import is a no-op, and the claim is not left behind.
			importVersion(t, r, "1.0", "")
			assert.Empty(t, keys(t, base, "_registry/claims/"))
		})
	}
	t.Run("deploy-and-delete", func(t *testing.T) {
		base := memStore()
		seed := openReg(t, base, nil)
		importVersion(t, seed, "1.0", "")
		importVersion(t, seed, "2.0", "")
		r := openReg(t, lostResponseOnce(base, "_registry/log/"), nil)
		e, err := r.Deploy(ctx, "1.0", nil)
		require.NoError(t, err)
		require.NotNil(t, e)
		assert.False(t, e.NoOp, "a deploy whose own event was retried is not reported as already deployed")
		r2 := openReg(t, lostResponseOnce(base, "_registry/log/"), nil)
		e, err = r2.Delete(ctx, "2.0", nil)
		require.NoError(t, err, "a delete whose own event was retried is not a 404")
		require.NotNil(t, e)
		h, err := r2.History(ctx, nil)
		require.NoError(t, err)
		assert.Len(t, h, 4, "imported, imported, deployed, deleted: one event each")
	})
}

func TestScenario2CommittedLogEntryNeverUndone(t *testing.T) {
	ctx := context.Background()
	base := memStore()
	seed := openReg(t, base, nil)
	importVersion(t, seed, "1.0", "")
	// The caller's context is cancelled as the event's write commits.
	opCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := &scenarioStore{Store: base}
	s.put = func(_ context.Context, key string, opts *storage.PutOptions) func(error, []byte) error {
		if !strings.HasPrefix(key, "_registry/log/") {
			return nil
		}
		return func(err error, _ []byte) error {
			cancel()
			if err != nil {
				return err
			}
			return context.Canceled
		}
	}
	r := openReg(t, s, nil)
	_, _ = r.Deploy(opCtx, "1.0", nil) // its outcome may be reported either way
	// Whatever it reported, every registry agrees with the log, and the
	// next append lands after it.
	other := openReg(t, base, nil)
	h, err := other.History(ctx, nil)
	require.NoError(t, err)
	require.Len(t, h, 2, "the committed deploy stays in the log")
	require.NoError(t, r.Sync(ctx))
	d, err := r.Deployed()
	require.NoError(t, err)
	assert.Equal(t, "1.0", d.Version)
	importVersion(t, other, "2.0", "")
	_, err = registry.Open(ctx, base, &registry.Options{SkipOpenScan: true})
	require.NoError(t, err)
}

func TestScenario3ClaimTakeoverIsFenced(t *testing.T) {
	ctx := context.Background()
	base := memStore()
	clock := &jumpClock{}
	// A's import stops while writing its model file; B judges A's claim
	// stale, and just before B removes A's files, A goes on and finishes.
	stopped, release, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var stopOnce, releaseOnce sync.Once
	letGo := func() { releaseOnce.Do(func() { close(release) }) }
	sa := &scenarioStore{Store: base}
	sa.put = func(_ context.Context, key string, _ *storage.PutOptions) func(error, []byte) error {
		if strings.HasSuffix(key, "/model.joblib") {
			stopOnce.Do(func() {
				close(stopped)
				select {
				case <-release:
				case <-time.After(10 * time.Second):
				}
			})
		}
		return nil
	}
	sb := &deleteHookStore{Store: base, before: func(key string) {
		if strings.HasPrefix(key, "model_1.0/") {
			letGo()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
			}
		}
	}}
	a := openReg(t, sa, &registry.Options{Now: clock.Now, ClaimLease: time.Minute, SkipOpenScan: true})
	b := openReg(t, sb, &registry.Options{Now: clock.Now, ClaimLease: time.Minute, SkipOpenScan: true})
	var (
		aErr error
		aV   *registry.Version
	)
	go func() {
		defer close(done)
		aV, aErr = a.Import(ctx, modelpkg.FileName("1.0"), bytes.NewReader(zipOf(t, pkgFiles("1.0", ""))), nil)
	}()
	<-stopped
	// A's claim now looks abandoned to B, which repairs (every replica
	// runs Repair in Open after a crash).
	clock.jump(2 * time.Minute)
	_, _ = b.Repair(ctx)
	letGo()
	<-done
	require.NoError(t, b.Sync(ctx))
	if aErr == nil {
		v, err := b.Get("1.0")
		require.NoError(t, err, "A's import returned success: the version is registered")
		assert.Equal(t, aV.Files, v.Files)
	} else {
		t.Logf("A's import failed: %v", aErr)
	}
	// Either way, no registered version lacks its files, even after the
	// repairs and scans that follow.
	checkFiles(t, base, b)
	clock.jump(2 * time.Minute)
	_, err := b.Repair(ctx)
	require.NoError(t, err)
	_, err = b.Scan(ctx, nil)
	require.NoError(t, err)
	checkFiles(t, base, b)
}

// deleteHookStore calls before ahead of every Delete.
type deleteHookStore struct {
	storage.Store
	before func(key string)
}

func (s *deleteHookStore) Delete(ctx context.Context, key string) error {
	s.before(key)
	return s.Store.Delete(ctx, key)
}

func TestScenario4RollbackIsLinearizable(t *testing.T) {
	ctx := context.Background()
	t.Run("racing-deploy", func(t *testing.T) {
		base := memStore()
		seed := openReg(t, base, nil)
		for _, v := range []string{"1.0", "2.0", "3.0", "4.0"} {
			importVersion(t, seed, v, "")
		}
		for _, v := range []string{"1.0", "2.0", "3.0"} {
			_, err := seed.Deploy(ctx, v, nil)
			require.NoError(t, err)
		}
		// The rollback's first append waits until another replica has
		// deployed 4.0.
		var once sync.Once
		s := &scenarioStore{Store: base}
		s.put = func(_ context.Context, key string, _ *storage.PutOptions) func(error, []byte) error {
			if strings.HasPrefix(key, "_registry/log/") {
				once.Do(func() {
					_, err := seed.Deploy(ctx, "4.0", nil)
					require.NoError(t, err)
				})
			}
			return nil
		}
		r := openReg(t, s, nil)
		e, err := r.Rollback(ctx, nil)
		require.NoError(t, err)
		assert.Equal(t, "4.0", e.From, "the rollback undoes the deployment it lands on")
		assert.Equal(t, "3.0", e.To, "and returns to the one before it")
	})
	t.Run("concurrent-rollbacks", func(t *testing.T) {
		base := memStore()
		seed := openReg(t, base, nil)
		vs := []string{"1.0", "2.0", "3.0", "4.0", "5.0", "6.0", "7.0"}
		for _, v := range vs {
			importVersion(t, seed, v, "")
			_, err := seed.Deploy(ctx, v, nil)
			require.NoError(t, err)
		}
		const n = 6
		regs := make([]*registry.Registry, n)
		for i := range regs {
			regs[i] = openReg(t, base, nil)
		}
		events := make([]*registry.Event, n)
		var wg sync.WaitGroup
		for i := range regs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				e, err := regs[i].Rollback(ctx, nil)
				if err == nil {
					events[i] = e
				}
			}()
		}
		wg.Wait()
		h, err := seed.History(ctx, &registry.HistoryOptions{After: int64(2 * len(vs))})
		require.NoError(t, err)
		successes := 0
		for _, e := range events {
			if e != nil {
				successes++
				assert.False(t, e.NoOp, "a rollback to the previous deployment is never a no-op")
			}
		}
		assert.Len(t, h, successes, "every successful rollback is exactly one event")
		// Rolling back k times goes back k deployments.
		require.NoError(t, seed.Sync(ctx))
		d, err := seed.Deployed()
		require.NoError(t, err)
		assert.Equal(t, vs[len(vs)-1-len(h)], d.Version)
	})
}

func TestScenario5ScanRecordsWhatItValidated(t *testing.T) {
	ctx := context.Background()
	base := memStore()
	files := pkgFiles("6.0", "")
	for name, f := range files {
		if name != modelpkg.DefaultModelFile {
			require.NoError(t, storage.WriteAll(ctx, base, "model_6.0/"+name, f.Data, nil))
		}
	}
	// The big model file lands while the scan validates the rest.
	var once sync.Once
	s := &scenarioStore{Store: base}
	s.get = func(key string) {
		if strings.HasPrefix(key, "model_6.0/") {
			once.Do(func() {
				require.NoError(t, storage.WriteAll(ctx, base, "model_6.0/"+modelpkg.DefaultModelFile, files[modelpkg.DefaultModelFile].Data, nil))
			})
		}
	}
	r := openReg(t, s, &registry.Options{SkipOpenScan: true})
	_, err := r.Scan(ctx, nil)
	require.NoError(t, err)
	v, err := r.Get("6.0")
	require.NoError(t, err)
	if v.Status != registry.StatusInvalid {
		assert.Contains(t, v.Files, modelpkg.DefaultModelFile, "a version registered valid records every file it was validated with")
		checkFiles(t, base, r)
	}
	// A later scan registers the complete package.
	_, err = r.Scan(ctx, nil)
	require.NoError(t, err)
	v, err = r.Get("6.0")
	require.NoError(t, err)
	assert.NotEqual(t, registry.StatusInvalid, v.Status)
	assert.Contains(t, v.Files, modelpkg.DefaultModelFile)
}

func TestScenario6InvalidVerdictIsKept(t *testing.T) {
	ctx := context.Background()
	base := memStore()
	r := openReg(t, base, nil)
	importVersion(t, r, "1.0", "")
	importVersion(t, r, "2.0", "")
	_, err := r.Deploy(ctx, "1.0", nil)
	require.NoError(t, err)
	require.NoError(t, storage.WriteAll(ctx, base, "model_1.0/README.md", []byte("tampered"), nil))
	rep, err := r.Validate(ctx, "1.0", nil)
	require.NoError(t, err)
	require.False(t, rep.Valid())
	_, err = r.Deploy(ctx, "2.0", nil)
	require.NoError(t, err)
	v, err := r.Get("1.0")
	require.NoError(t, err)
	assert.Equal(t, registry.StatusInvalid, v.Status, "the invalid verdict survives the next deploy")
	_, err = r.Deploy(ctx, "1.0", nil)
	require.ErrorIs(t, err, registry.ErrInvalid)
	_, err = r.Rollback(ctx, nil)
	require.ErrorIs(t, err, registry.ErrNoPrevious, "an invalid version is no rollback target")
}

// The rest of scenario 7 (a Live that retries a failed load, WaitFor) and
// scenario 8 (one poller, History tail reads) are tested by
// TestScenario7LiveRetriesFailedLoad and TestScenario8HistoryReadsWhatItReturns.

func TestScenario7LiveRetriesFailedLoad(t *testing.T) {
	ctx := context.Background()
	r := openReg(t, memStore(), nil)
	importVersion(t, r, "1.0", "")
	importVersion(t, r, "2.0", "")
	_, err := r.Deploy(ctx, "1.0", nil)
	require.NoError(t, err)
	var fails atomic.Int32
	fails.Store(2)
	loader := registry.LoaderFunc[*testModel](func(ctx context.Context, pkg *registry.Package) (*testModel, error) {
		if pkg.Version.Version == "2.0" && fails.Add(-1) >= 0 {
			return nil, errors.New("load failed (injected)")
		}
		return &testModel{version: pkg.Version.Version}, nil
	})
	live, err := registry.NewLive(ctx, r, loader, nil)
	require.NoError(t, err)
	_, err = r.Deploy(ctx, "2.0", nil)
	require.NoError(t, err)
	waitFor(t, "the Live to retry its failed load of 2.0", func() bool { return live.Version() == "2.0" })
	// Closing the registry first (its watch channel closes) must not make
	// the Live spin or hang.
	require.NoError(t, r.Close())
	closed := make(chan error, 1)
	go func() { closed <- live.Close() }()
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Live.Close did not return after the registry closed")
	}
}

func TestScenario8HistoryReadsWhatItReturns(t *testing.T) {
	ctx := context.Background()
	base := memStore()
	r := openReg(t, base, nil)
	importVersion(t, r, "1.0", "")
	importVersion(t, r, "2.0", "")
	for i := 0; i < 20; i++ {
		_, err := r.Deploy(ctx, []string{"1.0", "2.0"}[i%2], nil)
		require.NoError(t, err)
	}
	var gets atomic.Int32
	s := &scenarioStore{Store: base}
	s.get = func(key string) {
		if strings.HasPrefix(key, "_registry/log/") {
			gets.Add(1)
		}
	}
	r2 := openReg(t, s, nil)
	gets.Store(0)
	h, err := r2.History(ctx, &registry.HistoryOptions{Limit: 3})
	require.NoError(t, err)
	require.Len(t, h, 3)
	assert.EqualValues(t, 22, h[2].Seq)
	assert.LessOrEqual(t, gets.Load(), int32(3+1), "History(Limit: 3) reads about 3 events, not the whole log")
}

func TestScenario9VersionsUniqueUnderCaseFolding(t *testing.T) {
	r := openReg(t, memStore(), nil)
	importVersion(t, r, "1.0-RC", "")
	_, err := r.Import(context.Background(), modelpkg.FileName("1.0-rc"), bytes.NewReader(zipOf(t, pkgFiles("1.0-rc", ""))), nil)
	require.ErrorIs(t, err, registry.ErrVersionExists, "1.0-rc and 1.0-RC would share a directory on a case-insensitive disk")
}

func TestScenario10MissingFileAtDeployIsAFinding(t *testing.T) {
	ctx := context.Background()
	base := memStore()
	r := openReg(t, base, nil)
	importVersion(t, r, "1.0", "")
	require.NoError(t, base.Delete(ctx, "model_1.0/README.md"))
	_, err := r.Deploy(ctx, "1.0", nil)
	require.Error(t, err)
	assert.True(t, errors.Is(err, modelpkg.ErrMissingFile) || errors.Is(err, modelpkg.ErrHashMismatch),
		"a stored file missing at deploy is a verification finding, not a store failure: %v", err)
	assert.False(t, errors.Is(err, iofs.ErrNotExist) && modelpkg.Code(err) == "", "a coded finding (422), not a bare not-exist (500): %v", err)
}
