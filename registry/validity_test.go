package registry_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/storage"
)

// TestInvalidVerdictSurvivesRedeploy is scenario 6 of issue 11: a deployed
// version that fails Validate stays deployed but invalid; once another
// version is deployed it is invalid, not available, and neither a deploy
// nor a rollback target until a validation passes again.
func TestInvalidVerdictSurvivesRedeploy(t *testing.T) {
	ctx := context.Background()
	store := memStore()
	r := openReg(t, store, &registry.Options{SkipOpenScan: true})
	importVersion(t, r, "1.0", "")
	importVersion(t, r, "2.0", "")
	_, err := r.Deploy(ctx, "1.0", nil)
	require.NoError(t, err)

	key := "model_1.0/" + modelpkg.DefaultModelFile
	good, err := storage.ReadAll(ctx, store, key)
	require.NoError(t, err)
	require.NoError(t, storage.WriteAll(ctx, store, key, []byte("tampered"), nil))
	report, err := r.Validate(ctx, "1.0", nil)
	require.NoError(t, err)
	require.False(t, report.Valid())
	v, err := r.Get("1.0")
	require.NoError(t, err)
	assert.True(t, v.Deployed, "serving is not interrupted")
	assert.False(t, v.Valid)

	_, err = r.Deploy(ctx, "2.0", nil)
	require.NoError(t, err)
	v, err = r.Get("1.0")
	require.NoError(t, err)
	assert.False(t, v.Valid, "the verdict survives the next deploy")
	assert.Equal(t, registry.StatusInvalid, v.Status)
	_, err = r.Rollback(ctx, nil)
	assert.ErrorIs(t, err, registry.ErrNoPrevious)
	_, err = r.Deploy(ctx, "1.0", nil)
	assert.ErrorIs(t, err, registry.ErrInvalid)

	// Repaired and validated again: a target again.
	require.NoError(t, storage.WriteAll(ctx, store, key, good, nil))
	report, err = r.Validate(ctx, "1.0", nil)
	require.NoError(t, err)
	require.True(t, report.Valid())
	e, err := r.Rollback(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, "1.0", e.To)
}
