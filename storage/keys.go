package storage

import (
	"io/fs"
	"strings"
	"unicode/utf8"
)

// Key limits. They are the strictest of the supported backends (S3 allows
// 1,024 bytes of UTF-8 per key; local file systems 255 bytes per name), so
// that a key valid on one backend is valid on every backend.
const (
	// MaxKeyLen is the maximum length of a key in bytes.
	MaxKeyLen = 1024
	// MaxElemLen is the maximum length in bytes of one slash-separated
	// element of a key.
	MaxElemLen = 255
	// ReservedPrefix starts the names of the temporary files that backends
	// writing to a file system create next to the final object. No key
	// element may start with it, so a temporary file can never be mistaken
	// for an object, on any backend.
	ReservedPrefix = ".tmp-mv-"
)

// keyError is the error returned by ValidKey. It matches [ErrInvalidKey].
type keyError struct{ reason string }

func (e *keyError) Error() string { return "invalid key: " + e.reason }
func (e *keyError) Unwrap() error { return ErrInvalidKey }

// ValidKey reports whether key may name an object. It returns nil or an
// error matching [ErrInvalidKey] that says what is wrong. It is the one
// place keys are checked; every backend calls it before touching anything.
//
// A valid key satisfies [fs.ValidPath] (slash-separated, no leading or
// trailing slash, no empty, "." or ".." elements), is not "." itself, is
// valid UTF-8, contains no control characters (NUL included) and no
// backslash, is at most [MaxKeyLen] bytes long with elements of at most
// [MaxElemLen] bytes, and has no element starting with [ReservedPrefix].
func ValidKey(key string) error {
	switch {
	case key == "":
		return &keyError{"empty"}
	case key == ".":
		return &keyError{`"." names no object`}
	case len(key) > MaxKeyLen:
		return &keyError{"longer than 1024 bytes"}
	case !utf8.ValidString(key):
		return &keyError{"not valid UTF-8"}
	case strings.ContainsRune(key, '\\'):
		return &keyError{"contains a backslash"}
	case strings.IndexFunc(key, isControl) >= 0:
		return &keyError{"contains a control character"}
	case !fs.ValidPath(key):
		return &keyError{`empty, ".", or ".." element, or leading or trailing slash`}
	}
	for elem := range strings.SplitSeq(key, "/") {
		if len(elem) > MaxElemLen {
			return &keyError{"element longer than 255 bytes"}
		}
		if strings.HasPrefix(elem, ReservedPrefix) {
			return &keyError{"element starts with the reserved prefix " + ReservedPrefix}
		}
	}
	return nil
}

// ValidPrefix reports whether prefix may be used as [ListOptions.Prefix]:
// it is empty, or it is the beginning of at least one valid key (for
// example "a/", "a/b" or "a/.", but not "/a", "../" or "a//"). It returns
// nil or an error matching [ErrInvalidKey].
func ValidPrefix(prefix string) error {
	if prefix == "" || ValidKey(prefix) == nil {
		return nil // a key is the beginning of itself (even at MaxKeyLen)
	}
	if err := ValidKey(prefix + "x"); err != nil {
		return &keyError{"prefix: " + err.(*keyError).reason}
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }
