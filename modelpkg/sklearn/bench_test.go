package sklearn_test

import (
	"bytes"
	"context"
	"runtime"
	"slices"
	"testing"
	"time"

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
// Besides the mean (ns/op) it reports the median over groups of 100
// calls (med-ns), as bench.py does for scikit-learn (the median of 7
// groups of 200 calls).
func BenchmarkPredictRow(b *testing.B) {
	for _, name := range benchModels {
		b.Run(name, func(b *testing.B) {
			m := loadFixture(b, name)
			X := benchRows(b, name, 1)
			b.ReportAllocs()
			const group = 100
			var times []time.Duration
			n, t0 := 0, time.Now()
			for b.Loop() {
				if _, err := m.Predict(X); err != nil {
					b.Fatal(err)
				}
				if n++; n == group {
					times = append(times, time.Since(t0)/group)
					n, t0 = 0, time.Now()
				}
			}
			if len(times) > 0 {
				slices.Sort(times)
				b.ReportMetric(float64(times[len(times)/2]), "med-ns")
			}
		})
	}
}

// BenchmarkPredictBatch: 10,000 rows per call, in two forms:
//
//   - rows: [][]float64 in, a new result out (Predict for a classifier;
//     PredictFloats for a regressor, as a Go caller of numbers would use,
//     since Predict boxes each value in an interface);
//   - matrix: a Matrix in, appended to a reused slice
//     (AppendPredictClasses, AppendPredictFloats).
//
// Besides the mean (ns/op) it reports the median and the fastest call
// (med-ns, min-ns) and the process CPU time per call over all threads
// (cpu-ns), the figures bench.py reports for scikit-learn: on a loaded
// machine these move less than the mean.
func BenchmarkPredictBatch(b *testing.B) {
	for _, name := range benchModels {
		m := loadFixture(b, name)
		X := benchRows(b, name, 10_000)
		mat := sklearn.Matrix{Rows: len(X), Cols: len(X[0])}
		for _, r := range X {
			mat.Data = append(mat.Data, r...)
		}
		var idx []int
		var vals []float64
		forms := []struct {
			form    string
			predict func() error
		}{
			{"rows", func() error { _, err := m.Predict(X); return err }},
			{"matrix", func() (err error) { idx, err = m.AppendPredictClasses(idx[:0], mat); return err }},
		}
		if !m.IsClassifier() {
			forms[0].predict = func() error { _, err := m.PredictFloats(X); return err }
			forms[1].predict = func() (err error) { vals, err = m.AppendPredictFloats(vals[:0], mat); return err }
		}
		for _, f := range forms {
			b.Run(name+"/"+f.form, func(b *testing.B) {
				b.ReportAllocs()
				var times []time.Duration
				cpu0 := cpuTime()
				for b.Loop() {
					t0 := time.Now()
					if err := f.predict(); err != nil {
						b.Fatal(err)
					}
					times = append(times, time.Since(t0))
				}
				if cpu := cpuTime(); cpu > 0 {
					b.ReportMetric(float64(cpu-cpu0)/float64(len(times)), "cpu-ns")
				}
				slices.Sort(times)
				b.ReportMetric(float64(times[len(times)/2]), "med-ns")
				b.ReportMetric(float64(times[0]), "min-ns")
			})
		}
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
