package sklearn_test

import (
	"bytes"
	"context"
	"runtime"
	"testing"

	"github.com/modelvault/modelvault/internal/pickle"
	"github.com/modelvault/modelvault/modelpkg/sklearn"
)

// benchModels are the models BENCHMARKS.md compares with scikit-learn
// (testdata/bench.py times the same files on the same rows).
var benchModels = []string{"logistic_binary", "linear_regression", "random_forest_100", "hist_gradient_boosting_binary"}

// benchRows returns n rows cycling through the fixture's X, as
// numpy.resize does in bench.py.
func benchRows(b *testing.B, name string, n int) [][]float64 {
	e := readExpected(b, name)
	X := make([][]float64, n)
	for i := range X {
		src := e.X[i%len(e.X)]
		row := make([]float64, len(src))
		for j, c := range src {
			row[j] = c.(float64)
		}
		X[i] = row
	}
	return X
}

// BenchmarkPredictRow: one row per call, as a service answers a request.
func BenchmarkPredictRow(b *testing.B) {
	for _, name := range benchModels {
		b.Run(name, func(b *testing.B) {
			m := loadFixture(b, name)
			X := benchRows(b, name, 1)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Predict(X); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPredictBatch: 10,000 rows per call (PredictFloats for a
// regressor, as a Go caller of numbers would use; Predict boxes each
// value in an interface).
func BenchmarkPredictBatch(b *testing.B) {
	for _, name := range benchModels {
		b.Run(name, func(b *testing.B) {
			m := loadFixture(b, name)
			X := benchRows(b, name, 10_000)
			predict := func() error { _, err := m.Predict(X); return err }
			if !m.IsClassifier() {
				predict = func() error { _, err := m.PredictFloats(X); return err }
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := predict(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLoadedMemory reports a loaded model's retained heap against
// the bytes of the arrays in its file (mem/array: the ratio). It keeps
// 100 models alive at once (10 of the large ones) and divides, so a few
// bytes the runtime allocates on its own do not count.
func BenchmarkLoadedMemory(b *testing.B) {
	for _, name := range benchModels {
		b.Run(name, func(b *testing.B) {
			data := fixtureBytes(b, name)
			_, res, err := pickle.Load(context.Background(), bytes.NewReader(data), nil)
			if err != nil {
				b.Fatal(err)
			}
			memCopies := 100
			if res.ArrayBytes > 10_000 {
				memCopies = 10
			}
			var before, after runtime.MemStats
			keep := make([]*sklearn.Model, memCopies)
			for b.Loop() {
				clear(keep)
				runtime.GC()
				runtime.ReadMemStats(&before)
				for i := range keep {
					if keep[i], err = sklearn.Load(bytes.NewReader(data)); err != nil {
						b.Fatal(err)
					}
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
			}
			retained := (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / float64(memCopies)
			b.ReportMetric(retained, "heap-B")
			b.ReportMetric(float64(res.ArrayBytes), "array-B")
			b.ReportMetric(retained/float64(res.ArrayBytes), "mem/array")
			runtime.KeepAlive(keep)
		})
	}
}
