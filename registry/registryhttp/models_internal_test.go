package registryhttp

import (
	"context"
	"testing"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/storage/aferostore"
)

// TestModelsShareOneSpoolBudget checks that every model's handler draws
// on one upload budget and one event stream cap: MaxUploads,
// MaxSpoolBytes and MaxEventStreams bound the server, not each model.
func TestModelsShareOneSpoolBudget(t *testing.T) {
	m := NewModels(aferostore.New(afero.NewMemMapFs(), nil), &ModelsOptions{
		Options:  Options{AllowUnauthenticated: true, MaxUploads: 1, TempDir: t.TempDir()},
		Registry: &registry.Options{SkipOpenScan: true},
	})
	defer m.Close()
	ctx := context.Background()
	a, _, err := m.acquire(ctx, "a", true)
	require.NoError(t, err)
	defer m.release(a)
	b, _, err := m.acquire(ctx, "b", true)
	require.NoError(t, err)
	defer m.release(b)
	require.True(t, a.h.gate.acquire(1), "model a's upload")
	assert.False(t, b.h.gate.acquire(1), "model b's upload must wait: one upload for the server")
	a.h.gate.releaseUpload(1, 0)
	assert.True(t, b.h.gate.acquire(1))
	assert.Same(t, a.h.stage.gate, m.front.gate, "staged packages count against the same budget")
	assert.Equal(t, a.h.streams, b.h.streams, "one cap on event streams")
}
