package modelpkg_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/modelpkg"
)

// FuzzExtractDir extracts into a directory on disk and checks that
// nothing is ever written outside it, that the bytes written stay within
// the limits, and that a failed extraction leaves nothing behind.
func FuzzExtractDir(f *testing.F) {
	seedFiles(f, "zip/*.zip")
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := modelpkg.Open(bytes.NewReader(data), int64(len(data)), &modelpkg.OpenOptions{Limits: fuzzLimits})
		if err != nil {
			return
		}
		defer p.Close()
		base := t.TempDir()
		out := filepath.Join(base, "out")
		require.NoError(t, os.Mkdir(out, 0o755))
		dst, err := modelpkg.OpenDirDestination(out, &modelpkg.DirOptions{NoSync: true})
		require.NoError(t, err)
		_, xerr := p.Extract(context.Background(), dst, &modelpkg.ExtractOptions{Concurrency: 2, Limits: fuzzLimits})
		var total int64
		files := 0
		require.NoError(t, filepath.WalkDir(base, func(path string, d fs.DirEntry, err error) error {
			require.NoError(t, err)
			if path == base || path == out {
				return nil
			}
			require.True(t, strings.HasPrefix(path, out+string(filepath.Separator)), "written outside the target: %s", path)
			info, err := os.Lstat(path)
			require.NoError(t, err)
			require.True(t, info.Mode().IsRegular() || info.IsDir(), "not a file or directory: %s (%v)", path, info.Mode())
			if info.Mode().IsRegular() {
				total += info.Size()
				files++
			}
			return nil
		}))
		require.LessOrEqual(t, total, fuzzLimits.MaxTotalSize, "more bytes written than the limits allow")
		if xerr != nil {
			require.Zero(t, files, "a failed extraction left files behind: %v", xerr)
			return
		}
		require.Equal(t, len(p.Files()), files)
	})
}
