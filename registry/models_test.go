package registry_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/registry"
)

func TestValidateModelName(t *testing.T) {
	for _, ok := range []string{"iris", "fraud-v2", "a", "m.1_x", "0"} {
		require.NoError(t, registry.ValidateModelName(ok), ok)
	}
	for _, bad := range []string{"", "Iris", "-x", ".x", "a/b", "a b", "x.", "con", "nul.txt", "com1", "lpt9.log", "CON",
		"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklm"} {
		require.ErrorIs(t, registry.ValidateModelName(bad), registry.ErrInvalidModelName, bad)
	}
	require.NoError(t, registry.ValidateModelName("console"))
}

func TestOpenModelKeepsModelsApart(t *testing.T) {
	ctx := context.Background()
	store := memStore()
	a, err := registry.OpenModel(ctx, store, "fraud", nil)
	require.NoError(t, err)
	require.Equal(t, "fraud", a.Name())
	b, err := registry.OpenModel(ctx, store, "churn", nil)
	require.NoError(t, err)
	importVersion(t, a, "1.0", "LogisticRegression")
	importVersion(t, b, "1.0", "LogisticRegression")
	require.Len(t, a.List(nil), 1)
	require.Len(t, b.List(nil), 1)
	require.Contains(t, keys(t, store, ""), "models/fraud/model_1.0/model.joblib")

	names, err := registry.Models(ctx, store)
	require.NoError(t, err)
	require.Equal(t, []string{"churn", "fraud"}, names)

	_, err = registry.OpenModel(ctx, store, "../x", nil)
	require.ErrorIs(t, err, registry.ErrInvalidModelName)
}
