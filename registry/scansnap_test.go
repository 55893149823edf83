package registry_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/storage"
)

// listHookStore calls after once, after the first List of prefix.
type listHookStore struct {
	storage.Store
	prefix string
	once   sync.Once
	after  func()
}

func (s *listHookStore) List(ctx context.Context, opts *storage.ListOptions) (*storage.ListPage, error) {
	page, err := s.Store.List(ctx, opts)
	if opts != nil && opts.Prefix == s.prefix {
		s.once.Do(s.after)
	}
	return page, err
}

// TestScanRegistersWhatItValidated is scenario 5 of issue 11 (first half):
// the model file lands after the scan listed the directory. The scan must
// not register a record without it: what it registers is what it
// validated.
func TestScanRegistersWhatItValidated(t *testing.T) {
	ctx := context.Background()
	base := memStore()
	files := pkgFiles("1.0", "")
	for name, f := range files {
		if name != modelpkg.DefaultModelFile {
			require.NoError(t, storage.WriteAll(ctx, base, "model_1.0/"+name, f.Data, nil))
		}
	}
	hs := &listHookStore{Store: base, prefix: "model_1.0/", after: func() {
		require.NoError(t, storage.WriteAll(ctx, base, "model_1.0/"+modelpkg.DefaultModelFile, files[modelpkg.DefaultModelFile].Data, nil))
	}}
	r := openReg(t, hs, &registry.Options{SkipOpenScan: true})
	_, err := r.Scan(ctx, nil)
	require.NoError(t, err)
	v, err := r.Get("1.0")
	require.NoError(t, err)
	if v.Valid {
		assert.Contains(t, v.Files, modelpkg.DefaultModelFile, "a valid record lists every file it was validated with")
	}
	// The next scan, with the file in place, registers it whole.
	_, err = r.Scan(ctx, nil)
	require.NoError(t, err)
	v, err = r.Get("1.0")
	require.NoError(t, err)
	assert.True(t, v.Valid)
	assert.Contains(t, v.Files, modelpkg.DefaultModelFile)
}

// TestScanNeverResurrectsDeleted is scenario 5 of issue 11 (second half):
// a version deleted by another replica while a scan checks it stays
// deleted.
func TestScanNeverResurrectsDeleted(t *testing.T) {
	ctx := context.Background()
	base := memStore()
	files := pkgFiles("1.0", "")
	for name, f := range files {
		if name != modelpkg.DefaultModelFile {
			require.NoError(t, storage.WriteAll(ctx, base, "model_1.0/"+name, f.Data, nil))
		}
	}
	other := openReg(t, base, &registry.Options{SkipOpenScan: true})
	_, err := other.Scan(ctx, nil)
	require.NoError(t, err)
	v, err := other.Get("1.0")
	require.NoError(t, err)
	require.False(t, v.Valid, "incomplete: recorded invalid")
	require.NoError(t, storage.WriteAll(ctx, base, "model_1.0/"+modelpkg.DefaultModelFile, files[modelpkg.DefaultModelFile].Data, nil))

	var once sync.Once
	hs := &callHookStore{Store: base}
	hs.beforePut = func(key string, _ *storage.PutOptions) {
		if strings.HasPrefix(key, "_registry/log/") {
			once.Do(func() {
				_, err := other.Delete(ctx, "1.0", nil)
				assert.NoError(t, err)
			})
		}
	}
	r := openReg(t, hs, &registry.Options{SkipOpenScan: true})
	_, err = r.Scan(ctx, nil)
	require.NoError(t, err)
	_, err = r.Get("1.0")
	assert.ErrorIs(t, err, registry.ErrNotFound, "a deleted version is not resurrected by a scan")
}
