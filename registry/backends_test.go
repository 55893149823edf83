package registry_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/blob/memblob"

	"github.com/modelvault/modelvault/internal/testservers"
	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/storage/blobstore"
	"github.com/modelvault/modelvault/storage/diskstore"
)

// TestLifecycleOnBackends runs every registry operation on each kind of
// store: the in-memory afero store the other tests use, diskstore with
// fsync, blobstore on mem://, and blobstore on a real S3 server.
func TestLifecycleOnBackends(t *testing.T) {
	t.Run("aferostore", func(t *testing.T) { lifecycle(t, memStore()) })
	t.Run("diskstore", func(t *testing.T) {
		s, err := diskstore.Open(t.TempDir(), nil)
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		lifecycle(t, s)
	})
	t.Run("blobstore-mem", func(t *testing.T) {
		s := blobstore.New(memblob.OpenBucket(nil), nil)
		t.Cleanup(func() { s.Close() })
		lifecycle(t, s)
	})
	t.Run("blobstore-s3-versitygw", func(t *testing.T) {
		srv := testservers.StartVersityGW(t)
		srv.Setenv(t)
		s, err := blobstore.Open(context.Background(), srv.NewBucket(t), nil)
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		lifecycle(t, s)
	})
}

func lifecycle(t *testing.T, store storage.Store) {
	ctx := context.Background()
	now := time.Now()
	clock := func() time.Time { return now }
	r := openReg(t, store, &registry.Options{Now: clock, CheckpointEvery: 4})

	// Import, dry run, idempotent re-import.
	v1 := importVersion(t, r, "1.0", "")
	assert.Equal(t, registry.StatusAvailable, v1.Status)
	dry, err := r.Import(ctx, "model_2.0_deployment.zip", bytes.NewReader(zipOf(t, pkgFiles("2.0", ""))), &registry.ImportOptions{DryRun: true})
	require.NoError(t, err)
	assert.Equal(t, "2.0", dry.Version)
	_, err = r.Get("2.0")
	require.ErrorIs(t, err, registry.ErrNotFound)
	importVersion(t, r, "2.0", "")
	again := importVersion(t, r, "2.0", "")
	assert.Equal(t, "2.0", again.Version)

	// A package placed by hand, found by a scan.
	for name, f := range pkgFiles("3.0", "") {
		require.NoError(t, storage.WriteAll(ctx, store, "model_3.0/"+name, f.Data, nil))
	}
	res, err := r.Scan(ctx, nil)
	require.NoError(t, err)
	require.Len(t, res.Registered, 1)
	assert.Equal(t, registry.MethodManualPlacement, res.Registered[0].ImportMethod)

	// Deploy, serve, follow, roll back.
	_, err = r.Deploy(ctx, "1.0", nil)
	require.NoError(t, err)
	live, err := registry.NewLive(ctx, r, testLoader(nil, nil, nil), nil)
	require.NoError(t, err)
	defer live.Close()
	assert.Equal(t, "1.0", live.Version())
	_, err = r.Deploy(ctx, "3.0", nil)
	require.NoError(t, err)
	waitFor(t, "live to serve 3.0", func() bool { return live.Version() == "3.0" })
	e, err := r.Rollback(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, "1.0", e.To)
	waitFor(t, "live to serve 1.0", func() bool { return live.Version() == "1.0" })

	// Tampering is found by Validate; the version becomes invalid.
	require.NoError(t, storage.WriteAll(ctx, store, "model_2.0/README.md", []byte("tampered"), nil))
	rep, err := r.Validate(ctx, "2.0", nil)
	require.NoError(t, err)
	assert.False(t, rep.Valid())
	_, err = r.Deploy(ctx, "2.0", nil)
	require.ErrorIs(t, err, registry.ErrInvalid)

	// Delete and prune; the deployed version is protected.
	_, err = r.Delete(ctx, "1.0", nil)
	require.ErrorIs(t, err, registry.ErrInUse)
	_, err = r.Delete(ctx, "2.0", nil)
	require.NoError(t, err)
	assert.Empty(t, keys(t, store, "model_2.0/"))
	pruned, err := r.Prune(ctx, &registry.PruneOptions{Keep: 0})
	require.NoError(t, err)
	assert.Equal(t, []string{"3.0"}, pruned)

	// An abandoned import is repaired once its lease has passed.
	require.NoError(t, storage.WriteAll(ctx, store, "_registry/claims/9.0.json", []byte(`{"version":"9.0","started":"`+now.UTC().Format(time.RFC3339Nano)+`"}`), nil))
	require.NoError(t, storage.WriteAll(ctx, store, "model_9.0/model.joblib", []byte("partial"), nil))
	now = now.Add(2 * registry.DefaultClaimLease)
	rr, err := r.Repair(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"9.0"}, rr.RemovedImports)
	assert.Empty(t, keys(t, store, "model_9.0/"))

	// Another registry on the same store sees the same state and history.
	r2 := openReg(t, store, &registry.Options{Now: clock})
	assert.Equal(t, r.List(nil), r2.List(nil))
	h1, err := r.History(ctx, nil)
	require.NoError(t, err)
	h2, err := r2.History(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, h1, h2)
	for i, e := range h1 {
		assert.EqualValues(t, i+1, e.Seq)
	}
}
