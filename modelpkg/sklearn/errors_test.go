package sklearn_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/internal/pickle"
	"github.com/modelvault/modelvault/modelpkg/sklearn"
)

func TestBadInput(t *testing.T) {
	logistic := loadFixture(t, "logistic_multinomial")
	tree := loadFixture(t, "decision_tree_classifier")
	hgb := loadFixture(t, "hist_gradient_boosting_regressor")
	onehot := loadFixture(t, "onehot_string")
	ct := loadFixture(t, "column_transformer")
	reg := loadFixture(t, "ridge")
	row := []float64{5.1, 3.5, 1.4, 0.2}

	t.Run("wrong feature count", func(t *testing.T) {
		_, err := logistic.Predict([][]float64{row[:3]})
		require.ErrorIs(t, err, sklearn.ErrFeatureCount)
		_, err = logistic.PredictRows([][]any{{1.0, 2.0, 3.0, 4.0, 5.0}})
		require.ErrorIs(t, err, sklearn.ErrFeatureCount)
		_, err = tree.PredictProba([][]float64{row, {}})
		require.ErrorIs(t, err, sklearn.ErrFeatureCount)
	})
	t.Run("NaN where not accepted", func(t *testing.T) {
		_, err := logistic.Predict([][]float64{{math.NaN(), 1, 2, 3}})
		require.ErrorIs(t, err, sklearn.ErrMissingValue)
		_, err = tree.PredictRows([][]any{{nil, 1.0, 2.0, 3.0}})
		require.ErrorIs(t, err, sklearn.ErrMissingValue)
	})
	t.Run("NaN accepted by HistGradientBoosting", func(t *testing.T) {
		x := make([]float64, hgb.NFeatures())
		for i := range x {
			x[i] = math.NaN()
		}
		p, err := hgb.Predict([][]float64{x})
		require.NoError(t, err)
		require.Len(t, p, 1)
	})
	t.Run("infinity", func(t *testing.T) {
		_, err := logistic.Predict([][]float64{{math.Inf(1), 1, 2, 3}})
		require.ErrorIs(t, err, sklearn.ErrNotNumber)
		_, err = tree.Predict([][]float64{{1e300, 1, 2, 3}})
		require.ErrorIs(t, err, sklearn.ErrNotNumber)
	})
	t.Run("string where a number is expected", func(t *testing.T) {
		_, err := logistic.PredictRows([][]any{{"5.1", 3.5, 1.4, 0.2}})
		require.ErrorIs(t, err, sklearn.ErrNotNumber)
		_, err = ct.PredictRows([][]any{{5.1, "x", 1.4, 0.2, "short"}})
		require.ErrorIs(t, err, sklearn.ErrNotNumber)
		_, err = logistic.PredictRows([][]any{{[]int{1}, 3.5, 1.4, 0.2}})
		require.ErrorIs(t, err, sklearn.ErrNotNumber)
	})
	t.Run("unknown category", func(t *testing.T) {
		_, err := ct.PredictRows([][]any{{5.1, 3.5, 1.4, 0.2, "huge"}})
		require.ErrorIs(t, err, sklearn.ErrUnknownCategory)
		// handle_unknown="ignore": no error, all-zero encoding.
		p, err := onehot.PredictRows([][]any{{"huge"}})
		require.NoError(t, err)
		require.Len(t, p, 1)
	})
	t.Run("no predict_proba", func(t *testing.T) {
		_, err := reg.PredictProba([][]float64{make([]float64, reg.NFeatures())})
		require.ErrorIs(t, err, sklearn.ErrNotAvailable)
		_, err = reg.DecisionFunction([][]float64{make([]float64, reg.NFeatures())})
		require.ErrorIs(t, err, sklearn.ErrNotAvailable)
		_, err = logistic.PredictFloats([][]float64{row})
		require.ErrorIs(t, err, sklearn.ErrNotAvailable)
	})
	t.Run("named rows", func(t *testing.T) {
		_, err := logistic.Row(map[string]any{"a": 1.0})
		require.ErrorIs(t, err, sklearn.ErrUnknownFeature)
	})
	t.Run("empty batch", func(t *testing.T) {
		p, err := logistic.Predict(nil)
		require.NoError(t, err)
		assert.Empty(t, p)
	})
}

func TestLoadErrors(t *testing.T) {
	t.Run("not a pickle", func(t *testing.T) {
		_, err := sklearn.Load(bytes.NewReader([]byte("hello")))
		require.ErrorIs(t, err, sklearn.ErrUnsafe)
	})
	t.Run("canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := sklearn.LoadWith(ctx, bytes.NewReader(fixtureBytes(t, "ridge")), nil)
		require.Error(t, err)
	})
}

func TestFloatsAndMetadata(t *testing.T) {
	reg := loadFixture(t, "ridge")
	assert.False(t, reg.IsClassifier())
	assert.Nil(t, reg.Classes())
	e := readExpected(t, "ridge")
	X := make([][]float64, len(e.X))
	for i, r := range e.X {
		for _, c := range r {
			X[i] = append(X[i], c.(float64))
		}
	}
	f, err := reg.PredictFloats(X)
	require.NoError(t, err)
	for i := range f {
		assert.True(t, closeTo(e.Predict[i].(float64), f[i]))
	}
	assert.Contains(t, sklearn.Supported(), "HistGradientBoostingClassifier")
}

func TestRefused(t *testing.T) {
	var idx struct{ Unsupported, Invalid []string }
	b, err := os.ReadFile(filepath.Join("testdata", "index.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &idx))
	require.NotEmpty(t, idx.Unsupported)
	unsupported := 0
	for _, name := range idx.Unsupported {
		_, err := sklearn.Load(bytes.NewReader(fixtureBytes(t, name)))
		if errors.Is(err, sklearn.ErrUnsafe) {
			t.Logf("%s: the pickle scan refuses it: %v", name, err)
			continue
		}
		require.ErrorIs(t, err, sklearn.ErrUnsupported, name)
		unsupported++
	}
	require.NotZero(t, unsupported, "no file reached the runtime's unsupported check")
	for _, name := range idx.Invalid {
		t.Run(name, func(t *testing.T) {
			_, err := sklearn.Load(bytes.NewReader(fixtureBytes(t, name)))
			require.ErrorIs(t, err, sklearn.ErrInvalidModel)
		})
	}
}

func TestUnsupportedNamesClass(t *testing.T) {
	_, err := sklearn.FromValue(&pickle.Object{
		Class: pickle.Global{Module: "sklearn.dummy", Name: "DummyClassifier"},
		State: &pickle.Dict{},
	})
	require.ErrorIs(t, err, sklearn.ErrUnsupported)
	assert.Contains(t, err.Error(), "DummyClassifier")
	assert.Contains(t, err.Error(), "HistGradientBoostingClassifier")
	_, err = sklearn.FromValue("not an object")
	require.ErrorIs(t, err, sklearn.ErrInvalidModel)
}

// TestCyclicComposite: a crafted graph whose ColumnTransformer contains
// itself fails with an error instead of recursing forever.
func TestCyclicComposite(t *testing.T) {
	ct := &pickle.Object{Class: pickle.Global{Module: "sklearn.compose._column_transformer", Name: "ColumnTransformer"}}
	entry := &pickle.Tuple{Items: []pickle.Value{"self", ct, &pickle.List{Items: []pickle.Value{int64(0)}}}}
	ct.State = &pickle.Dict{
		Keys: []pickle.Value{"n_features_in_", "transformers_"},
		Vals: []pickle.Value{int64(1), &pickle.List{Items: []pickle.Value{entry}}},
	}
	pipe := &pickle.Object{
		Class: pickle.Global{Module: "sklearn.pipeline", Name: "Pipeline"},
		State: &pickle.Dict{Keys: []pickle.Value{"steps"}, Vals: []pickle.Value{&pickle.List{Items: []pickle.Value{
			&pickle.Tuple{Items: []pickle.Value{"ct", ct}},
			&pickle.Tuple{Items: []pickle.Value{"m", "passthrough"}},
		}}}},
	}
	_, err := sklearn.FromValue(pipe)
	require.Error(t, err)
}

// TestLargeBatch: a batch predicted in parallel chunks equals row by row
// prediction, and a bad row in a late chunk fails the batch.
func TestLargeBatch(t *testing.T) {
	for _, name := range []string{"random_forest_classifier", "ridge", "hist_gradient_boosting_regressor"} {
		m := loadFixture(t, name)
		e := readExpected(t, name)
		rows := make([][]any, 5000)
		for i := range rows {
			rows[i] = e.X[i%len(e.X)]
		}
		got, err := m.PredictRows(rows)
		require.NoError(t, err)
		for i := 0; i < len(rows); i += 97 { // a sample of every chunk
			one, err := m.PredictRows(rows[i : i+1])
			require.NoError(t, err)
			require.Equal(t, one[0], got[i], "%s row %d", name, i)
		}
		if m.HasPredictProba() {
			p, err := m.PredictProbaRows(rows)
			require.NoError(t, err)
			require.Len(t, p, len(rows))
		}
		bad := append([][]any(nil), rows...)
		bad[4999] = append([]any{"x"}, rows[0][1:]...)
		_, err = m.PredictRows(bad)
		require.ErrorIs(t, err, sklearn.ErrNotNumber, name)
	}
}
