package storagetest

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/modelvault/modelvault/storage"
)

// Bench runs put and get throughput benchmarks against the store that
// newStore returns, with objects of 4 KiB and 16 MiB.
func Bench(b *testing.B, newStore func(b *testing.B) storage.Store) {
	for _, size := range []int{4 << 10, 16 << 20} {
		name := fmt.Sprintf("%dKiB", size>>10)
		if size >= 1<<20 {
			name = fmt.Sprintf("%dMiB", size>>20)
		}
		data := bytes.Repeat([]byte("m"), size)
		b.Run("Put/"+name, func(b *testing.B) {
			s := newStore(b)
			b.SetBytes(int64(size))
			i := 0
			for b.Loop() {
				if err := storage.WriteAll(b.Context(), s, fmt.Sprintf("b/%d", i%64), data, nil); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		b.Run("Get/"+name, func(b *testing.B) {
			s := newStore(b)
			if err := storage.WriteAll(b.Context(), s, "k", data, nil); err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 256<<10)
			b.SetBytes(int64(size))
			for b.Loop() {
				r, err := s.Get(b.Context(), "k")
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{r}, buf); err != nil {
					b.Fatal(err)
				}
				r.Close()
			}
		})
	}
}
