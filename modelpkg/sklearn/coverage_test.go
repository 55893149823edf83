package sklearn_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/modelpkg/sklearn"
)

// row returns fixture name's input row i as float64s (NaN for null).
func fixtureRow(t *testing.T, name string, i int) []float64 {
	e := readExpected(t, name)
	out := make([]float64, len(e.X[i]))
	for j, c := range e.X[i] {
		if c == nil {
			out[j] = math.NaN()
			continue
		}
		out[j] = c.(float64)
	}
	return out
}

// TestCoverageBadInput: the named errors of the estimators added to the
// coverage (probability SVC, categorical HistGradientBoosting, missing
// indicators, infrequent one-hot categories, multi-output models).
func TestCoverageBadInput(t *testing.T) {
	t.Run("MissingIndicator error_on_new", func(t *testing.T) {
		m := loadFixture(t, "missing_indicator_only")
		x := fixtureRow(t, "missing_indicator_only", 0)
		_, err := m.Predict([][]float64{x})
		require.NoError(t, err)
		x[0] = math.NaN() // column 0 had no missing value at fit time
		_, err = m.Predict([][]float64{x})
		require.ErrorIs(t, err, sklearn.ErrMissingValue)
		x[0], x[1] = 1, math.NaN() // column 1 had some: fine
		_, err = m.Predict([][]float64{x})
		require.NoError(t, err)
	})
	t.Run("SimpleImputer with a numeric missing value refuses NaN", func(t *testing.T) {
		m := loadFixture(t, "imputer_indicator_numeric")
		x := fixtureRow(t, "imputer_indicator_numeric", 0)
		x[1] = -1
		_, err := m.Predict([][]float64{x})
		require.NoError(t, err)
		x[1] = math.NaN()
		_, err = m.Predict([][]float64{x})
		require.ErrorIs(t, err, sklearn.ErrMissingValue)
	})
	t.Run("categorical HistGradientBoosting", func(t *testing.T) {
		m := loadFixture(t, "hist_gradient_boosting_categorical")
		x := fixtureRow(t, "hist_gradient_boosting_categorical", 0)
		row := make([]any, len(x))
		for i, v := range x {
			row[i] = v
		}
		row[0] = "3"
		_, err := m.PredictRows([][]any{row})
		require.ErrorIs(t, err, sklearn.ErrNotNumber)
		_, err = m.Predict([][]float64{x[1:]})
		require.ErrorIs(t, err, sklearn.ErrFeatureCount)
		// Any number is a category or missing, as in scikit-learn.
		for _, v := range []float64{math.Inf(1), math.Inf(-1), math.MaxFloat64, math.Copysign(0, -1), 1e300} {
			x[0] = v
			_, err = m.Predict([][]float64{x})
			require.NoError(t, err, "%v", v)
		}
	})
	t.Run("infrequent one-hot: unknown category", func(t *testing.T) {
		inf := loadFixture(t, "onehot_infrequent")     // infrequent_if_exist
		ign := loadFixture(t, "onehot_max_categories") // ignore
		for _, m := range []*sklearn.Model{inf, ign} {
			_, err := m.PredictRows([][]any{{"never seen", 99.0}})
			require.NoError(t, err)
			_, err = m.PredictRows([][]any{{1.0, 1.0}})
			require.NoError(t, err, "a number in a str column is unknown, not an error")
			_, err = m.PredictRows([][]any{{"mid"}})
			require.ErrorIs(t, err, sklearn.ErrFeatureCount)
		}
	})
	t.Run("SVC without probability", func(t *testing.T) {
		m := loadFixture(t, "svc_rbf")
		assert.False(t, m.HasPredictProba())
		_, err := m.PredictProba([][]float64{{5.1, 3.5, 1.4, 0.2}})
		require.ErrorIs(t, err, sklearn.ErrNotAvailable)
		p := loadFixture(t, "svc_probability")
		assert.True(t, p.HasPredictProba())
		_, err = p.PredictProba([][]float64{{5.1, math.NaN(), 1.4, 0.2}})
		require.ErrorIs(t, err, sklearn.ErrMissingValue)
	})
	t.Run("multi-output", func(t *testing.T) {
		clf := loadFixture(t, "decision_tree_classifier_multi")
		reg := loadFixture(t, "random_forest_regressor_multi")
		x := []float64{5.1, 1.4, 0.2}
		_, err := clf.PredictProba([][]float64{x})
		require.ErrorIs(t, err, sklearn.ErrNotAvailable)
		_, err = clf.PredictFloats([][]float64{x})
		require.ErrorIs(t, err, sklearn.ErrNotAvailable)
		_, err = reg.PredictProbaOutputs([][]float64{make([]float64, reg.NFeatures())})
		require.ErrorIs(t, err, sklearn.ErrNotAvailable)
		_, err = clf.PredictProbaOutputs([][]float64{{math.NaN(), 1, 2}})
		require.ErrorIs(t, err, sklearn.ErrMissingValue)
		assert.Nil(t, clf.Classes())
		assert.Equal(t, []any{"setosa", "versicolor", "virginica"}, clf.OutputClasses(0))
		assert.Nil(t, clf.OutputClasses(2))
		// PredictFloats: NOutputs values per row.
		f, err := reg.PredictFloats([][]float64{make([]float64, reg.NFeatures()), make([]float64, reg.NFeatures())})
		require.NoError(t, err)
		require.Len(t, f, 4)
		p, err := reg.Predict([][]float64{make([]float64, reg.NFeatures())})
		require.NoError(t, err)
		assert.Equal(t, f[:2], p[0])
		// A multilabel MLPClassifier: flat classes, one probability per label.
		ml := loadFixture(t, "mlp_classifier_multilabel")
		assert.Equal(t, 3, ml.NOutputs())
		assert.Equal(t, []any{int64(0), int64(1), int64(2)}, ml.Classes())
		assert.Equal(t, []any{int64(0), int64(1)}, ml.OutputClasses(2))
		pr, err := ml.PredictProba([][]float64{make([]float64, ml.NFeatures())})
		require.NoError(t, err)
		require.Len(t, pr[0], 3)
	})
}
