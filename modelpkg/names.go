package modelpkg

import (
	"fmt"
	"strings"

	"golang.org/x/mod/semver"
)

// Package file and directory name pieces.
const (
	filePrefix = "model_"
	fileSuffix = "_deployment.zip"
	dirPrefix  = "model_"

	// MaxVersionLen is the longest version a package name may carry.
	MaxVersionLen = 128

	versionPattern  = "[A-Za-z0-9][A-Za-z0-9._+-]{0,127}"
	fileNamePattern = "model_{version}_deployment.zip, version " + versionPattern
	dirNamePattern  = "model_{version}, version " + versionPattern
)

// ValidateVersion reports whether v is a valid package version: 1 to 128
// characters from [A-Za-z0-9._+-], starting with a letter or digit (so it
// is never "." or ".."). It returns an error wrapping [ErrInvalidName]
// otherwise.
func ValidateVersion(v string) error {
	if v == "" || len(v) > MaxVersionLen {
		return fmt.Errorf("%w: version %s must be 1-%d characters matching %s", ErrInvalidName, Excerpt(v), MaxVersionLen, versionPattern)
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if i == 0 && !alnum || !alnum && c != '.' && c != '_' && c != '+' && c != '-' {
			return fmt.Errorf("%w: version %s does not match %s", ErrInvalidName, Excerpt(v), versionPattern)
		}
	}
	return nil
}

// ParseFileName returns the version in a package file name of the form
// model_{version}_deployment.zip, e.g. "1.2" for "model_1.2_deployment.zip".
// name must be a base name: anything containing a slash or backslash is
// rejected. The prefix and suffix are case-sensitive. Errors wrap
// [ErrInvalidName] and show the expected pattern.
func ParseFileName(name string) (version string, err error) {
	if strings.ContainsAny(name, `/\`) {
		return "", fmt.Errorf("%w: %s is a path, want a base name %s", ErrInvalidName, Excerpt(name), fileNamePattern)
	}
	v, ok := strings.CutPrefix(name, filePrefix)
	if ok {
		v, ok = strings.CutSuffix(v, fileSuffix)
	}
	if !ok || ValidateVersion(v) != nil {
		return "", fmt.Errorf("%w: %s does not match %s", ErrInvalidName, Excerpt(name), fileNamePattern)
	}
	return v, nil
}

// FileName returns the package file name for version, e.g.
// "model_1.2_deployment.zip". It does not validate version; see
// [ValidateVersion].
func FileName(version string) string { return filePrefix + version + fileSuffix }

// DirName returns the directory name an extracted package of version uses,
// e.g. "model_1.2". It does not validate version.
func DirName(version string) string { return dirPrefix + version }

// ParseDirName returns the version in a directory name of the form
// model_{version}. Errors wrap [ErrInvalidName].
func ParseDirName(name string) (version string, err error) {
	v, ok := strings.CutPrefix(name, dirPrefix)
	if !ok || strings.ContainsAny(name, `/\`) || ValidateVersion(v) != nil {
		return "", fmt.Errorf("%w: %s does not match %s", ErrInvalidName, Excerpt(name), dirNamePattern)
	}
	return v, nil
}

// CompareVersions orders package versions for listings. It returns -1, 0
// or +1. When both versions parse as semantic versions (with or without a
// leading "v", shorthand like "1.2" allowed) they are compared by semver
// precedence; two strings that are otherwise equal in precedence ("1.2" and
// "1.2.0", or differing build metadata) fall back to byte order. When
// neither parses, byte order decides. When exactly one parses, the semantic
// version sorts first: comparing such pairs lexically would not be
// transitive. The result is a total order, so sort.Slice and slices.SortFunc
// give deterministic listings. It returns 0 only for identical strings.
func CompareVersions(a, b string) int {
	sa, oka := semverOf(a)
	sb, okb := semverOf(b)
	switch {
	case oka && okb:
		if c := semver.Compare(sa, sb); c != 0 {
			return c
		}
	case oka:
		return -1
	case okb:
		return 1
	}
	return strings.Compare(a, b)
}

func semverOf(v string) (string, bool) {
	if !strings.HasPrefix(v, "v") {
		v = "v" + v
	}
	return v, semver.IsValid(v)
}
