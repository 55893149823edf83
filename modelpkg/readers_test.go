package modelpkg_test

import (
	"bytes"
	"compress/bzip2"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/modelpkg"
)

// Debian's python3: the first python3 on PATH may be another build.
const systemPython = "/usr/bin/python3"

// pythonView lists the regular files Python's zipfile reads from an
// archive, with the SHA-256 of their bytes, under the names an extraction
// would use: without a leading "./", and without the __MACOSX/._*
// AppleDouble entries that modelvault deliberately ignores.
const pythonView = `
import hashlib, json, sys, zipfile
out = {}
with zipfile.ZipFile(sys.argv[1]) as z:
    for i in z.infolist():
        if i.is_dir():
            continue
        name = i.filename
        while name.startswith("./"):
            name = name[2:]
        if name.startswith("__MACOSX/") and name.rsplit("/", 1)[-1].startswith("._"):
            continue
        if name in out:
            raise SystemExit("duplicate " + name)
        out[name] = hashlib.sha256(z.read(i)).hexdigest()
json.dump(out, sys.stdout)
`

// modelvaultView opens path with modelvault and returns its files'
// SHA-256 digests, or the error of Open or a read.
func modelvaultView(t *testing.T, path string) (map[string]string, error) {
	t.Helper()
	p, err := modelpkg.OpenFile(path, nil)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	out := map[string]string{}
	for _, f := range p.Files() {
		b, err := p.ReadFile(f.Name)
		if err != nil {
			return nil, err
		}
		out[f.Name] = sha256Hex(b)
	}
	return out, nil
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// cleanToolName maps a name a command-line reader lists to the name an
// extraction uses, or "" for entries to leave out (directories,
// AppleDouble files).
func cleanToolName(name string) string {
	for strings.HasPrefix(name, "./") {
		name = name[2:]
	}
	if name == "" || name == "." || strings.HasSuffix(name, "/") ||
		strings.HasPrefix(name, "__MACOSX/") && strings.HasPrefix(filepath.Base(name), "._") {
		return ""
	}
	return name
}

// toolReaders are the command-line readers checked when installed: how
// each lists names (one per line, after filtering) and prints one entry.
var toolReaders = []struct {
	name  string
	list  func(path string) *exec.Cmd
	parse func(out string) []string
	cat   func(path, entry string) *exec.Cmd
}{
	{
		name: "unzip",
		list: func(p string) *exec.Cmd { return exec.Command("unzip", "-Z1", p) },
		parse: func(out string) []string {
			return strings.Split(strings.TrimRight(out, "\n"), "\n")
		},
		cat: func(p, e string) *exec.Cmd { return exec.Command("unzip", "-p", p, e) },
	},
	{
		name: "bsdtar",
		list: func(p string) *exec.Cmd { return exec.Command("bsdtar", "-tf", p) },
		parse: func(out string) []string {
			return strings.Split(strings.TrimRight(out, "\n"), "\n")
		},
		cat: func(p, e string) *exec.Cmd { return exec.Command("bsdtar", "-xOf", p, e) },
	},
	{
		name: "bsdtar-stream", // reads local headers in order, from a pipe
		list: func(p string) *exec.Cmd { return exec.Command("sh", "-c", `bsdtar -tf - < "$0"`, p) },
		parse: func(out string) []string {
			return strings.Split(strings.TrimRight(out, "\n"), "\n")
		},
		cat: func(p, e string) *exec.Cmd { return exec.Command("sh", "-c", `bsdtar -xOf - "$1" < "$0"`, p, e) },
	},
	{
		name: "7z",
		list: func(p string) *exec.Cmd { return exec.Command("7z", "l", "-slt", "-ba", p) },
		parse: func(out string) []string {
			var names []string
			var cur string
			for _, line := range strings.Split(out, "\n") {
				if v, ok := strings.CutPrefix(line, "Path = "); ok {
					cur = v
				}
				if line == "Folder = +" {
					cur += "/"
				}
				if line == "" && cur != "" {
					names = append(names, cur)
					cur = ""
				}
			}
			if cur != "" {
				names = append(names, cur)
			}
			return names
		},
		cat: func(p, e string) *exec.Cmd { return exec.Command("7z", "e", "-so", "-bd", p, e) },
	},
}

// requireReadersAgree checks that Python's zipfile and every installed
// command-line reader see exactly the files modelvault sees in the
// archive at path, with the same bytes. It logs what each reader saw.
func requireReadersAgree(t *testing.T, path string, want map[string]string) {
	t.Helper()
	checked := 0
	if _, err := os.Stat(systemPython); err == nil {
		out, err := exec.Command(systemPython, "-c", pythonView, path).Output()
		require.NoError(t, err, "python zipfile: %s", exitStderr(err))
		var got map[string]string
		require.NoError(t, json.Unmarshal(out, &got))
		assert.Equal(t, want, got, "Python's zipfile sees other files or bytes")
		t.Logf("%s: python zipfile: %d files agree", filepath.Base(path), len(got))
		checked++
	} else {
		if os.Getenv("MODELVAULT_REQUIRE_SERVERS") == "1" {
			t.Fatalf("%s is required here (.ci/install-tools.sh installs it)", systemPython)
		}
		t.Logf("%s not installed: Python's zipfile not compared", systemPython)
	}
	for _, r := range toolReaders {
		bin := strings.Fields(r.list(path).String())[0]
		if r.name == "bsdtar-stream" {
			bin = "bsdtar"
		}
		if _, err := exec.LookPath(filepath.Base(bin)); err != nil {
			if os.Getenv("MODELVAULT_REQUIRE_SERVERS") == "1" {
				t.Fatalf("%s is required here (.ci/install-tools.sh installs it): %v", r.name, err)
			}
			t.Logf("%s not installed: not compared", r.name)
			continue
		}
		out, err := r.list(path).Output()
		require.NoError(t, err, "%s: %s", r.name, exitStderr(err))
		got := map[string]string{}
		for _, raw := range r.parse(string(out)) {
			name := cleanToolName(raw)
			if name == "" {
				continue
			}
			data, err := r.cat(path, raw).Output()
			require.NoError(t, err, "%s %s: %s", r.name, raw, exitStderr(err))
			got[name] = sha256Hex(data)
		}
		assert.Equal(t, want, got, "%s sees other files or bytes", r.name)
		t.Logf("%s: %s: %d files agree", filepath.Base(path), r.name, len(got))
		checked++
	}
	if checked == 0 {
		t.Log("no other reader installed: only modelvault's own view was checked")
	}
}

func exitStderr(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// TestOtherReadersAgree opens every accepted fixture, including those
// made by real tools (testdata/zip/tools, see make.sh there), and checks
// that the other mainstream readers see the same files and bytes.
func TestOtherReadersAgree(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "zip", "tools", "*.zip"))
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	paths = append(paths, filepath.Join("testdata", "zip", "valid.zip"), filepath.Join("testdata", "zip", "valid-dirs.zip"))
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			want, err := modelvaultView(t, path)
			require.NoError(t, err)
			require.NotEmpty(t, want)
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			_, res, err := openAndExtract(t, data, nil, nil)
			require.NoError(t, err)
			assert.Equal(t, want, res.Digests)
			requireReadersAgree(t, path, want)
		})
	}
}

// peerCorpus holds attack archives collected from other projects'
// test suites (read-only; never copied into this repository).
const peerCorpus = "/work/shared/peer-corpora/zip"

// TestPeerCorpus rejects every zip-slip and zip-bomb archive of the peer
// corpus, writing nothing, and accepts its control package.
func TestPeerCorpus(t *testing.T) {
	labels, err := os.ReadFile(filepath.Join(peerCorpus, "labels.json"))
	if os.IsNotExist(err) {
		t.Skip("peer corpus not present")
	}
	require.NoError(t, err)
	var entries []struct {
		File  string `json:"file"`
		Label string `json:"label"`
	}
	require.NoError(t, json.Unmarshal(labels, &entries))
	n := 0
	for _, e := range entries {
		if !strings.HasSuffix(e.File, ".zip") && !strings.HasSuffix(e.File, ".zip.bz2") {
			continue // tar archives are not packages
		}
		n++
		t.Run(e.File, func(t *testing.T) {
			f, err := os.Open(filepath.Join(peerCorpus, e.File))
			require.NoError(t, err)
			defer f.Close()
			var r io.Reader = f
			if strings.HasSuffix(e.File, ".bz2") {
				r = bunzip2(t, f)
			}
			data, err := io.ReadAll(io.LimitReader(r, 64<<20))
			require.NoError(t, err)
			// A discarding destination: one bomb inflates 1.8 GB
			// before it proves to be lying about its size.
			dst := &discardDestination{}
			p, err := modelpkg.Open(bytes.NewReader(data), int64(len(data)), nil)
			if err == nil {
				var declared int64
				for _, f := range p.Files() {
					declared += f.Size
				}
				opts := &modelpkg.ExtractOptions{}
				if declared > 64<<20 && os.Getenv("MODELVAULT_LONG") != "1" {
					// Inflating 1.8 GB takes minutes under -race.
					t.Logf("%d bytes declared: extracting with a 64 MiB file size limit (MODELVAULT_LONG=1 uses the defaults)", declared)
					opts.Limits = &modelpkg.Limits{MaxFileSize: 64 << 20}
				}
				_, err = p.Extract(context.Background(), dst, opts)
			}
			if e.Label == "benign" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			t.Logf("%s: %s: %v", modelpkg.Code(err), e.File, truncate(err.Error(), 160))
			assert.True(t, slices.Contains([]string{"invalid_archive", "unsafe_path", "resource_limit", "missing_file", "invalid_manifest"}, modelpkg.Code(err)), modelpkg.Code(err))
			assert.True(t, dst.completed.Load() == 0 || dst.aborted.Load(), "files were kept")
		})
	}
	require.Positive(t, n)
}

// discardDestination reads files to the end and keeps nothing.
type discardDestination struct {
	completed atomic.Int64
	aborted   atomic.Bool
}

func (d *discardDestination) WriteFile(ctx context.Context, name string, r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	d.completed.Add(1)
	return nil
}

func (d *discardDestination) Abort(context.Context) error {
	d.aborted.Store(true)
	return nil
}

// bunzip2 decompresses with the bzip2 command when installed: Go's
// decoder takes most of a minute on the corpus under -race.
func bunzip2(t *testing.T, f *os.File) io.Reader {
	if _, err := exec.LookPath("bzip2"); err != nil {
		return bzip2.NewReader(f)
	}
	cmd := exec.Command("bzip2", "-dc")
	cmd.Stdin = f
	out, err := cmd.Output()
	require.NoError(t, err)
	return bytes.NewReader(out)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
