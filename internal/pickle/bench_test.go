package pickle

import (
	"bytes"
	"compress/zlib"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// syntheticJoblib mirrors what joblib.dump writes for a LogisticRegression
// whose coef_ is a float64 array of n elements: the pickle up to the
// wrapper's BUILD, the alignment byte and padding, the raw array, and the
// rest of the pickle.
func syntheticJoblib(n int32) []byte {
	p := newPk(4).model()
	p.su("coef_").wrapper(n, f8, true, true)
	pad := 16 - (p.Len()+1)%16
	p.op(byte(pad)).raw(string(bytes.Repeat([]byte{0xff}, pad)))
	p.Write(make([]byte, int(n)*8))
	p.su("_sklearn_version").su("1.2.1")
	return p.endModel().stop()
}

const benchElems = 100 << 20 / 8 // a 100 MiB float64 array

func benchScan(b *testing.B, data []byte, wrap func(*bytes.Reader) any) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := wrap(bytes.NewReader(data))
		res, err := Scan(context.Background(), r.(interface{ Read([]byte) (int, error) }), nil)
		if err != nil {
			b.Fatal(err)
		}
		if res.ArrayBytes != benchElems*8 && res.Compression == "" {
			b.Fatalf("skipped %d bytes", res.ArrayBytes)
		}
	}
}

// BenchmarkScan100MiB scans a 100 MiB joblib model from a seekable reader
// (raw array data is skipped by seeking, as with an *os.File).
func BenchmarkScan100MiB(b *testing.B) {
	benchScan(b, syntheticJoblib(benchElems), func(r *bytes.Reader) any { return r })
}

// BenchmarkScan100MiBStream scans it from a reader that cannot seek, so
// every byte of the array is read and discarded.
func BenchmarkScan100MiBStream(b *testing.B) {
	benchScan(b, syntheticJoblib(benchElems), func(r *bytes.Reader) any { return nonSeeker{r} })
}

// BenchmarkScan100MiBZlib scans it zlib-compressed, as compress=3 writes it;
// throughput is per decompressed byte.
func BenchmarkScan100MiBZlib(b *testing.B) {
	raw := syntheticJoblib(benchElems)
	var buf bytes.Buffer
	w, _ := zlib.NewWriterLevel(&buf, 3)
	_, _ = w.Write(raw)
	_ = w.Close()
	data := buf.Bytes()
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Scan(context.Background(), bytes.NewReader(data), nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoad100MiB loads the same model, decoding the array.
func BenchmarkLoad100MiB(b *testing.B) {
	data := syntheticJoblib(benchElems)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := Load(context.Background(), bytes.NewReader(data), nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScanRealForest scans a real RandomForestClassifier file
// (modelpkg/sklearn/testdata/random_forest_classifier.joblib): graph
// building and policy, not array skipping, dominate.
func BenchmarkScanRealForest(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("..", "..", "modelpkg", "sklearn", "testdata", "random_forest_classifier.joblib"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Scan(context.Background(), bytes.NewReader(data), nil); err != nil {
			b.Fatal(err)
		}
	}
}
