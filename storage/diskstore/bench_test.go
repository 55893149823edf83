package diskstore_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/storage/diskstore"
)

var benchSizes = []int{4 << 10, 16 << 20}

func sizeName(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%dMiB", n>>20)
	}
	return fmt.Sprintf("%dKiB", n>>10)
}

// BenchmarkPut compares a diskstore put (temp file, fsync, rename, fsync
// of the directory) with NoSync and with writing the same bytes straight
// to a file, with and without fsync: the raw rate of the device.
func BenchmarkPut(b *testing.B) {
	for _, size := range benchSizes {
		data := bytes.Repeat([]byte("m"), size)
		for _, mode := range []string{"diskstore-fsync", "diskstore-nosync", "raw-write-fsync", "raw-write"} {
			b.Run(sizeName(size)+"/"+mode, func(b *testing.B) {
				dir := b.TempDir()
				s, err := diskstore.Open(dir, &diskstore.Options{NoSync: mode == "diskstore-nosync"})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				ctx := context.Background()
				b.SetBytes(int64(size))
				i := 0
				for b.Loop() {
					key := fmt.Sprintf("d/%d", i%64)
					i++
					switch mode {
					case "raw-write", "raw-write-fsync":
						if err := rawWrite(filepath.Join(dir, "raw-"+key[2:]), data, mode == "raw-write-fsync"); err != nil {
							b.Fatal(err)
						}
					default:
						if err := s.Put(ctx, key, bytes.NewReader(data), nil); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		}
	}
}

func rawWrite(name string, data []byte, sync bool) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func BenchmarkGet(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(sizeName(size), func(b *testing.B) {
			s, err := diskstore.Open(b.TempDir(), &diskstore.Options{NoSync: true})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			if err := storage.WriteAll(ctx, s, "k", bytes.Repeat([]byte("m"), size), nil); err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 256<<10)
			b.SetBytes(int64(size))
			for b.Loop() {
				r, err := s.Get(ctx, "k")
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

// BenchmarkListPages lists a directory of 10,000 objects page by page:
// one op is the whole listing. Each page used to read and stat every
// entry of the directory before its token, so a listing cost grew with
// the square of the number of pages.
func BenchmarkListPages(b *testing.B) {
	dir := b.TempDir()
	s, err := diskstore.Open(dir, &diskstore.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	const n = 10_000
	for i := range n {
		if err := storage.WriteAll(ctx, s, fmt.Sprintf("d/%05d", i), []byte("x"), nil); err != nil {
			b.Fatal(err)
		}
	}
	for _, size := range []int{100, 1000} {
		b.Run(fmt.Sprintf("10k-keys/page-%d", size), func(b *testing.B) {
			for b.Loop() {
				got := 0
				for _, err := range storage.All(ctx, s, &storage.ListOptions{Prefix: "d/", PageSize: size}) {
					if err != nil {
						b.Fatal(err)
					}
					got++
				}
				if got != n {
					b.Fatalf("listed %d keys, want %d", got, n)
				}
			}
		})
	}
}
