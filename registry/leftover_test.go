package registry_test

import (
	"bytes"
	"context"
	"errors"
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

// abortFailStore fails the Put of one package file (so the import fails
// after writing others: that Put waits until another package file is
// stored, as extraction writes files concurrently) and the first Delete
// of a package file (so the import's cleanup cannot remove everything it
// wrote: that file's deletes fail every time).
type abortFailStore struct {
	storage.Store
	failPut   string
	failedDel atomic.Bool
	stuck     atomic.Pointer[string] // the package file that cannot be deleted

	once, closeOnce sync.Once
	stored          chan struct{} // closed once a package file is stored
}

func (s *abortFailStore) Put(ctx context.Context, key string, r io.Reader, opts *storage.PutOptions) error {
	s.once.Do(func() { s.stored = make(chan struct{}) })
	if strings.HasSuffix(key, "/"+s.failPut) {
		_, _ = io.Copy(io.Discard, r)
		select {
		case <-s.stored:
		case <-ctx.Done():
		}
		return errors.New("injected put failure")
	}
	err := s.Store.Put(ctx, key, r, opts)
	if err == nil && !strings.HasPrefix(key, "_registry/") {
		s.closeOnce.Do(func() { close(s.stored) })
	}
	return err
}

func (s *abortFailStore) Delete(ctx context.Context, key string) error {
	if !strings.HasPrefix(key, "_registry/") {
		if _, err := s.Store.Stat(ctx, key); err == nil {
			s.stuck.CompareAndSwap(nil, &key)
		}
		if p := s.stuck.Load(); p != nil && *p == key {
			s.failedDel.Store(true)
			return errors.New("injected delete failure")
		}
	}
	return s.Store.Delete(ctx, key)
}

// TestFailedImportCleanupLeavesNoOrphans: an import fails after writing
// some files, and its cleanup fails to delete one of them. The leftover
// must stay covered by the import's claim (so that a repair removes it
// once the lease has passed); releasing the claim orphans it: a file no
// claim, no version and no repair accounts for, which a later scan
// registers as an invalid version. Found by TestLinearizableProcessesDisk
// ("key model_4.0/validate_model.py belongs to no registered version").
func TestFailedImportCleanupLeavesNoOrphans(t *testing.T) {
	ctx := context.Background()
	base := memStore()
	s := &abortFailStore{Store: base, failPut: modelpkg.DefaultModelFile}
	r := openReg(t, s, nil)
	_, err := r.Import(ctx, modelpkg.FileName("1.0"), bytes.NewReader(zipOf(t, pkgFiles("1.0", ""))), nil)
	require.Error(t, err)
	require.True(t, s.failedDel.Load(), "the cleanup ran into the failing delete")
	left := fileKeys(t, base)
	require.NotEmpty(t, left, "the file whose delete failed is still there")
	// The invariants repair with every lease expired: the leftover is
	// removed only if a claim still covers it.
	_, err = checkInvariants(ctx, base)
	assert.NoError(t, err, "leftover files %v", left)
	// And the version can be imported again.
	importVersion(t, openReg(t, base, nil), "1.0", "")
}

// TestFencedImportLeavesNoOrphans: an import's claim looks abandoned (its
// lease passed while the import was paused after its first file, here
// by a clock jump); a repair fences it in the log, removes the files
// written so far and the claim. The import then goes on writing the
// other files, fails (validation misses the first file), finds its claim
// gone and leaves its files "alone", as if they belonged to another
// importer's claim: no claim, no version and no repair accounts for
// them, and the version cannot be imported again. Found by TestLinearizableDisk with the
// store invariants checked after every history ("key
// model_3.0/README.md belongs to no registered version").
func TestFencedImportLeavesNoOrphans(t *testing.T) {
	ctx := context.Background()
	base := memStore()
	clock := &jumpClock{}
	paused, resume := make(chan struct{}), make(chan struct{})
	var files atomic.Int32
	sa := &scenarioStore{Store: base}
	sa.put = func(_ context.Context, key string, _ *storage.PutOptions) func(error, []byte) error {
		if !strings.HasPrefix(key, "model_1.0/") {
			return nil
		}
		if files.Add(1) == 2 {
			// The first file is written (and checked); the import stalls
			// before the second.
			close(paused)
		}
		if files.Load() >= 2 {
			<-resume
		}
		return nil
	}
	a := openReg(t, sa, &registry.Options{Now: clock.Now, ClaimLease: time.Minute, SkipOpenScan: true})
	b := openReg(t, base, &registry.Options{Now: clock.Now, ClaimLease: time.Minute, SkipOpenScan: true})
	done := make(chan error, 1)
	go func() {
		_, err := a.Import(ctx, modelpkg.FileName("1.0"), bytes.NewReader(zipOf(t, pkgFiles("1.0", ""))), nil)
		done <- err
	}()
	<-paused
	clock.jump(2 * time.Minute)
	res, err := b.Repair(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"1.0"}, res.RemovedImports, "the repair fenced and removed the paused import")
	close(resume)
	require.Error(t, <-done, "the fenced import fails")
	_, err = checkInvariants(ctx, base)
	assert.NoError(t, err, "leftover files %v", fileKeys(t, base))
	importVersion(t, openReg(t, base, nil), "1.0", "")
}
