package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/internal/irispkg"
	"github.com/modelvault/modelvault/modelpkg"
)

func ctlIn(t *testing.T, stdin string, args ...string) (int, []map[string]any, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), l)
		lines = append(lines, m)
	}
	return code, lines, errb.String()
}

// importIris imports the iris package (version 2.0) into a new store.
func importIris(t *testing.T, model []byte) string {
	files := irispkg.PackageFiles("2.0")
	if model != nil {
		files["model.joblib"].Data = model
	}
	var zip bytes.Buffer
	_, err := modelpkg.Build(context.Background(), &zip, files, nil)
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), "model_2.0_deployment.zip")
	require.NoError(t, os.WriteFile(p, zip.Bytes(), 0o644))
	store := t.TempDir()
	code, _, errs := ctl(t, "--store", store, "import", p)
	require.Equal(t, 0, code, errs)
	return store
}

func TestPredict(t *testing.T) {
	store := importIris(t, nil)
	t.Run("json lines", func(t *testing.T) {
		code, out, errs := ctlIn(t, "[5.1, 3.5, 1.4, 0.2]\n\n[6.3, 3.3, 6.0, 2.5]\n", "--store", store, "predict", "2.0", "--proba")
		require.Equal(t, 0, code, errs)
		require.Len(t, out, 2)
		assert.Equal(t, "setosa", out[0]["prediction"])
		assert.Equal(t, "virginica", out[1]["prediction"])
		assert.Len(t, out[1]["probabilities"], 3)
	})
	t.Run("csv", func(t *testing.T) {
		code, out, errs := ctlIn(t, "5.1,3.5,1.4,0.2\n5.0,2.0,3.5,1.0\n", "--store", store, "predict", "2.0", "--format", "csv")
		require.Equal(t, 0, code, errs)
		require.Len(t, out, 2)
		assert.Equal(t, "versicolor", out[1]["prediction"])
	})
	t.Run("bad row names its line", func(t *testing.T) {
		code, out, errs := ctlIn(t, "[5.1, 3.5, 1.4, 0.2]\n[1, 2]\n[6.3, 3.3, 6.0, 2.5]\n", "--store", store, "predict", "2.0")
		assert.Equal(t, 1, code)
		require.Len(t, out, 3)
		assert.Equal(t, 2.0, out[1]["line"])
		assert.Contains(t, errs, "line 2")
		assert.Equal(t, "virginica", out[2]["prediction"])
	})
	t.Run("unknown version", func(t *testing.T) {
		code, _, _ := ctlIn(t, "", "--store", store, "predict", "9.9")
		assert.NotEqual(t, 0, code)
	})
}

func TestPredictNamedCSV(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "modelpkg", "sklearn", "testdata", "feature_names.joblib"))
	require.NoError(t, err)
	store := importIris(t, b)
	csvIn := "petal width (cm),petal length (cm),sepal width (cm),sepal length (cm)\n0.2,1.4,3.5,5.1\n"
	code, out, errs := ctlIn(t, csvIn, "--store", store, "predict", "2.0", "--format", "csv", "--header")
	require.Equal(t, 0, code, errs)
	require.Len(t, out, 1)
	assert.Equal(t, 0.0, out[0]["prediction"])
	code, out, errs = ctlIn(t, `{"sepal length (cm)": 5.1, "sepal width (cm)": 3.5, "petal length (cm)": 1.4, "petal width (cm)": 0.2}`+"\n", "--store", store, "predict", "2.0")
	require.Equal(t, 0, code, errs)
	assert.Equal(t, 0.0, out[0]["prediction"])
}
