package pickle

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// estimatorFixtures are the scikit-learn runtime's fixtures: every
// estimator it supports, fitted by Debian's scikit-learn 1.2.1.
func estimatorFixtures(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "modelpkg", "sklearn", "testdata", "*.joblib"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	return files
}

func openBytes(b []byte) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
}

// TestRealEstimatorsAccepted: every real estimator is accepted by Scan,
// Load and ScanAll (joblib.load and pickle.load), seekable or not, and
// Load's graph holds built arrays.
func TestRealEstimatorsAccepted(t *testing.T) {
	files := append(estimatorFixtures(t), realFixtures(t)...)
	accepted := 0
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			opts := &Options{Plain: strings.HasSuffix(path, ".pkl")}
			res, err := Scan(context.Background(), bytes.NewReader(data), opts)
			require.NoError(t, err)
			res2, err := Scan(context.Background(), nonSeeker{bytes.NewReader(data)}, opts)
			require.NoError(t, err)
			assert.Equal(t, res, res2)
			root, res3, err := Load(context.Background(), bytes.NewReader(data), opts)
			require.NoError(t, err)
			assert.Equal(t, res.Root, res3.Root)
			o, ok := root.(*Object)
			require.True(t, ok)
			assert.Equal(t, res.Root, o.Class)
			assert.True(t, strings.HasPrefix(o.Class.Module, "sklearn."), "root %s", o.Class)
			_, err = ScanAll(context.Background(), openBytes(data), opts)
			require.NoError(t, err)
			checkArrays(t, root, map[any]bool{})
			accepted++
		})
	}
	t.Logf("%d of %d real estimator files accepted", accepted, len(files))
}

// checkArrays walks a loaded graph and checks every array's data size.
func checkArrays(t *testing.T, v Value, seen map[any]bool) {
	if x, ok := v.(*Array); ok {
		require.NotNil(t, x.Dtype)
		if x.Dtype.Kind == 'O' {
			assert.Len(t, x.Objects, x.Len())
		} else {
			assert.Len(t, x.Data, x.Len()*x.Dtype.ItemSize)
		}
	}
	kids, ok := children(v)
	if !ok || seen[v] {
		return
	}
	seen[v] = true
	for _, k := range kids {
		checkArrays(t, k, seen)
	}
}

// TestTreeNodesStructuredDtype: the tree's nodes array is read by its
// field names, in both the 1.2 layout and the 1.3 one with
// missing_go_to_left.
func TestTreeNodesStructuredDtype(t *testing.T) {
	for name, want := range map[string][]string{
		"decision_tree_classifier.joblib": {"left_child", "right_child", "feature", "threshold", "impurity", "n_node_samples", "weighted_n_node_samples"},
		"tree_node_1_3.joblib":            {"left_child", "right_child", "feature", "threshold", "impurity", "n_node_samples", "weighted_n_node_samples", "missing_go_to_left"},
	} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("..", "..", "modelpkg", "sklearn", "testdata", name))
			require.NoError(t, err)
			root, _, err := Load(context.Background(), bytes.NewReader(data), nil)
			require.NoError(t, err)
			tree, ok := root.(*Object).Attr("tree_")
			require.True(t, ok)
			nodes, ok := tree.(*Object).Attr("nodes")
			require.True(t, ok)
			a := nodes.(*Array)
			var names []string
			for _, f := range a.Dtype.Fields {
				names = append(names, f.Name)
			}
			assert.Equal(t, want, names)
			assert.Equal(t, byte('V'), a.Dtype.Kind)
			assert.Len(t, a.Data, a.Len()*a.Dtype.ItemSize)
		})
	}
}
