package registry_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/storage/diskstore"
)

func benchLive(b *testing.B) *registry.Live[*testModel] {
	r := openReg(b, memStore(), nil)
	importVersion(b, r, "1", "")
	if _, err := r.Deploy(context.Background(), "1", nil); err != nil {
		b.Fatal(err)
	}
	live, err := registry.NewLive(context.Background(), r, testLoader(nil, nil, nil), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { live.Close() })
	return live
}

// BenchmarkAcquireRelease is one lease on an uncontended Live (target:
// at most 20 ns).
func BenchmarkAcquireRelease(b *testing.B) {
	live := benchLive(b)
	b.ReportAllocs()
	for b.Loop() {
		l, err := live.Acquire()
		if err != nil {
			b.Fatal(err)
		}
		l.Release()
	}
}

// BenchmarkAcquireReleaseParallel is the same on all cores at once.
func BenchmarkAcquireReleaseParallel(b *testing.B) {
	live := benchLive(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l, err := live.Acquire()
			if err != nil {
				b.Error(err)
				return
			}
			l.Release()
		}
	})
}

// BenchmarkDeploy is the latency of a deploy on diskstore (fsync on),
// without a model load: re-verifying the package's files and appending
// the event.
func BenchmarkDeploy(b *testing.B) {
	store, err := diskstore.Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	r := openReg(b, store, nil)
	importVersion(b, r, "1", "")
	importVersion(b, r, "2", "")
	ctx := context.Background()
	i := 0
	for b.Loop() {
		if _, err := r.Deploy(ctx, fmt.Sprint(1+i%2), nil); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
