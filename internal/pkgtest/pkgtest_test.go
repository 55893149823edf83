package pkgtest_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/internal/pkgtest"
	"github.com/modelvault/modelvault/modelpkg"
)

func TestFixturesAreValidPackages(t *testing.T) {
	files := pkgtest.Files("1.2")
	for _, data := range [][]byte{pkgtest.Zip(t, files), pkgtest.ZipRaw(t, files)} {
		p, err := modelpkg.Open(bytes.NewReader(data), int64(len(data)), nil)
		require.NoError(t, err)
		md, err := p.ReadMetadata()
		require.NoError(t, err)
		require.NoError(t, modelpkg.CheckVersion("1.2", md))
		require.Empty(t, md.Missing)
		m, err := p.ReadManifest()
		require.NoError(t, err)
		var names []string
		for _, f := range p.Files() {
			if f.Name != modelpkg.DefaultManifestFile {
				names = append(names, f.Name)
			}
		}
		_, err = m.Check(names, false)
		require.NoError(t, err)
		for _, req := range modelpkg.DefaultLayout().Required {
			_, err := p.Stat(req)
			require.NoError(t, err, req)
		}
		dir := t.TempDir()
		dst, err := modelpkg.OpenDirDestination(dir, &modelpkg.DirOptions{NoSync: true})
		require.NoError(t, err)
		_, err = p.Extract(context.Background(), dst, nil)
		require.NoError(t, err, "the manifest in Files matches its files")
		dst.Close()
	}
}
