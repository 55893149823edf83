package irispkg_test

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/internal/irispkg"
	"github.com/modelvault/modelvault/modelpkg/sklearn"
)

// TestModels: the packaged models (and the test-only unicode and binary
// ones) predict with the runtime what scikit-learn predicted in gen.py.
func TestModels(t *testing.T) {
	var exp struct {
		Models map[string]struct {
			Classes     []string
			Predictions []struct {
				X     []float64
				Label string
				Probs []float64
			}
		}
	}
	b, err := os.ReadFile(filepath.Join("testdata", "expected.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &exp))
	require.Len(t, exp.Models, 4)
	for name, want := range exp.Models {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", name+".joblib"))
			require.NoError(t, err)
			m, err := sklearn.Load(bytes.NewReader(data))
			require.NoError(t, err)
			require.Len(t, m.Classes(), len(want.Classes))
			for _, p := range want.Predictions {
				got, err := m.Predict([][]float64{p.X})
				require.NoError(t, err)
				assert.Equal(t, p.Label, labelString(got[0]))
				proba, err := m.PredictProba([][]float64{p.X})
				require.NoError(t, err)
				for j := range p.Probs {
					assert.InDelta(t, p.Probs[j], proba[0][j], 1e-9*math.Max(1, p.Probs[j]))
				}
			}
		})
	}
}

func labelString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func TestPackageFiles(t *testing.T) {
	for _, version := range []string{"1.0", "2.0"} {
		files := irispkg.PackageFiles(version)
		m, err := sklearn.Load(bytes.NewReader(files["model.joblib"].Data))
		require.NoError(t, err)
		got, err := m.Predict(irispkg.Samples)
		require.NoError(t, err)
		for i, g := range got {
			assert.Equal(t, irispkg.SampleLabels[i], g, "version %s row %d", version, i)
		}
		assert.Equal(t, irispkg.FeatureNames(), []string{"sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"})
	}
}
