package irismodel_test

import (
	"bytes"
	"os"
	"runtime"
	"testing"

	"github.com/modelvault/modelvault/internal/irismodel"
)

// FuzzLoad checks that Load never panics and that its allocations stay a
// bounded multiple of the input, whatever the bytes declare.
func FuzzLoad(f *testing.F) {
	for _, name := range []string{"testdata/v1.joblib", "testdata/v2.joblib", "testdata/unicode.joblib", "testdata/binary.joblib"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(osSystem)
	f.Add(osSystemStack)
	f.Add([]byte("\x80\x04\x95\xff\xff\xff\xff\xff\xff\xff\x7f}."))
	f.Fuzz(func(t *testing.T, data []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		m, err := irismodel.Load(bytes.NewReader(data))
		runtime.ReadMemStats(&after)
		if limit := 1<<20 + 256*uint64(len(data)); after.TotalAlloc-before.TotalAlloc > limit {
			t.Fatalf("Load of %d bytes allocated %d bytes (limit %d)", len(data), after.TotalAlloc-before.TotalAlloc, limit)
		}
		if err != nil {
			if m != nil {
				t.Fatal("model returned with an error")
			}
			return
		}
		if _, _, err := m.Predict(make([]float64, m.NumFeatures())); err != nil {
			t.Fatal(err)
		}
	})
}
