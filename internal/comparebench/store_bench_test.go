package comparebench_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/modelvault/modelvault/modelpkg"
)

// BenchmarkImportDiskstoreVsDir imports the same stored package (256 MiB,
// or $MODELVAULT_BENCH_COMPARE_MB) into a registry on diskstore and
// extracts it with modelpkg into a plain directory (DirDestination), both
// fsyncing every file. The ratio metric is the directory's time over the
// diskstore import's: near 1 means the store-backed destination keeps the
// one-pass speed (the import also validates and records the version).
func BenchmarkImportDiskstoreVsDir(b *testing.B) {
	if testing.Short() {
		b.Skip("large benchmark skipped in -short mode")
	}
	work := b.TempDir()
	p := buildComparePackage(b, work, compareMiB(b))
	out := filepath.Join(work, "out")
	var store, dir time.Duration
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		os.RemoveAll(out)
		store += importModelvault(b, p, out, true).wall
		os.RemoveAll(out)
		dir += extractToDir(b, p, out)
	}
	os.RemoveAll(out)
	b.ReportMetric(float64(p.size)/store.Seconds()/1e6, "store-MB/s")
	b.ReportMetric(float64(p.size)/dir.Seconds()/1e6, "dir-MB/s")
	b.ReportMetric(dir.Seconds()/store.Seconds(), "ratio")
}

func extractToDir(b *testing.B, p *comparePackage, out string) time.Duration {
	pkg, err := modelpkg.OpenFile(p.path, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer pkg.Close()
	dst, err := modelpkg.OpenDirDestination(out, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer dst.Close()
	b.StartTimer()
	start := time.Now()
	if _, err := pkg.Extract(context.Background(), dst, nil); err != nil {
		b.Fatal(err)
	}
	d := time.Since(start)
	b.StopTimer()
	return d
}
