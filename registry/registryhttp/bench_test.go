package registryhttp_test

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modelvault/modelvault/internal/pkgtest"
	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/registry/registryhttp"
	"github.com/modelvault/modelvault/storage/diskstore"
)

// benchUploadMiB is the size of the benchmark's package: 1 GiB, or
// $MODELVAULT_BENCH_UPLOAD_MB MiB for a quick run.
func benchUploadMiB(b *testing.B) int {
	if s := os.Getenv("MODELVAULT_BENCH_UPLOAD_MB"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("MODELVAULT_BENCH_UPLOAD_MB=%q: want a positive integer", s)
		}
		return n
	}
	return 1024
}

// buildBigPackage writes a package of version whose weights.bin holds
// mib MiB of incompressible bytes (stored, not deflated) and returns its
// path.
func buildBigPackage(b *testing.B, dir, version string, mib int) string {
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		b.Fatal(err)
	}
	for name, f := range pkgtest.Files(version) {
		if name == modelpkg.DefaultManifestFile {
			continue
		}
		if err := os.WriteFile(filepath.Join(src, name), f.Data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	w, err := os.Create(filepath.Join(src, "weights.bin"))
	if err != nil {
		b.Fatal(err)
	}
	gen := rand.NewChaCha8([32]byte{'m', 'o', 'd', 'e', 'l', 'v', 'a', 'u', 'l', 't'})
	buf := make([]byte, 1<<20)
	for range mib {
		gen.Read(buf)
		if _, err := w.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, modelpkg.FileName(version))
	out, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := modelpkg.BuildDir(context.Background(), out, src, nil); err != nil {
		b.Fatal(err)
	}
	// On disk before the first round, which would otherwise pay for
	// writing it back.
	if err := out.Sync(); err != nil {
		b.Fatal(err)
	}
	if err := out.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.RemoveAll(src); err != nil {
		b.Fatal(err)
	}
	return path
}

// freshRegistry opens a registry on an empty diskstore under dir.
func freshRegistry(b *testing.B, dir string) *registry.Registry {
	if err := os.RemoveAll(dir); err != nil {
		b.Fatal(err)
	}
	store, err := diskstore.Open(dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	reg, err := registry.Open(context.Background(), store, &registry.Options{SkipOpenScan: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { reg.Close(); store.Close() })
	return reg
}

// postFile uploads the file at path to url as the multipart field
// "file" the way a browser does: with a Content-Length, streaming the
// file (never whole in memory).
func postFile(client *http.Client, url, token, path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return 0, err
	}
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	if _, err := mw.CreateFormFile("file", filepath.Base(path)); err != nil {
		return 0, err
	}
	tail := "\r\n--" + mw.Boundary() + "--\r\n"
	req, err := http.NewRequest("POST", url, io.MultiReader(&head, f, strings.NewReader(tail)))
	if err != nil {
		return 0, err
	}
	req.ContentLength = int64(head.Len()) + info.Size() + int64(len(tail))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// BenchmarkUploadVsImport imports one large package (1 GiB by default)
// into an empty diskstore registry, once through the handler (a client
// streaming a multipart upload over loopback HTTP) and once with a direct
// registry.Import of the same file, alternating in each iteration. It
// reports both throughputs, ratio = http/direct throughput over all
// rounds and median-ratio, the median of the per-round ratios (issue #15's
// target: >= 0.85). Each round also times two baselines, a raw loopback
// TCP transfer of the file into a spool file and a file-to-file spool
// copy, and median-bound reports the highest ratio any handler that
// receives the whole upload before importing it could reach:
// direct / (direct - file spool + loopback spool).
func BenchmarkUploadVsImport(b *testing.B) {
	if testing.Short() {
		b.Skip("large upload benchmark skipped in -short mode")
	}
	mib := benchUploadMiB(b)
	work := b.TempDir()
	start := time.Now()
	path := buildBigPackage(b, work, "1.0", mib)
	info, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("built %s (%d bytes) in %v", filepath.Base(path), info.Size(), time.Since(start).Round(time.Millisecond))
	spool := filepath.Join(work, "spool")
	if err := os.MkdirAll(spool, 0o755); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()

	// Each measured step runs with the timer on; setup and teardown
	// with it off.
	runDirect := func() time.Duration {
		reg := freshRegistry(b, filepath.Join(work, "direct"))
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		defer reg.Close()
		b.StartTimer()
		defer b.StopTimer()
		t0 := time.Now()
		if _, err := reg.Import(ctx, filepath.Base(path), f, &registry.ImportOptions{TempDir: spool}); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	runHTTP := func() time.Duration {
		reg := freshRegistry(b, filepath.Join(work, "http"))
		defer reg.Close()
		h := registryhttp.New(reg, &registryhttp.Options{
			Authorizer:    registryhttp.BearerTokens(testToken),
			MaxUploadSize: info.Size() + 1<<20,
			TempDir:       spool,
		})
		srv := httptest.NewServer(h)
		defer srv.Close()
		b.StartTimer()
		defer b.StopTimer()
		t0 := time.Now()
		code, err := postFile(srv.Client(), srv.URL+"/models/import", testToken, path)
		if err != nil || code != http.StatusCreated {
			b.Fatalf("upload: status %d, %v", code, err)
		}
		return time.Since(t0)
	}

	// The two baselines of the bound (timer off): what any upload must
	// add, and what the direct path spends before its import proper.
	runTCP := func() time.Duration { return loopbackSpool(b, path, spool) }
	runCopy := func() time.Duration { return fileSpool(b, path, spool) }

	// One untimed round first: in every run the first upload of the
	// process took 3-6 s against 2.2-3.6 s for the later ones, and the
	// first import of a spooled upload 3-4 s against 1.2-1.8 s.
	runDirect()
	runHTTP()
	b.StartTimer() // b.Loop wants it running; it resets it

	var direct, viaHTTP time.Duration
	var ratios, bounds []float64
	n := 0
	b.SetBytes(info.Size())
	for b.Loop() { // b.Loop runs the setup above once, however many rounds
		b.StopTimer()
		var d, h, t, c time.Duration
		steps := []func(){
			func() { d = runDirect() },
			func() { h = runHTTP() },
			func() { t = runTCP() },
			func() { c = runCopy() },
		}
		if n%2 == 1 { // alternate the order, so neither always finds the cache warm
			slices.Reverse(steps)
		}
		for _, step := range steps {
			step()
		}
		direct, viaHTTP = direct+d, viaHTTP+h
		ratios = append(ratios, d.Seconds()/h.Seconds())
		bounds = append(bounds, d.Seconds()/(d-c+t).Seconds())
		b.Logf("round %d: direct %v, http %v, loopback spool %v, file spool %v", n,
			d.Round(time.Millisecond), h.Round(time.Millisecond), t.Round(time.Millisecond), c.Round(time.Millisecond))
		n++
		b.StartTimer()
	}
	mb := float64(info.Size()) / 1e6 * float64(n)
	b.ReportMetric(mb/direct.Seconds(), "direct-MB/s")
	b.ReportMetric(mb/viaHTTP.Seconds(), "http-MB/s")
	b.ReportMetric(direct.Seconds()/viaHTTP.Seconds(), "ratio")
	// The median of the rounds' own ratios: a round's imports share the
	// machine's load of the moment, which the totals mix up.
	slices.Sort(ratios)
	b.ReportMetric(ratios[len(ratios)/2], "median-ratio")
	slices.Sort(bounds)
	b.ReportMetric(bounds[len(bounds)/2], "median-bound")
	b.Logf("%d MiB: direct %v, http %v per import", mib, (direct / time.Duration(n)).Round(time.Millisecond),
		(viaHTTP / time.Duration(n)).Round(time.Millisecond))
}

// loopbackSpool times the least that receiving an upload costs on this
// machine: the file at path sent over loopback TCP with no HTTP and no
// multipart framing (the client uses sendfile), and written to a spool
// file in dir in 256 KiB writes, as the handler spools.
func loopbackSpool(b *testing.B, path, dir string) time.Duration {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		done <- copyToSpool(dir, c)
	}()
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	t0 := time.Now()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if _, err := io.Copy(c, f); err != nil {
		b.Fatal(err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		b.Fatal(err)
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	return time.Since(t0)
}

// fileSpool times the direct path's spool: the file at path copied to a
// spool file in dir in 256 KiB writes, as registry.Import does.
func fileSpool(b *testing.B, path, dir string) time.Duration {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	t0 := time.Now()
	if err := copyToSpool(dir, f); err != nil {
		b.Fatal(err)
	}
	return time.Since(t0)
}

// copyToSpool copies src into a new file in dir through a 256 KiB buffer
// and removes the file.
func copyToSpool(dir string, src io.Reader) error {
	f, err := os.CreateTemp(dir, "baseline-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	_, err = io.CopyBuffer(struct{ io.Writer }{f}, struct{ io.Reader }{src}, make([]byte, 256<<10))
	return err
}
