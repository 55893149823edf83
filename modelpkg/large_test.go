package modelpkg_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/modelpkg"
)

// sparseWriter writes to a file, seeking over runs of zeros so that a
// package of several GiB of zeros takes a few KiB of disk.
type sparseWriter struct {
	f   *os.File
	off int64
}

var zeroChunk = make([]byte, 1<<20)

func (w *sparseWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		c := p[:min(len(p), len(zeroChunk))]
		if bytes.Equal(c, zeroChunk[:len(c)]) {
			w.off += int64(len(c))
		} else if _, err := w.f.WriteAt(c, w.off); err != nil {
			return n - len(p), err
		} else {
			w.off += int64(len(c))
		}
		p = p[len(c):]
	}
	return n, nil
}

// finish gives the file its full size (a trailing hole).
func (w *sparseWriter) finish() error { return w.f.Truncate(w.off) }

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// smallFilesView opens path and returns the SHA-256 of every file of at
// most 1 MiB, and the names and sizes of all files.
func smallFilesView(t *testing.T, path string) (digests map[string]string, sizes map[string]int64) {
	t.Helper()
	p, err := modelpkg.OpenFile(path, nil)
	require.NoError(t, err)
	defer p.Close()
	digests, sizes = map[string]string{}, map[string]int64{}
	for _, f := range p.Files() {
		sizes[f.Name] = f.Size
		if f.Size <= 1<<20 {
			b, err := p.ReadFile(f.Name)
			require.NoError(t, err)
			digests[f.Name] = sha256Hex(b)
		}
	}
	return digests, sizes
}

// pythonSmallFiles is smallFilesView as Python's zipfile sees it.
const pythonSmallFiles = `
import hashlib, json, sys, zipfile
digests, sizes = {}, {}
with zipfile.ZipFile(sys.argv[1]) as z:
    for i in z.infolist():
        if i.is_dir():
            continue
        sizes[i.filename] = i.file_size
        if i.file_size <= 1 << 20:
            digests[i.filename] = hashlib.sha256(z.read(i)).hexdigest()
json.dump({"digests": digests, "sizes": sizes}, sys.stdout)
`

func requirePythonSmallFiles(t *testing.T, path string, digests map[string]string, sizes map[string]int64) {
	t.Helper()
	if _, err := os.Stat(systemPython); err != nil {
		t.Logf("%s not installed: Python's zipfile not compared", systemPython)
		return
	}
	out, err := exec.Command(systemPython, "-c", pythonSmallFiles, path).Output()
	require.NoError(t, err, exitStderr(err))
	var py struct {
		Digests map[string]string
		Sizes   map[string]int64
	}
	require.NoError(t, json.Unmarshal(out, &py))
	assert.Equal(t, digests, py.Digests)
	assert.Equal(t, sizes, py.Sizes)
	t.Logf("python zipfile agrees on %d files (%d read)", len(py.Sizes), len(py.Digests))
}

// TestLargeGoWriterPackage is modelctl pack's shape above 4 GiB: Go's
// archive/zip writes a zip64 offset into the central header of every
// file after the first 4 GiB, but a 4-byte data descriptor for the files
// whose sizes fit. Built sparse: a few KiB on disk.
func TestLargeGoWriterPackage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model_1.0_deployment.zip")
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	sw := &sparseWriter{f: f}
	zw := zip.NewWriter(sw)
	const big = 2<<30 + 1<<20 // two of them: past 4 GiB, each under the file size limit
	for _, name := range []string{"model.joblib", "weights.bin"} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		require.NoError(t, err)
		// A 4 MiB buffer: io.CopyN's 32 KiB one makes this take
		// seconds under -race.
		_, err = io.CopyBuffer(w, io.LimitReader(zeroReader{}, big), make([]byte, 4<<20))
		require.NoError(t, err)
	}
	for _, name := range []string{"README.md", "metadata.json"} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate})
		require.NoError(t, err)
		_, err = w.Write([]byte("contents of " + name))
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	require.NoError(t, sw.finish())

	digests, sizes := smallFilesView(t, path)
	assert.Equal(t, map[string]int64{"model.joblib": big, "weights.bin": big, "README.md": 21, "metadata.json": 25}, sizes)
	assert.Len(t, digests, 2)
	requirePythonSmallFiles(t, path, digests, sizes)
}

// TestLargePythonPackage is Python's zipfile shape with the central
// directory past 2 GiB: real 32-bit end record values plus a zip64 end
// record and locator. Written by Python itself when installed (sparse),
// else by hand.
func TestLargePythonPackage(t *testing.T) {
	if _, err := os.Stat(systemPython); err != nil {
		t.Skipf("%s not installed; the crafted shape is in TestAcceptedShapes", systemPython)
	}
	path := filepath.Join(t.TempDir(), "model_1.0_deployment.zip")
	const script = `
import io, sys, zipfile
class Sparse(io.FileIO):
    def write(self, b):
        if b.count(0) == len(b):
            self.seek(len(b), 1)
            return len(b)
        return super().write(b)
big = (2 << 30) + (1 << 20)
with Sparse(sys.argv[1], "w") as f:
    with zipfile.ZipFile(f, "w") as z:
        info = zipfile.ZipInfo("model.joblib", (2024, 1, 1, 0, 0, 0))
        info.file_size = big
        zeros = bytes(1 << 20)
        with z.open(info, "w") as w:
            for _ in range(big >> 20):
                w.write(zeros)
        z.writestr("README.md", "readme")
        z.writestr("metadata.json", "{}")
    f.truncate(f.tell())
`
	out, err := exec.Command(systemPython, "-c", script, path).CombinedOutput()
	require.NoError(t, err, string(out))
	digests, sizes := smallFilesView(t, path)
	assert.Equal(t, map[string]int64{"model.joblib": 2<<30 + 1<<20, "README.md": 6, "metadata.json": 2}, sizes)
	requirePythonSmallFiles(t, path, digests, sizes)
}
