package sklearn_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/modelpkg/sklearn"
)

// expected is a fixture's NAME.json, written by testdata/gen.py.
type expected struct {
	Class            string      `json:"class"`
	NFeatures        int         `json:"n_features"`
	X                [][]any     `json:"X"`
	Predict          []any       `json:"predict"`
	Classes          []any       `json:"classes"`
	FeatureNames     []string    `json:"feature_names"`
	PredictProba     [][]float64 `json:"predict_proba"`
	DecisionFunction json.RawMessage
	// Multi-output estimators (a 2-D y).
	NOutputs            int           `json:"n_outputs"`
	ClassesOutputs      [][]any       `json:"classes_outputs"`
	PredictProbaOutputs [][][]float64 `json:"predict_proba_outputs"`
}

func fixtureNames(t testing.TB) []string {
	var idx struct{ Fixtures []string }
	b, err := os.ReadFile(filepath.Join("testdata", "index.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &idx))
	require.NotEmpty(t, idx.Fixtures)
	return idx.Fixtures
}

func readExpected(t testing.TB, name string) *expected {
	b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	require.NoError(t, err)
	var e expected
	require.NoError(t, json.Unmarshal(b, &e))
	var raw map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(b, &raw))
	e.DecisionFunction = raw["decision_function"]
	return &e
}

func loadFixture(t testing.TB, name string) *sklearn.Model {
	f, err := os.Open(filepath.Join("testdata", name+".joblib"))
	require.NoError(t, err)
	defer f.Close()
	m, err := sklearn.Load(f)
	require.NoError(t, err, name)
	return m
}

// jsonLabel converts a class label to what encoding/json decodes.
func jsonLabel(v any) any {
	switch x := v.(type) {
	case int64:
		return float64(x)
	}
	return v
}

// closeTo reports whether got is within 1e-9 relative of want.
func closeTo(want, got float64) bool {
	if want == got {
		return true
	}
	return math.Abs(want-got) <= 1e-9*math.Abs(want)
}

// exact lists the fixtures whose outputs are bit-identical to
// scikit-learn's: trees and forests (float32 features against float32
// thresholds, sums in scikit-learn's order).
var exact = map[string]bool{
	"decision_tree_classifier": true, "decision_tree_regressor": true, "tree_node_1_3": true,
	"random_forest_classifier": true, "random_forest_regressor": true,
	"random_forest_classifier_zlib": true, "random_forest_classifier_gzip": true, "random_forest_classifier_xz": true,
	"extra_trees_classifier": true, "extra_trees_regressor": true,
	"gradient_boosting_regressor": true, "hist_gradient_boosting_regressor": true,
	"column_transformer_passthrough":     true,
	"hist_gradient_boosting_categorical": true, "missing_indicator": true,
	"decision_tree_regressor_multi": true, "random_forest_regressor_multi": true,
	"decision_tree_classifier_multi": true, "extra_trees_classifier_multi": true,
	"extra_trees_classifier_multi_padded": true, "imputer_indicator_numeric": true,
}

func TestFixtures(t *testing.T) {
	for _, name := range fixtureNames(t) {
		t.Run(name, func(t *testing.T) {
			closeTo := closeTo
			if exact[name] {
				closeTo = func(want, got float64) bool { return want == got }
			}
			e := readExpected(t, name)
			m := loadFixture(t, name)
			assert.Equal(t, e.NFeatures, m.NFeatures())
			assert.Equal(t, e.FeatureNames, m.FeatureNames())
			wantClass := e.Class
			assert.Equal(t, wantClass, m.ClassName())
			if e.Classes != nil {
				got := m.Classes()
				require.Len(t, got, len(e.Classes))
				for i := range got {
					assert.Equal(t, e.Classes[i], jsonLabel(got[i]), "class %d", i)
				}
			} else {
				assert.Nil(t, m.Classes())
			}
			nOut := max(e.NOutputs, 1)
			assert.Equal(t, nOut, m.NOutputs())
			for k, cs := range e.ClassesOutputs {
				got := m.OutputClasses(k)
				require.Len(t, got, len(cs), "output %d", k)
				for i := range got {
					assert.Equal(t, cs[i], jsonLabel(got[i]), "output %d class %d", k, i)
				}
			}
			pred, err := m.PredictRows(e.X)
			require.NoError(t, err)
			require.Len(t, pred, len(e.Predict))
			for i := range pred {
				w := e.Predict[i]
				if nOut > 1 {
					want := w.([]any)
					var got []any
					if m.IsClassifier() {
						got = pred[i].([]any)
					} else {
						for _, x := range pred[i].([]float64) {
							got = append(got, x)
						}
					}
					require.Len(t, got, len(want), "row %d", i)
					for k := range want {
						if f, ok := want[k].(float64); ok && !m.IsClassifier() {
							assert.True(t, closeTo(f, got[k].(float64)), "row %d output %d: want %v, got %v", i, k, f, got[k])
						} else {
							assert.Equal(t, want[k], jsonLabel(got[k]), "row %d output %d", i, k)
						}
					}
					continue
				}
				if f, ok := w.(float64); ok && !m.IsClassifier() {
					assert.True(t, closeTo(f, pred[i].(float64)), "row %d: want %v, got %v", i, f, pred[i])
				} else {
					assert.Equal(t, w, jsonLabel(pred[i]), "row %d", i)
				}
			}
			if e.PredictProbaOutputs != nil {
				p, err := m.PredictProbaOutputsRows(e.X)
				require.NoError(t, err)
				require.Len(t, p, len(e.PredictProbaOutputs))
				for k := range p {
					require.Len(t, p[k], len(e.PredictProbaOutputs[k]))
					for i := range p[k] {
						require.Len(t, p[k][i], len(e.PredictProbaOutputs[k][i]))
						for j := range p[k][i] {
							assert.True(t, closeTo(e.PredictProbaOutputs[k][i][j], p[k][i][j]), "output %d proba row %d col %d: want %v, got %v", k, i, j, e.PredictProbaOutputs[k][i][j], p[k][i][j])
						}
					}
				}
				_, err = m.PredictProbaRows(e.X)
				require.ErrorIs(t, err, sklearn.ErrNotAvailable)
			}
			if e.PredictProba != nil {
				p, err := m.PredictProbaRows(e.X)
				require.NoError(t, err)
				require.Len(t, p, len(e.PredictProba))
				for i := range p {
					require.Len(t, p[i], len(e.PredictProba[i]))
					for j := range p[i] {
						assert.True(t, closeTo(e.PredictProba[i][j], p[i][j]), "proba row %d col %d: want %v, got %v", i, j, e.PredictProba[i][j], p[i][j])
					}
				}
			} else {
				assert.False(t, m.HasPredictProba())
			}
			if e.DecisionFunction != nil {
				want := decisionRows(t, e.DecisionFunction)
				d, err := m.DecisionFunctionRows(e.X)
				require.NoError(t, err)
				require.Len(t, d, len(want))
				for i := range d {
					require.Len(t, d[i], len(want[i]), "row %d", i)
					for j := range d[i] {
						assert.True(t, closeTo(want[i][j], d[i][j]), "decision row %d col %d: want %v, got %v", i, j, want[i][j], d[i][j])
					}
				}
			} else {
				assert.False(t, m.HasDecisionFunction())
			}
		})
	}
}

// decisionRows reads decision_function: a vector (binary) or a matrix.
func decisionRows(t testing.TB, raw json.RawMessage) [][]float64 {
	var m [][]float64
	if json.Unmarshal(raw, &m) == nil {
		return m
	}
	var v []float64
	require.NoError(t, json.Unmarshal(raw, &v))
	out := make([][]float64, len(v))
	for i, x := range v {
		out[i] = []float64{x}
	}
	return out
}

func fixtureBytes(t testing.TB, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name+".joblib"))
	require.NoError(t, err)
	return b
}
