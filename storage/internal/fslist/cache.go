package fslist

import (
	"io/fs"
	"sync"
	"time"
)

// Cache bounds. Only directories worth it are kept, and only a few.
const (
	cacheMinEntries = 512
	cacheMaxDirs    = 8
	// racyWindow: a directory modified less than this before it was read
	// may change again without its modification time changing (file
	// system timestamps are coarse), so its names are not trusted from
	// the cache, as git treats "racily clean" files.
	racyWindow = 2 * time.Second
)

// dirent is a name and type from a directory read.
type dirent struct {
	name string
	typ  fs.FileMode
}

// DirCache keeps the names of recently listed large directories, keyed by
// path and validated by the directory's modification time and size on
// every use, so that paging through a directory of many objects reads it
// once instead of once per page. The zero value is ready; a nil *DirCache
// caches nothing. It is safe for concurrent use.
type DirCache struct {
	mu   sync.Mutex
	dirs map[string]*cachedDir
	tick uint64
}

type cachedDir struct {
	modTime time.Time
	size    int64
	read    time.Time // when the names were read
	used    uint64
	ents    []dirent
}

// read returns the entries of dir sorted by name.
func (c *DirCache) read(fsys fs.FS, dir string) ([]dirent, error) {
	if c == nil {
		return readNames(fsys, dir)
	}
	before, err := fs.Stat(fsys, dir)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if d := c.dirs[dir]; d != nil && d.modTime.Equal(before.ModTime()) && d.size == before.Size() &&
		d.read.Sub(d.modTime) > racyWindow {
		c.tick++
		d.used = c.tick
		ents := d.ents
		c.mu.Unlock()
		return ents, nil
	}
	c.mu.Unlock()
	now := time.Now()
	ents, err := readNames(fsys, dir)
	if err != nil || len(ents) < cacheMinEntries {
		return ents, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dirs == nil {
		c.dirs = map[string]*cachedDir{}
	}
	if _, ok := c.dirs[dir]; !ok && len(c.dirs) >= cacheMaxDirs {
		var lru string
		var min uint64 = ^uint64(0)
		for k, d := range c.dirs {
			if d.used < min {
				lru, min = k, d.used
			}
		}
		delete(c.dirs, lru)
	}
	c.tick++
	// The stamp is the one taken before reading: a change during the
	// read makes it stale.
	c.dirs[dir] = &cachedDir{modTime: before.ModTime(), size: before.Size(), read: now, used: c.tick, ents: ents}
	return ents, nil
}

func readNames(fsys fs.FS, dir string) ([]dirent, error) {
	des, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	ents := make([]dirent, len(des))
	for i, de := range des {
		ents[i] = dirent{name: de.Name(), typ: de.Type()}
	}
	return ents, nil
}
