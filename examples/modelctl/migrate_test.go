package main

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/storage"
)

// TestMigrateCommand: a store whose log grouped versions under two model
// names chosen at import is refused with a message naming the command,
// and 'modelctl migrate' splits it into models/NAME/ registries.
func TestMigrateCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, v := range []string{"1.0", "2.0"} {
		code, _, errs := ctl(t, "--store", dir, "import", "--no-progress", packVersion(t, v))
		require.Equal(t, 0, code, errs)
	}
	store, closeStore, err := openStore(ctx, dir)
	require.NoError(t, err)
	defer closeStore()
	reg, err := registry.Open(ctx, store, &registry.Options{SkipOpenScan: true})
	require.NoError(t, err)
	var recs []*registry.Version
	for _, v := range []string{"1.0", "2.0"} {
		rec, err := reg.Get(v)
		require.NoError(t, err)
		recs = append(recs, rec)
	}
	require.NoError(t, reg.Close())
	// Rewrite the log as the grouping registry wrote it: 1.0 imported as
	// "fraud", 2.0 as "churn", both deployed.
	require.NoError(t, storage.DeletePrefix(ctx, store, "_registry/"))
	events := []registry.Event{
		{Type: registry.EventImported, Version: "1.0", LegacyModel: "fraud", Record: recs[0]},
		{Type: registry.EventImported, Version: "2.0", LegacyModel: "churn", Record: recs[1]},
		{Type: registry.EventDeployed, Version: "1.0", LegacyModel: "fraud", To: "1.0"},
		{Type: registry.EventDeployed, Version: "2.0", LegacyModel: "churn", To: "2.0"},
	}
	for i, e := range events {
		e.Seq = int64(i + 1)
		data, err := json.Marshal(e)
		require.NoError(t, err)
		require.NoError(t, storage.WriteAll(ctx, store, fmt.Sprintf("_registry/log/%020d.json", i+1), data, nil))
	}

	code, _, errs := ctl(t, "--store", dir, "list")
	require.Equal(t, 1, code)
	assert.Contains(t, errs, "several models in one log")
	assert.Contains(t, errs, "migrate")

	m := ctlJSON(t, 0, "--store", dir, "migrate")
	models := m["models"].([]any)
	require.Len(t, models, 2)
	assert.Equal(t, "churn", models[0].(map[string]any)["name"])
	assert.Equal(t, "2.0", models[0].(map[string]any)["deployed"])

	for name, want := range map[string]string{"fraud": "1.0", "churn": "2.0"} {
		r, err := registry.OpenModel(ctx, store, name, nil)
		require.NoError(t, err)
		d, err := r.Deployed()
		require.NoError(t, err)
		assert.Equal(t, want, d.Version, name)
		assert.Len(t, r.List(nil), 1, name)
		require.NoError(t, r.Close())
	}
}
