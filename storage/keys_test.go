package storage_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/storage/storagetest"
)

func TestValidKey(t *testing.T) {
	for _, key := range []string{
		"a", "a/b", "a/b/c.txt", "..a", "a..", ".hidden", "a/.b", "x.", "ünï/名前",
		"sp ace", strings.Repeat("e", 255), strings.Repeat("a/", 511) + "b",
		".tmp-mv", "a/tmp-mv-x",
	} {
		require.NoError(t, storage.ValidKey(key), "%q", key)
	}
	for _, key := range storagetest.BadKeys() {
		err := storage.ValidKey(key)
		require.ErrorIs(t, err, storage.ErrInvalidKey, "%q", key)
		require.Contains(t, err.Error(), "invalid key")
	}
}

func TestValidPrefix(t *testing.T) {
	for _, p := range []string{"", "a", "a/", "a/b", "a/.", "a/..", ".", "..", "é"} {
		require.NoError(t, storage.ValidPrefix(p), "%q", p)
	}
	for _, p := range []string{"/", "/a", "../", "a//", "a/./", "./", "a\\", "\x00", "\xff", storage.ReservedPrefix} {
		require.ErrorIs(t, storage.ValidPrefix(p), storage.ErrInvalidKey, "%q", p)
	}
}

func FuzzValidKey(f *testing.F) {
	for _, k := range append([]string{"a/b", "a", ".x"}, storagetest.BadKeys()...) {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if storage.ValidKey(key) != nil {
			return
		}
		// A valid key never escapes: it has no "..", "." or empty element,
		// is relative, and has no characters a backend treats specially.
		for elem := range strings.SplitSeq(key, "/") {
			if elem == "" || elem == "." || elem == ".." {
				t.Fatalf("valid key %q has element %q", key, elem)
			}
		}
		if strings.ContainsAny(key, "\\\x00") {
			t.Fatalf("valid key %q has a backslash or NUL", key)
		}
		if storage.ValidPrefix(key) != nil {
			t.Fatalf("valid key %q is not a valid prefix", key)
		}
	})
}
