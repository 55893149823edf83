package picklescan

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func realFixtures(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "real", "*"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	return files
}

func TestRealFixturesPass(t *testing.T) {
	for _, path := range realFixtures(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			opts := &Options{Plain: strings.HasSuffix(path, ".pkl")}
			// Seekable and streaming readers must agree.
			res, err := Scan(context.Background(), bytes.NewReader(data), opts)
			require.NoError(t, err)
			res2, err := Scan(context.Background(), struct{ *bytes.Reader }{bytes.NewReader(data)}, opts)
			require.NoError(t, err)
			assert.Equal(t, res, res2)
			assert.True(t, strings.HasPrefix(res.Root.Module, "sklearn."), "root %s", res.Root)
			t.Logf("%s: root %s, %d globals, %d arrays (%d bytes), %d nested, proto %d, %s",
				filepath.Base(path), res.Root, len(res.Globals), res.Arrays, res.ArrayBytes, res.NestedPickles, res.Protocol, res.Compression)
		})
	}
}
