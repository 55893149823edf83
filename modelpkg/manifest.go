package modelpkg

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// manifestHashesKey is the manifest's only interpreted field.
const manifestHashesKey = "file_hashes"

// Manifest is a parsed deployment_manifest.json.
type Manifest struct {
	// FileHashes maps the canonical relative path of every file in the
	// package, except the manifest itself, to its SHA-256 as 64
	// lower-case hex digits.
	FileHashes map[string]string
	// Extra holds every other top-level field, preserved verbatim so
	// that MarshalJSON writes them back.
	Extra map[string]json.RawMessage
}

// ParseManifest reads and parses a deployment_manifest.json from r.
// lim bounds its size (MaxManifestSize) and nesting (MaxJSONDepth); nil
// means [DefaultLimits].
//
// file_hashes must be an object mapping canonical relative paths (no "..",
// no leading "/" or "./", no backslash, no drive letter) to 64-digit hex
// SHA-256 digests; upper-case digits are accepted and stored in lower
// case. Errors wrap [ErrInvalidManifest], or [ErrResourceLimit] when a
// limit is exceeded.
func ParseManifest(r io.Reader, lim *Limits) (*Manifest, error) {
	l := lim.resolve()
	data, err := readCapped(r, l.MaxManifestSize, DefaultManifestFile)
	if err != nil {
		return nil, err
	}
	if err := checkJSONDepth(data, l.MaxJSONDepth, DefaultManifestFile); err != nil {
		return nil, err
	}
	_, members, err := decodeObject(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidManifest, DefaultManifestFile, err)
	}
	raw, ok := members[manifestHashesKey]
	if !ok {
		return nil, fmt.Errorf("%w: %s: no %q field", ErrInvalidManifest, DefaultManifestFile, manifestHashesKey)
	}
	delete(members, manifestHashesKey)
	if jsonKind(raw) != "object" {
		return nil, fmt.Errorf("%w: %s: %q is %s, want an object", ErrInvalidManifest, DefaultManifestFile, manifestHashesKey, jsonKind(raw))
	}
	_, entries, err := decodeObject(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %s: %v", ErrInvalidManifest, DefaultManifestFile, manifestHashesKey, err)
	}
	m := &Manifest{FileHashes: make(map[string]string, len(entries)), Extra: members}
	for name, v := range entries {
		if p := pathProblem(name); p != "" {
			return nil, fmt.Errorf("%w: %s: file_hashes key %q: %s", ErrInvalidManifest, DefaultManifestFile, name, p)
		}
		var h string
		if err := json.Unmarshal(v, &h); err != nil || jsonKind(v) != "string" {
			return nil, fmt.Errorf("%w: %s: hash of %q is %s, want a string", ErrInvalidManifest, DefaultManifestFile, name, jsonKind(v))
		}
		if !isHexDigest(h) {
			return nil, fmt.Errorf("%w: %s: hash of %q is not 64 hex digits", ErrInvalidManifest, DefaultManifestFile, name)
		}
		m.FileHashes[name] = strings.ToLower(h)
	}
	return m, nil
}

func isHexDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// MarshalJSON encodes the manifest deterministically: keys sorted at every
// level, extra fields compacted, no insignificant white space.
func (m *Manifest) MarshalJSON() ([]byte, error) {
	fields := make(map[string][]byte, len(m.Extra)+1)
	for k, v := range m.Extra {
		if k == manifestHashesKey {
			continue
		}
		var b bytes.Buffer
		if err := json.Compact(&b, v); err != nil {
			return nil, fmt.Errorf("manifest field %q: %w", k, err)
		}
		fields[k] = b.Bytes()
	}
	var hb bytes.Buffer
	hb.WriteByte('{')
	for i, name := range slices.Sorted(maps.Keys(m.FileHashes)) {
		if i > 0 {
			hb.WriteByte(',')
		}
		writeJSONString(&hb, name)
		hb.WriteByte(':')
		writeJSONString(&hb, strings.ToLower(m.FileHashes[name]))
	}
	hb.WriteByte('}')
	fields[manifestHashesKey] = hb.Bytes()

	var out bytes.Buffer
	out.WriteByte('{')
	for i, k := range slices.Sorted(maps.Keys(fields)) {
		if i > 0 {
			out.WriteByte(',')
		}
		writeJSONString(&out, k)
		out.WriteByte(':')
		out.Write(fields[k])
	}
	out.WriteByte('}')
	return out.Bytes(), nil
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc, _ := json.Marshal(s) // marshaling a string cannot fail
	b.Write(enc)
}

// Check compares the files the manifest lists with present, the files a
// package actually contains (without the manifest itself). Every listed
// file must be present, or Check returns an error wrapping
// [ErrMissingFile] naming all that are absent. Every present file must be
// listed, or Check returns an error wrapping [ErrInvalidManifest] naming
// all unlisted files; when allowUnlisted is true it returns them instead,
// sorted, for the caller to report as warnings.
func (m *Manifest) Check(present []string, allowUnlisted bool) (unlisted []string, err error) {
	have := make(map[string]bool, len(present))
	for _, p := range present {
		have[p] = true
		if _, ok := m.FileHashes[p]; !ok {
			unlisted = append(unlisted, p)
		}
	}
	var missing []string
	for name := range m.FileHashes {
		if !have[name] {
			missing = append(missing, name)
		}
	}
	slices.Sort(missing)
	slices.Sort(unlisted)
	if len(missing) > 0 {
		return unlisted, fmt.Errorf("%w: listed in the manifest but not in the package: %s", ErrMissingFile, strings.Join(missing, ", "))
	}
	if len(unlisted) > 0 && !allowUnlisted {
		return unlisted, fmt.Errorf("%w: not listed in the manifest: %s", ErrInvalidManifest, strings.Join(unlisted, ", "))
	}
	return unlisted, nil
}
