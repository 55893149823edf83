package registry_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/storage"
)

// TestVersionsUniqueUnderCaseFolding is scenario 9 of issue 11: 1.0-RC and
// 1.0-rc (or 1.0.) share a directory on a case-insensitive store, so only
// one of them may be registered, by import or by scan.
func TestVersionsUniqueUnderCaseFolding(t *testing.T) {
	ctx := context.Background()
	store := memStore()
	r := openReg(t, store, &registry.Options{SkipOpenScan: true})
	importVersion(t, r, "1.0-RC", "")

	for _, alias := range []string{"1.0-rc", "1.0-Rc."} {
		t.Run("import "+alias, func(t *testing.T) {
			data := zipOf(t, pkgFiles(alias, ""))
			_, err := r.Import(ctx, modelpkg.FileName(alias), bytes.NewReader(data), nil)
			require.ErrorIs(t, err, registry.ErrVersionExists)
			assert.Empty(t, keys(t, store, modelpkg.DirName(alias)+"/"), "nothing written")
		})
	}
	t.Run("scan", func(t *testing.T) {
		for name, f := range pkgFiles("1.0-rc", "") {
			require.NoError(t, storage.WriteAll(ctx, store, "model_1.0-rc/"+name, f.Data, nil))
		}
		res, err := r.Scan(ctx, nil)
		require.NoError(t, err)
		assert.Empty(t, res.Registered)
		assert.Contains(t, res.Skipped, "model_1.0-rc/")
		_, err = r.Get("1.0-rc")
		assert.ErrorIs(t, err, registry.ErrNotFound)
	})
}
