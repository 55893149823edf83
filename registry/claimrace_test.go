package registry_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/storage"
)

// hookStore runs once() the first time a conditional put of a claim loses.
type hookStore struct {
	storage.Store
	once func()
}

func (h *hookStore) Put(ctx context.Context, key string, r io.Reader, opts *storage.PutOptions) error {
	err := h.Store.Put(ctx, key, r, opts)
	if errors.Is(err, storage.ErrExist) && strings.HasPrefix(key, "_registry/claims/") && h.once != nil {
		f := h.once
		h.once = nil
		f()
	}
	return err
}

// TestClaimReleasedWhileWaiting: replica B tries to import a version while
// replica A holds its claim; A finishes and releases the claim before B
// looks at it again. B must not treat the vanished claim as abandoned and
// remove A's files (its own view of the log is behind A's).
func TestClaimReleasedWhileWaiting(t *testing.T) {
	base := memStore()
	a := openReg(t, base, nil)
	require.NoError(t, storage.WriteAll(ctx, base, "_registry/claims/5.0.json", []byte(`{"version":"5.0"}`), nil))
	hooked := &hookStore{Store: base}
	b := openReg(t, hooked, nil)
	hooked.once = func() {
		// A's import, which held the claim, completes now.
		require.NoError(t, base.Delete(ctx, "_registry/claims/5.0.json"))
		importVersion(t, a, "5.0", "")
	}

	data := zipOf(t, pkgFiles("5.0", ""))
	v, err := b.Import(ctx, "model_5.0_deployment.zip", bytes.NewReader(data), nil)
	require.NoError(t, err, "identical content: B returns A's version")
	assert.Equal(t, "5.0", v.Version)
	assert.Len(t, keys(t, base, "model_5.0/"), 7, "A's files must survive B's attempt")
	require.NoError(t, b.Sync(ctx))
	_, err = b.Deploy(ctx, "5.0", nil)
	require.NoError(t, err, "the version is whole and deployable")
}

// TestDeleteLeavesFilesToAnImportInProgress: files of a deleted version are
// removed under its import claim; while another process holds the claim
// (a re-import starting), they are left for a later repair.
func TestDeleteLeavesFilesToAnImportInProgress(t *testing.T) {
	store := memStore()
	r := openReg(t, store, nil)
	importVersion(t, r, "6.0", "")
	require.NoError(t, storage.WriteAll(ctx, store, "_registry/claims/6.0.json", []byte(`{"version":"6.0"}`), nil))
	_, err := r.Delete(ctx, "6.0", nil)
	require.NoError(t, err)
	assert.NotEmpty(t, keys(t, store, "model_6.0/"), "the claim holder's files are not touched")

	require.NoError(t, store.Delete(ctx, "_registry/claims/6.0.json"))
	res, err := r.Repair(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"6.0"}, res.RemovedDeleted)
	assert.Empty(t, keys(t, store, "model_6.0/"))
	assert.Empty(t, keys(t, store, "_registry/claims/"))
}
