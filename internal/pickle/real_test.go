package pickle

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/ulikunitz/xz"
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

// TestCompressedVariants re-compresses a real fixture in ways Python's
// decompressors also accept: multi-block and multi-stream xz, lz4 from Go.
func TestCompressedVariants(t *testing.T) {
	raw := readFixture(t, "forest.joblib")
	multiBlock := func() []byte {
		var buf bytes.Buffer
		w, err := xz.WriterConfig{BlockSize: 1024}.NewWriter(&buf)
		require.NoError(t, err)
		_, err = w.Write(raw)
		require.NoError(t, err)
		require.NoError(t, w.Close())
		return buf.Bytes()
	}()
	half := len(raw) / 2
	twoStreams := append(xzBytes(t, raw[:half]), xzBytes(t, raw[half:])...)
	for name, data := range map[string][]byte{
		"xz multi-block": multiBlock,
		"xz two streams": twoStreams,
		"lz4 from Go":    lz4Bytes(t, raw),
		"zlib from Go":   zlibBytes(t, raw),
	} {
		t.Run(name, func(t *testing.T) {
			res, err := Scan(context.Background(), bytes.NewReader(data), nil)
			require.NoError(t, err)
			assert.Equal(t, "sklearn.ensemble._forest.RandomForestClassifier", res.Root.String())
		})
	}
}

// TestRealGlobals pins the exact globals real scikit-learn files name.
func TestRealGlobals(t *testing.T) {
	res, err := Scan(context.Background(), bytes.NewReader(readFixture(t, "forest_strlabels.joblib")), nil)
	require.NoError(t, err)
	assert.Equal(t, []Global{
		{"sklearn.ensemble._forest", "RandomForestClassifier"},
		{"sklearn.tree._classes", "DecisionTreeClassifier"},
		{"joblib.numpy_pickle", "NumpyArrayWrapper"},
		{"numpy", "ndarray"},
		{"numpy", "dtype"},
		{"numpy.core.multiarray", "_reconstruct"}, // in the object-array pickle
		{"_codecs", "encode"},
		{"numpy.core.multiarray", "scalar"},
		{"sklearn.tree._tree", "Tree"},
	}, res.Globals)
	assert.Equal(t, 1, res.NestedPickles)

	res, err = Scan(context.Background(), bytes.NewReader(readFixture(t, "forest_randomstate.joblib")), nil)
	require.NoError(t, err)
	assert.Contains(t, res.Globals, Global{"numpy.random._pickle", "__randomstate_ctor"})
}

func TestGzipSecondMemberIsTrailingData(t *testing.T) {
	gz := readFixture(t, "forest_gzip.joblib")
	_, err := Scan(context.Background(), bytes.NewReader(append(append([]byte{}, gz...), gz...)), nil)
	require.ErrorIs(t, err, ErrInvalid)
	assert.Contains(t, err.Error(), "trailing")
}
