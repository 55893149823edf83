package registry_test

import (
	"bytes"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/internal/pkgtest"
	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/validate"
)

// What Open ignored (macOS AppleDouble entries) is kept with the version
// as a warning finding: the import's answer, a dry run, and the record
// that later reads of the log (another process, modelctl show) see.
func TestImportKeepsPackageWarnings(t *testing.T) {
	ctx := t.Context()
	files := pkgFiles("1.0", "")
	files[modelpkg.DefaultManifestFile] = &fstest.MapFile{Data: pkgtest.Manifest(files)}
	files["__MACOSX/._model.joblib"] = &fstest.MapFile{Data: []byte("\x00\x05\x16\x07appledouble")}
	data := zipRaw(t, files)
	name := modelpkg.FileName("1.0")

	ignored := func(t *testing.T, v *registry.Version) {
		t.Helper()
		require.NotNil(t, v)
		var found []validate.Finding
		for _, f := range v.Findings {
			if f.Code == "ignored_entry" {
				found = append(found, f)
			}
		}
		require.Len(t, found, 1, "%+v", v.Findings)
		assert.Equal(t, validate.SeverityWarning, found[0].Severity)
		assert.Contains(t, found[0].Message, "AppleDouble")
	}

	store := memStore()
	r := openReg(t, store, nil)
	dry, err := r.Import(ctx, name, bytes.NewReader(data), &registry.ImportOptions{DryRun: true})
	require.NoError(t, err)
	ignored(t, dry)

	v, err := r.Import(ctx, name, bytes.NewReader(data), nil)
	require.NoError(t, err)
	assert.True(t, v.Valid)
	ignored(t, v)

	other := openReg(t, store, nil)
	got, err := other.Get("1.0")
	require.NoError(t, err)
	ignored(t, got)
}
