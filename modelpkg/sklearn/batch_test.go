package sklearn_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/modelpkg/sklearn"
)

// numericX returns a fixture's rows as float64s (nil cells as NaN), or
// false when a cell is a string.
func numericX(e *expected) ([][]float64, bool) {
	X := make([][]float64, len(e.X))
	for i, r := range e.X {
		X[i] = make([]float64, len(r))
		for j, c := range r {
			switch v := c.(type) {
			case float64:
				X[i][j] = v
			case nil:
				X[i][j] = math.NaN()
			default:
				return nil, false
			}
		}
	}
	return X, true
}

// tile returns n rows cycling through X, and the same rows as a Matrix.
func tile(X [][]float64, n int) ([][]float64, sklearn.Matrix) {
	d := len(X[0])
	rows := make([][]float64, n)
	m := sklearn.Matrix{Rows: n, Cols: d, Data: make([]float64, 0, n*d)}
	for i := range rows {
		rows[i] = X[i%len(X)]
		m.Data = append(m.Data, rows[i]...)
	}
	return rows, m
}

// bigBatch is more rows than one goroutine predicts (2,048), so the
// batch is cut into chunks.
const bigBatch = 2100

// smallOnly lists fixtures TestBatchForms runs only on their own rows:
// slow under the race detector, and a cheaper fixture of the same
// estimator runs in chunks (svc_probability, svc_rbf, svr's SVM code in
// svc_*, kneighbors_*, random_forest_classifier).
var smallOnly = map[string]bool{
	"svc_probability_binary": true, "svc_sigmoid": true, "svr": true,
	"pipeline_robust_knn": true, "kneighbors_regressor_multi": true, "random_forest_100": true,
}

// TestBatchForms: the [][]float64 rows, a Matrix and the [][]any rows give
// the same bits (the fixture test checks the latter against scikit-learn),
// for a small batch and for one large enough to run in chunks on several
// goroutines; the Append forms keep what dst held.
func TestBatchForms(t *testing.T) {
	for _, name := range fixtureNames(t) {
		e := readExpected(t, name)
		X, ok := numericX(e)
		if !ok {
			continue
		}
		t.Run(name, func(t *testing.T) {
			m := loadFixture(t, name)
			want, err := m.PredictRows(e.X)
			require.NoError(t, err)
			var wantProba [][]float64
			if m.HasPredictProba() {
				wantProba, err = m.PredictProbaRows(e.X)
				require.NoError(t, err)
			}
			var wantDecision [][]float64
			if m.HasDecisionFunction() {
				wantDecision, err = m.DecisionFunctionRows(e.X)
				require.NoError(t, err)
			}
			sizes := []int{len(X), bigBatch}
			if smallOnly[name] {
				sizes = sizes[:1]
			}
			for _, n := range sizes {
				rows, mat := tile(X, n)
				got, err := m.Predict(rows)
				require.NoError(t, err)
				require.Len(t, got, n)
				for i := range got {
					require.Equal(t, want[i%len(X)], got[i], "Predict row %d of %d", i, n)
				}
				if m.IsClassifier() && m.NOutputs() > 1 {
					_, err := m.AppendPredictClasses(nil, mat)
					require.ErrorIs(t, err, sklearn.ErrNotAvailable)
				} else if m.IsClassifier() {
					idx, err := m.AppendPredictClasses([]int{-7}, mat)
					require.NoError(t, err)
					require.Len(t, idx, n+1)
					assert.Equal(t, -7, idx[0])
					classes := m.Classes()
					for i, k := range idx[1:] {
						require.Equal(t, want[i%len(X)], classes[k], "AppendPredictClasses row %d of %d", i, n)
					}
				} else {
					v, err := m.PredictFloats(rows)
					require.NoError(t, err)
					mv, err := m.AppendPredictFloats([]float64{-7}, mat)
					require.NoError(t, err)
					k := m.NOutputs()
					require.Len(t, v, n*k)
					require.Equal(t, v, mv[1:])
					assert.Equal(t, -7.0, mv[0])
					for i := 0; i < n; i++ {
						if k == 1 {
							require.Equal(t, want[i%len(X)], v[i], "PredictFloats row %d of %d", i, n)
						} else {
							require.Equal(t, want[i%len(X)], v[i*k:(i+1)*k], "PredictFloats row %d of %d", i, n)
						}
					}
				}
				if wantProba != nil {
					p, err := m.PredictProba(rows)
					require.NoError(t, err)
					mp, err := m.AppendPredictProba([]float64{-7}, mat)
					require.NoError(t, err)
					k := len(m.Classes())
					require.Len(t, mp, 1+n*k)
					for i := range p {
						require.Equal(t, wantProba[i%len(X)], p[i], "PredictProba row %d of %d", i, n)
						require.Equal(t, wantProba[i%len(X)], mp[1+i*k:1+(i+1)*k], "AppendPredictProba row %d of %d", i, n)
					}
				}
				if wantDecision != nil {
					d, err := m.DecisionFunction(rows)
					require.NoError(t, err)
					for i := range d {
						require.Equal(t, wantDecision[i%len(X)], d[i], "DecisionFunction row %d of %d", i, n)
					}
				}
			}
		})
	}
}

// TestBatchErrors: bad input in a Matrix or in a large batch is a named
// error naming the caller's row, the first bad one, even when the batch
// runs in chunks.
func TestBatchErrors(t *testing.T) {
	for _, name := range []string{"linear_regression", "logistic_binary", "logistic_multinomial", "random_forest_classifier", "pipeline_minmax_ridge", "mlp_classifier"} {
		t.Run(name, func(t *testing.T) {
			m := loadFixture(t, name)
			X, ok := numericX(readExpected(t, name))
			require.True(t, ok)
			d := m.NFeatures()
			predict := func(mat sklearn.Matrix) error {
				if m.IsClassifier() {
					_, err := m.AppendPredictClasses(nil, mat)
					return err
				}
				_, err := m.AppendPredictFloats(nil, mat)
				return err
			}
			for _, bad := range []struct {
				v    float64
				want error
			}{{math.NaN(), sklearn.ErrMissingValue}, {math.Inf(-1), sklearn.ErrNotNumber}} {
				for _, at := range []int{3, bigBatch/2 + 17} {
					rows, mat := tile(X, bigBatch)
					// Copies, so the fixture's rows stay clean.
					for _, i := range []int{at, bigBatch - 1} {
						rows[i] = append([]float64(nil), rows[i]...)
						rows[i][d-1] = bad.v
						mat.Data[i*d+d-1] = bad.v
					}
					where := fmt.Sprintf("row %d column %d", at, d-1)
					_, err := m.Predict(rows)
					require.ErrorIs(t, err, bad.want)
					assert.Contains(t, err.Error(), where)
					err = predict(mat)
					require.ErrorIs(t, err, bad.want)
					assert.Contains(t, err.Error(), where)
				}
			}
		})
	}

	m := loadFixture(t, "linear_regression")
	clf := loadFixture(t, "logistic_binary")
	d := m.NFeatures()
	t.Run("shape", func(t *testing.T) {
		for _, mat := range []sklearn.Matrix{
			{Rows: 2, Cols: d + 1, Data: make([]float64, 2*(d+1))},
			{Rows: 2, Cols: d, Data: make([]float64, 2*d+1)},
			{Rows: 3, Cols: d, Data: make([]float64, 2*d)},
			{Rows: -1, Cols: d},
		} {
			dst := []float64{1, 2}
			got, err := m.AppendPredictFloats(dst, mat)
			require.ErrorIs(t, err, sklearn.ErrFeatureCount, "%d x %d, %d values", mat.Rows, mat.Cols, len(mat.Data))
			assert.Equal(t, dst, got)
		}
		got, err := m.AppendPredictFloats(nil, sklearn.Matrix{Cols: d})
		require.NoError(t, err)
		assert.Empty(t, got)
	})
	t.Run("method not available", func(t *testing.T) {
		mat := sklearn.Matrix{Rows: 1, Cols: d, Data: make([]float64, d)}
		_, err := m.AppendPredictClasses(nil, mat)
		require.ErrorIs(t, err, sklearn.ErrNotAvailable)
		_, err = m.AppendPredictProba(nil, mat)
		require.ErrorIs(t, err, sklearn.ErrNotAvailable)
		cmat := sklearn.Matrix{Rows: 1, Cols: clf.NFeatures(), Data: make([]float64, clf.NFeatures())}
		_, err = clf.AppendPredictFloats(nil, cmat)
		require.ErrorIs(t, err, sklearn.ErrNotAvailable)
	})
	t.Run("finite rows whose scores overflow", func(t *testing.T) {
		// Not bad input: scikit-learn answers an infinity (or NaN) too.
		row := make([]float64, d)
		for j := range row {
			row[j] = math.MaxFloat64
		}
		for _, n := range []int{1, 7, bigBatch} {
			rows, mat := tile([][]float64{row}, n)
			v, err := m.PredictFloats(rows)
			require.NoError(t, err)
			assert.False(t, v[n-1]-v[n-1] == 0, "not finite: %v", v[n-1])
			_, err = m.AppendPredictFloats(nil, mat)
			require.NoError(t, err)
		}
	})
	t.Run("dst reused", func(t *testing.T) {
		_, mat := tile([][]float64{make([]float64, d)}, 10)
		buf := make([]float64, 0, 10)
		got, err := m.AppendPredictFloats(buf, mat)
		require.NoError(t, err)
		require.Len(t, got, 10)
		assert.Same(t, &buf[:1][0], &got[0], "a dst with room is filled in place")
	})
}
