package registry_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/registry"
)

// TestRollbackTargetFromLandingState is scenario 4 of issue 11: with
// 1→2→3 deployed, a rollback that chose its target (2) races another
// replica's deploy of 4. It must record "4 → 3", never undo the deploy of
// 4 by jumping to 2.
func TestRollbackTargetFromLandingState(t *testing.T) {
	ctx := context.Background()
	base := memStore()
	y := openReg(t, base, &registry.Options{SkipOpenScan: true})
	for _, v := range []string{"1.0", "2.0", "3.0", "4.0"} {
		importVersion(t, y, v, "")
	}
	for _, v := range []string{"1.0", "2.0", "3.0"} {
		_, err := y.Deploy(ctx, v, nil)
		require.NoError(t, err)
	}

	var once sync.Once
	xs := &callHookStore{Store: base}
	xs.afterGet = func(key string) {
		if strings.HasPrefix(key, "model_2.0/") {
			once.Do(func() {
				_, err := y.Deploy(ctx, "4.0", nil)
				assert.NoError(t, err)
			})
		}
	}
	x := openReg(t, xs, &registry.Options{SkipOpenScan: true})
	e, err := x.Rollback(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, registry.EventRolledBack, e.Type)
	assert.Equal(t, "4.0", e.From)
	assert.Equal(t, "3.0", e.To, "the rollback returns to the deployment before the one it replaced")
	d, err := x.Deployed()
	require.NoError(t, err)
	assert.Equal(t, "3.0", d.Version)
}

// TestConcurrentRollbacksEachOneEvent: every successful rollback is one
// event, and N rollbacks go back N deployments.
func TestConcurrentRollbacksEachOneEvent(t *testing.T) {
	ctx := context.Background()
	base := memStore()
	r0 := openReg(t, base, &registry.Options{SkipOpenScan: true})
	versions := []string{"1.0", "2.0", "3.0", "4.0", "5.0", "6.0", "7.0", "8.0"}
	for _, v := range versions {
		importVersion(t, r0, v, "")
		_, err := r0.Deploy(ctx, v, nil)
		require.NoError(t, err)
	}
	before, err := r0.History(ctx, nil)
	require.NoError(t, err)

	const n = 4
	var wg sync.WaitGroup
	results := make([]*registry.Event, n)
	for i := range n {
		r := openReg(t, base, &registry.Options{SkipOpenScan: true})
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, err := r.Rollback(ctx, nil)
			if assert.NoError(t, err) {
				results[i] = e
			}
		}()
	}
	wg.Wait()
	for _, e := range results {
		require.NotNil(t, e)
		assert.False(t, e.NoOp, "a rollback to the previous deployment is never a no-op")
	}
	after, err := r0.History(ctx, nil)
	require.NoError(t, err)
	require.Len(t, after, len(before)+n, "one event per successful rollback")
	d, err := r0.Deployed()
	require.NoError(t, err)
	assert.Equal(t, versions[len(versions)-1-n], d.Version, "%d rollbacks go back %d deployments", n, n)
}
