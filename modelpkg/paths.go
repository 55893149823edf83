package modelpkg

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// maxElemLen is the longest path element accepted: no common file system
// stores a longer one.
const maxElemLen = 255

// pathProblem returns why name is not a canonical, safe, slash-separated
// relative path, or "" if it is. A canonical path satisfies fs.ValidPath,
// is valid UTF-8, and contains no NUL or other control character, no
// backslash, no colon (drive letters, NTFS streams) and no "." or ".."
// element, so that no two spellings name the same file.
func pathProblem(name string) string {
	switch {
	case name == "":
		return "empty name"
	case !utf8.ValidString(name):
		return "invalid UTF-8"
	case strings.IndexByte(name, 0) >= 0:
		return "NUL byte"
	case strings.HasPrefix(name, "/"):
		return "absolute path"
	case len(name) >= 2 && name[1] == ':' && isLetter(name[0]):
		return "drive letter"
	case strings.IndexByte(name, '\\') >= 0:
		return "backslash"
	case strings.IndexByte(name, ':') >= 0:
		return "colon"
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return "control character"
		}
	}
	for elem := range strings.SplitSeq(name, "/") {
		switch elem {
		case "..":
			return `".." element`
		case ".", "":
			return "not in canonical form"
		}
		if len(elem) > maxElemLen {
			return "path element longer than 255 bytes"
		}
	}
	return ""
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// foldKey returns the key under which two names collide on a
// case-insensitive or normalizing file system: NFC, then case folding.
func foldKey(name string) string {
	return cases.Fold().String(norm.NFC.String(name))
}
