package registry_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modelvault/modelvault/internal/pkgtest"
	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/registry"
)

// rssLimit bounds the peak RSS of a child importing a hostile package.
const rssLimit = 256 << 20

// bombResult is what a bomb child prints.
type bombResult struct {
	Err     string        `json:"err"`
	Code    string        `json:"code"`
	Elapsed time.Duration `json:"elapsed"`
	HWM     int64         `json:"hwm"` // peak RSS in bytes (VmHWM)
}

// TestImportBombs imports hostile packages, each in a child process with
// an in-memory store (so anything extracted would count in its memory),
// and checks that each is rejected, within 30 s, and that the child's
// peak RSS stays under 256 MiB.
func TestImportBombs(t *testing.T) {
	dir := t.TempDir()
	bombs := map[string][]byte{
		"zeros-1GiB":       zerosBomb(t, false),
		"zeros-1GiB-lying": zerosBomb(t, true),
		"overlapping":      overlapBomb(t, 10_000),
		"huge-declared":    hugeDeclared(t),
		"entries-100k":     manyEntries(t, 100_000),
	}
	for name, data := range bombs {
		path := filepath.Join(dir, name+".zip")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Run(name, func(t *testing.T) {
			c := startChild(t, "bomb", "MODELVAULT_BOMB="+path)
			var res bombResult
			if !c.stdout.Scan() {
				t.Fatalf("no result: %v", c.wait(time.Minute))
			}
			if err := json.Unmarshal(c.stdout.Bytes(), &res); err != nil {
				t.Fatalf("%q: %v", c.stdout.Text(), err)
			}
			if err := c.wait(time.Minute); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s (%d bytes): rejected in %v, peak RSS %.1f MiB: %s", name, len(data), res.Elapsed.Round(time.Millisecond), float64(res.HWM)/(1<<20), res.Err)
			if res.Err == "" {
				t.Errorf("%s was imported", name)
			}
			if res.HWM <= 0 || res.HWM > rssLimit {
				t.Errorf("peak RSS %d bytes, limit %d", res.HWM, rssLimit)
			}
			if res.Elapsed > 30*time.Second {
				t.Errorf("took %v", res.Elapsed)
			}
		})
	}
}

// bombChild imports the package MODELVAULT_BOMB into an in-memory store
// and prints a bombResult.
func bombChild() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	path := os.Getenv("MODELVAULT_BOMB")
	reg, err := registry.Open(ctx, memStore(), nil)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	start := time.Now()
	_, err = reg.ImportReaderAt(ctx, modelpkg.FileName("6.6.6"), f, info.Size(), nil)
	res := bombResult{Elapsed: time.Since(start), HWM: vmHWM()}
	if err != nil {
		res.Err, res.Code = err.Error(), modelpkg.Code(err)
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// vmHWM returns the process's peak RSS from /proc/self/status (or -1).
func vmHWM() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return -1
			}
			return kb << 10
		}
	}
	return -1
}

// validEntries writes the small files of a valid package of 6.6.6 except
// model.joblib.
func validEntries(t testing.TB, zw *zip.Writer) {
	t.Helper()
	files := pkgtest.Files("6.6.6")
	for _, name := range []string{modelpkg.DefaultMetadataFile, modelpkg.DefaultManifestFile, "requirements.txt", "README.md", "validate_model.py", "inference_example.py"} {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(files[name].Data)
	}
}

// zerosBomb is a package whose model.joblib is 1 GiB of zeros deflated
// (about 1 MiB). With lying set, its headers declare 1 MiB instead.
func zerosBomb(t testing.TB, lying bool) []byte {
	t.Helper()
	const chunk = 1 << 20
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestCompression)
	zeros := make([]byte, chunk)
	fw.Write(zeros)
	fw.Flush()
	first := bytes.Clone(buf.Bytes())
	buf.Reset()
	fw.Write(zeros)
	fw.Flush()
	steady := bytes.Clone(buf.Bytes())
	buf.Reset()
	fw.Write(zeros)
	fw.Flush()
	if !bytes.Equal(buf.Bytes(), steady) {
		t.Fatal("deflate output of zeros is not periodic")
	}
	buf.Reset()
	fw.Close()
	tail := bytes.Clone(buf.Bytes())
	var stream bytes.Buffer
	stream.Write(first)
	for range 1023 {
		stream.Write(steady)
	}
	stream.Write(tail)
	crc := crc32.NewIEEE()
	for range 1024 {
		crc.Write(zeros)
	}
	size := uint64(1 << 30)
	if lying {
		size = chunk
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	validEntries(t, zw)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: modelpkg.DefaultModelFile, Method: zip.Deflate,
		CRC32: crc.Sum32(), CompressedSize64: uint64(stream.Len()), UncompressedSize64: size})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(stream.Bytes())
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// hugeDeclared is a package whose model.joblib declares 2^62 bytes.
func hugeDeclared(t testing.TB) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	validEntries(t, zw)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: modelpkg.DefaultModelFile, Method: zip.Store,
		CompressedSize64: 4, UncompressedSize64: 1 << 62})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("ABCD"))
	zw.Close()
	return out.Bytes()
}

// manyEntries is a package with n more empty files.
func manyEntries(t testing.TB, n int) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	validEntries(t, zw)
	for i := range n {
		if _, err := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("d/%06d", i), Method: zip.Store}); err != nil {
			t.Fatal(err)
		}
	}
	zw.Close()
	return out.Bytes()
}

// overlapBomb is the "better zip bomb" shape: n central directory
// entries whose data all start at the same local file (a 1 MiB run of
// zeros, deflated), so the archive's files overlap.
func overlapBomb(t testing.TB, n int) []byte {
	t.Helper()
	var comp bytes.Buffer
	fw, _ := flate.NewWriter(&comp, flate.BestCompression)
	zeros := make([]byte, 1<<20)
	fw.Write(zeros)
	fw.Close()
	crc := crc32.ChecksumIEEE(zeros)
	var out bytes.Buffer
	le := binary.LittleEndian
	name := []byte(modelpkg.DefaultModelFile)
	// One local file header and its data, at offset 0.
	lh := make([]byte, 30)
	le.PutUint32(lh[0:], 0x04034b50)
	le.PutUint16(lh[4:], 20)
	le.PutUint16(lh[8:], 8)
	le.PutUint32(lh[14:], crc)
	le.PutUint32(lh[18:], uint32(comp.Len()))
	le.PutUint32(lh[22:], uint32(len(zeros)))
	le.PutUint16(lh[26:], uint16(len(name)))
	out.Write(lh)
	out.Write(name)
	out.Write(comp.Bytes())
	cdStart := out.Len()
	for i := range n {
		nm := name
		if i > 0 {
			nm = fmt.Appendf(nil, "x/%06d", i)
		}
		ch := make([]byte, 46)
		le.PutUint32(ch[0:], 0x02014b50)
		le.PutUint16(ch[4:], 20)
		le.PutUint16(ch[6:], 20)
		le.PutUint16(ch[10:], 8)
		le.PutUint32(ch[16:], crc)
		le.PutUint32(ch[20:], uint32(comp.Len()))
		le.PutUint32(ch[24:], uint32(len(zeros)))
		le.PutUint16(ch[28:], uint16(len(nm)))
		le.PutUint32(ch[42:], 0) // every entry's data is at offset 0
		out.Write(ch)
		out.Write(nm)
	}
	cdSize := out.Len() - cdStart
	eocd := make([]byte, 22)
	le.PutUint32(eocd[0:], 0x06054b50)
	le.PutUint16(eocd[8:], uint16(n))
	le.PutUint16(eocd[10:], uint16(n))
	le.PutUint32(eocd[12:], uint32(cdSize))
	le.PutUint32(eocd[16:], uint32(cdStart))
	out.Write(eocd)
	return out.Bytes()
}
