package modelpkg

import (
	"strings"
	"unicode"
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
// backslash, no colon (drive letters, NTFS streams), no "." or ".."
// element, no element ending in a dot or space and no Windows device name
// (CON, NUL, COM1, ...), so that no two spellings name the same file and
// no name means something else on another operating system.
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
		if last := elem[len(elem)-1]; last == '.' || last == ' ' {
			return "element ending in a dot or space (an alias on Windows)"
		}
		if isWindowsDevice(elem) {
			return "reserved Windows device name"
		}
		if isShortName(elem) {
			return "Windows 8.3 short name (NTFS may give it to another file, e.g. MODEL~1.JOB for model.joblib)"
		}
	}
	return ""
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// foldKey returns the key under which two names collide on a
// case-insensitive or normalizing file system: NFC, then the simple
// upper-casing NTFS compares names with (which maps the dotless i of
// "model.jobl\u0131b" to I), then Unicode case folding (which APFS and
// others use, and which keeps the dotless i apart).
func foldKey(name string) string {
	return cases.Fold().String(strings.Map(unicode.ToUpper, norm.NFC.String(name)))
}

// isShortName reports whether elem looks like a Windows 8.3 short name
// with a numeric tail ("MODEL~1.JOB", "PROGRA~12"): on NTFS such a name
// can open another file of the same directory.
func isShortName(elem string) bool {
	base, ext, _ := strings.Cut(elem, ".")
	tilde := strings.LastIndexByte(base, '~')
	if tilde < 1 || tilde == len(base)-1 || len(base) > 8 || len(ext) > 3 || strings.Contains(ext, ".") {
		return false
	}
	for i := tilde + 1; i < len(base); i++ {
		if base[i] < '0' || base[i] > '9' {
			return false
		}
	}
	return true
}

// isWindowsDevice reports whether elem is a reserved Windows device name,
// with or without an extension ("nul", "COM1.txt").
func isWindowsDevice(elem string) bool {
	base, _, _ := strings.Cut(elem, ".")
	switch strings.ToUpper(strings.TrimRight(base, " ")) {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	}
	if len(base) == 4 {
		prefix := strings.ToUpper(base[:3])
		if (prefix == "COM" || prefix == "LPT") && (base[3] >= '0' && base[3] <= '9') {
			return true
		}
	}
	if len(base) == 5 && (strings.HasPrefix(strings.ToUpper(base), "COM") || strings.HasPrefix(strings.ToUpper(base), "LPT")) {
		switch base[3:] { // superscript digits ¹ ² ³
		case "\u00b9", "\u00b2", "\u00b3":
			return true
		}
	}
	return false
}
