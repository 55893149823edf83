package sklearn_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"

	"github.com/modelvault/modelvault/modelpkg/sklearn"
)

// fuzzSeeds are the fixtures the loader fuzz starts from: small ones
// with the raw arrays an attacker would flip (tree nodes, KD tree,
// support vectors, encoders, pipelines), and a compressed file.
var fuzzSeeds = []string{
	"decision_tree_classifier", "tree_node_1_3", "kneighbors_classifier", "svc_poly",
	"column_transformer", "column_transformer_passthrough", "pipeline_poly_ridge", "logistic_binary",
	"pipeline_pca_logistic", "pipeline_imputer_hgb_free", "onehot_string", "sgd_classifier",
	"svc_probability_binary", "imputer_indicator", "missing_indicator_only", "onehot_max_categories",
	"decision_tree_classifier_multi",
}

// exercise runs every prediction method on a few rows; none may panic.
func exercise(m *sklearn.Model, rows [][]any) {
	_, _ = m.PredictRows(rows)
	_, _ = m.PredictProbaRows(rows)
	_, _ = m.DecisionFunctionRows(rows)
	_, _ = m.PredictProbaOutputsRows(rows)
	_ = m.Classes()
	_ = m.OutputClasses(m.NOutputs() - 1)
	_ = m.FeatureNames()
}

// FuzzLoad: any bytes load or fail with an error, never a panic, and a
// model that loads predicts or fails with an error.
func FuzzLoad(f *testing.F) {
	for _, name := range fuzzSeeds {
		f.Add(fixtureBytes(f, name))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := sklearn.LoadWith(t.Context(), bytes.NewReader(data), &sklearn.Options{Budget: 64 << 20})
		if err != nil {
			return
		}
		n := m.NFeatures()
		if n <= 0 || n > 1<<16 {
			t.Fatalf("loaded a model of %d features", n)
		}
		zero := make([]any, n)
		for i := range zero {
			zero[i] = 0.0
		}
		exercise(m, [][]any{zero})
	})
}

// FuzzPredict: any row (numbers of any value, NaN, infinities, strings,
// nil, wrong lengths) gives a prediction or a named error on every
// family.
func FuzzPredict(f *testing.F) {
	names := []string{
		"logistic_multinomial", "decision_tree_classifier", "hist_gradient_boosting_regressor",
		"column_transformer_nested", "onehot_numeric", "kneighbors_regressor", "svc_rbf",
		"mlp_regressor", "pipeline_poly_ridge", "gaussian_nb", "pipeline_imputer_hgb_free",
		"hist_gradient_boosting_categorical", "svc_probability", "imputer_indicator",
		"missing_indicator_only", "onehot_infrequent", "decision_tree_classifier_multi",
		"kneighbors_classifier_multi", "mlp_classifier_multilabel", "random_forest_regressor_multi",
	}
	models := make([]*sklearn.Model, len(names))
	for i, n := range names {
		models[i] = loadFixture(f, n)
	}
	f.Add(uint8(0), []byte{}, "short")
	f.Add(uint8(3), bytes.Repeat([]byte{0x7f, 0xf8, 0, 0, 0, 0, 0, 1}, 5), "long")
	f.Add(uint8(1), bytes.Repeat([]byte{0x40, 0x14, 0, 0, 0, 0, 0, 0}, 4), "")
	f.Fuzz(func(t *testing.T, which uint8, cells []byte, s string) {
		m := models[int(which)%len(models)]
		n := m.NFeatures()
		row := make([]any, n)
		for i := range row {
			switch {
			case len(cells) >= 8*(i+1):
				row[i] = math.Float64frombits(binary.BigEndian.Uint64(cells[8*i:]))
			case i%3 == 0:
				row[i] = s
			default:
				row[i] = nil
			}
		}
		exercise(m, [][]any{row})
		if len(cells)%7 == 0 && n > 0 {
			exercise(m, [][]any{row[:n-1]})
		}
		x := make([]float64, n)
		for i := range x {
			if f, ok := row[i].(float64); ok {
				x[i] = f
			}
		}
		_, _ = m.Predict([][]float64{x})
		_, _ = m.PredictProba([][]float64{x})
		// The Matrix forms, on the row and on a shape from the input.
		for _, mat := range []sklearn.Matrix{{Rows: 1, Cols: n, Data: x}, {Rows: int(which>>4) - 2, Cols: len(s), Data: x}} {
			_, _ = m.AppendPredictFloats(nil, mat)
			_, _ = m.AppendPredictClasses(nil, mat)
			_, _ = m.AppendPredictProba(nil, mat)
		}
	})
}
