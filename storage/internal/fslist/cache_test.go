package fslist

import (
	"context"
	"fmt"
	"io/fs"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/storage"
)

// countFS counts directory reads.
type countFS struct {
	fstest.MapFS
	reads int
}

func (c *countFS) ReadDir(name string) ([]fs.DirEntry, error) {
	c.reads++
	return c.MapFS.ReadDir(name)
}

func listAll(t *testing.T, fsys fs.FS, cache *DirCache, size int) []string {
	var keys []string
	opts := &storage.ListOptions{Prefix: "d/", PageSize: size}
	for range 1000 {
		page, err := ListCached(context.Background(), fsys, cache, opts)
		require.NoError(t, err)
		for _, o := range page.Objects {
			keys = append(keys, o.Key)
		}
		if page.NextPageToken == "" {
			return keys
		}
		opts.PageToken = page.NextPageToken
	}
	t.Fatal("listing did not end")
	return nil
}

func TestDirCache(t *testing.T) {
	old := time.Now().Add(-time.Hour)
	m := fstest.MapFS{"d": &fstest.MapFile{Mode: fs.ModeDir | 0o755, ModTime: old}}
	const n = 1000
	for i := range n {
		m[fmt.Sprintf("d/%04d", i)] = &fstest.MapFile{Data: []byte("x"), ModTime: old}
	}
	fsys := &countFS{MapFS: m}
	var cache DirCache

	keys := listAll(t, fsys, &cache, 100)
	require.Len(t, keys, n)
	require.Equal(t, 1, fsys.reads, "a large directory is read once per listing, not once per page")

	// A change to the directory (its modification time moves) is seen
	// by the next page.
	m["d/0500x"] = &fstest.MapFile{Data: []byte("new")}
	m["d"] = &fstest.MapFile{Mode: fs.ModeDir | 0o755, ModTime: time.Now()}
	keys = listAll(t, fsys, &cache, 100)
	require.Len(t, keys, n+1)
	require.Contains(t, keys, "d/0500x")

	// A directory modified just before it was read is not trusted.
	reads := fsys.reads
	listAll(t, fsys, &cache, 100)
	require.Greater(t, fsys.reads-reads, 1, "a racily fresh directory was served from the cache")

	// Without a cache, every page reads the directory.
	fsys.reads = 0
	listAll(t, fsys, nil, 100)
	require.Greater(t, fsys.reads, 5)
}
