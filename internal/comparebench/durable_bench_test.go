package comparebench_test

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"testing/fstest"
	"time"

	"github.com/klauspost/compress/flate"

	"github.com/modelvault/modelvault/internal/pkgtest"
	"github.com/modelvault/modelvault/modelpkg"
)

// buildShardedPackage writes model_1.0_deployment.zip into dir: the
// fixture files of pkgtest and mib MiB of weights in n files, random
// (stored) or, if compressible, deflated about 3:1.
func buildShardedPackage(b *testing.B, dir string, mib, n int, compressible bool) *comparePackage {
	files := pkgtest.Files("1.0")
	delete(files, modelpkg.DefaultManifestFile)
	for i := range n {
		data := make([]byte, mib<<20/n)
		rand.NewChaCha8([32]byte{byte(i), byte(i >> 8)}).Read(data)
		if compressible {
			// About 3:1 with deflate: random bytes from a 6-letter
			// alphabet.
			for j := range data {
				data[j] = "abcdef"[data[j]%6]
			}
		}
		files[fmt.Sprintf("weights-%03d.bin", i)] = &fstest.MapFile{Data: data, Mode: 0o644}
	}
	p := &comparePackage{path: filepath.Join(dir, modelpkg.FileName("1.0")), files: files}
	var buf bytes.Buffer
	if _, err := modelpkg.Build(context.Background(), &buf, files, nil); err != nil {
		b.Fatal(err)
	}
	p.zipSize = int64(buf.Len())
	for _, f := range files {
		p.size += int64(len(f.Data))
	}
	if err := os.WriteFile(p.path, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	return p
}

// inflateTime is how long klauspost/compress takes to inflate every
// entry of the package at path into io.Discard: the reference for
// deflated packages.
func inflateTime(b *testing.B, path string) time.Duration {
	zr, err := zip.OpenReader(path)
	if err != nil {
		b.Fatal(err)
	}
	defer zr.Close()
	zr.RegisterDecompressor(zip.Deflate, func(r io.Reader) io.ReadCloser { return flate.NewReader(r) })
	start := time.Now()
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			b.Fatal(err)
		}
		rc.Close()
	}
	return time.Since(start)
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// BenchmarkDurableImport alternates, b.N times, a durable copy of the
// package (dd if=PKG of=OUT bs=4M conv=fsync) and a durable import of it
// (registry.ImportReaderAt into a fresh diskstore with fsync), and
// reports the median of the per-pair ratios copy time / import time
// (issue #15's target: at least 0.8) and the median speeds. Run it with
// -benchtime 9x or more: the spread on a virtual disk is wide.
func BenchmarkDurableImport(b *testing.B) {
	if _, err := exec.LookPath("dd"); err != nil {
		b.Skip("dd not installed")
	}
	for _, shape := range []struct {
		name     string
		mib, n   int
		deflated bool
	}{
		{name: "stored-256MiB", mib: 256, n: 1},
		{name: "stored-200-shards", mib: 200, n: 200},
		{name: "deflated-256MiB", mib: 256, n: 1, deflated: true},
	} {
		b.Run(shape.name, func(b *testing.B) {
			work := b.TempDir()
			p := buildShardedPackage(b, work, shape.mib, shape.n, shape.deflated)
			// dd copies the same uncompressed bytes: for a deflated
			// package, a file of the package's contents.
			ddSrc := p.path
			if shape.deflated {
				ddSrc = filepath.Join(work, "uncompressed.bin")
				var all []byte
				for _, f := range p.files {
					all = append(all, f.Data...)
				}
				if err := os.WriteFile(ddSrc, all, 0o644); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(p.size)
			b.ResetTimer()
			b.StopTimer()
			var ratios, importMBs, copyMBs, inflateRatios []float64
			for i := range b.N {
				out := filepath.Join(work, fmt.Sprintf("out-%d", i))
				ddOut := filepath.Join(work, fmt.Sprintf("dd-%d.bin", i))
				var cp, imp cost
				// Alternate which runs first, so that neither always
				// finds the other's writeback in progress.
				steps := []func(){
					func() { cp, _ = run(b, "dd", "if="+ddSrc, "of="+ddOut, "bs=4M", "conv=fsync", "status=none") },
					func() { imp = importModelvault(b, p, out, true) },
				}
				if i%2 == 1 {
					steps[0], steps[1] = steps[1], steps[0]
				}
				for _, s := range steps {
					s()
				}
				ratios = append(ratios, cp.wall.Seconds()/imp.wall.Seconds())
				if shape.deflated {
					inflateRatios = append(inflateRatios, inflateTime(b, p.path).Seconds()/imp.wall.Seconds())
				}
				importMBs = append(importMBs, float64(p.size)/1e6/imp.wall.Seconds())
				copyMBs = append(copyMBs, float64(p.size)/1e6/cp.wall.Seconds())
				os.RemoveAll(out)
				os.Remove(ddOut)
			}
			b.ReportMetric(median(ratios), "x-dd-fsync")
			if shape.deflated {
				b.ReportMetric(median(inflateRatios), "x-inflate")
			}
			b.ReportMetric(median(importMBs), "import-MB/s")
			b.ReportMetric(median(copyMBs), "dd-MB/s")
		})
	}
}

// BenchmarkImportProcess1MiB runs the modelctl binary b.N times in
// pairs: `modelctl --store DIR import PKG` of a 1 MiB package (fsync on)
// and `modelctl help` (a process that does nothing), and reports the
// median difference (issue #15's target: at most 20 ms).
func BenchmarkImportProcess1MiB(b *testing.B) {
	work := b.TempDir()
	bin := filepath.Join(work, "modelctl")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/modelvault/modelvault/examples/modelctl").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	p := buildShardedPackage(b, work, 1, 1, false)
	b.ResetTimer()
	b.StopTimer()
	var over, imports []float64
	for i := range b.N {
		store := filepath.Join(work, fmt.Sprintf("store-%d", i))
		nothing, _ := run(b, bin, "help")
		imp, _ := run(b, bin, "--store", store, "import", "--no-progress", p.path)
		over = append(over, float64(imp.wall-nothing.wall)/float64(time.Millisecond))
		imports = append(imports, float64(imp.wall)/float64(time.Millisecond))
		os.RemoveAll(store)
	}
	b.ReportMetric(median(over), "ms-over-nothing")
	b.ReportMetric(median(imports), "ms-import")
}
