package modelpkg

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"
)

// Metadata field names.
const (
	fieldModelType    = "model_type"
	fieldVersion      = "version"
	fieldCreatedAt    = "created_at"
	fieldTrainingInfo = "training_info"
)

// MaxModelTypeLen bounds metadata.model_type, in bytes. It names the
// model's class (type(model).__name__), which registries, logs, the web
// UI and the CLI show on one line; real class names, even qualified ones,
// are far shorter.
const MaxModelTypeLen = 256

// metadataFields lists the fields the specification expects, in the order
// Missing reports them.
var metadataFields = [...]string{fieldModelType, fieldVersion, fieldCreatedAt, fieldTrainingInfo}

// Metadata is a parsed metadata.json.
type Metadata struct {
	// ModelType is "model_type", e.g. "RandomForestClassifier".
	ModelType string
	// Version is "version"; it must agree with the package file name
	// (see [CheckVersion]).
	Version string
	// CreatedAt is "created_at"; a time without a UTC offset is taken
	// to be UTC.
	CreatedAt time.Time
	// TrainingInfo is the "training_info" object, verbatim.
	TrainingInfo json.RawMessage
	// Raw holds every top-level field, the four above included, verbatim.
	Raw map[string]json.RawMessage
	// Missing lists the expected fields that are absent, which the
	// specification treats as warnings, not errors.
	Missing []string
}

// ParseMetadata reads and parses a metadata.json from r. lim bounds its
// size (MaxMetadataSize) and nesting depth (MaxJSONDepth), both checked
// before any value is decoded; nil means [DefaultLimits].
//
// The file must be a JSON object. model_type, version and created_at must
// be strings and training_info an object when present; a field present
// with another type, or null, is an error wrapping [ErrInvalidMetadata].
// created_at must parse as ISO 8601 as Python's datetime.isoformat()
// writes it (see [ParseISOTime]). Absent fields are listed in
// Metadata.Missing. model_type and version are shown as one line of text
// wherever a version is listed, so each must pass [CheckText]: at most
// [MaxModelTypeLen] and [MaxVersionLen] bytes of valid UTF-8 without
// control, line-break or invisible formatting characters; otherwise the
// error wraps [ErrInvalidMetadata] and quotes only an escaped excerpt.
// Limit violations wrap [ErrResourceLimit].
func ParseMetadata(r io.Reader, lim *Limits) (*Metadata, error) {
	l := lim.resolve()
	data, err := readCapped(r, l.MaxMetadataSize, DefaultMetadataFile)
	if err != nil {
		return nil, err
	}
	if err := checkJSONDepth(data, l.MaxJSONDepth, DefaultMetadataFile); err != nil {
		return nil, err
	}
	_, members, err := decodeObject(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidMetadata, DefaultMetadataFile, err)
	}
	md := &Metadata{Raw: members}
	str := func(field string, dst *string) error {
		raw, ok := members[field]
		if !ok {
			md.Missing = append(md.Missing, field)
			return nil
		}
		if k := jsonKind(raw); k != "string" {
			return fmt.Errorf("%w: %s: %q is %s, want a string", ErrInvalidMetadata, DefaultMetadataFile, field, k)
		}
		return json.Unmarshal(raw, dst)
	}
	var created string
	for _, f := range metadataFields {
		var err error
		switch f {
		case fieldModelType:
			err = str(f, &md.ModelType)
			if err == nil {
				err = checkField(f, md.ModelType, members[f], MaxModelTypeLen)
			}
		case fieldVersion:
			err = str(f, &md.Version)
			if err == nil {
				err = checkField(f, md.Version, members[f], MaxVersionLen)
			}
		case fieldCreatedAt:
			err = str(f, &created)
			if err == nil && created != "" {
				md.CreatedAt, err = ParseISOTime(created)
				if err != nil {
					err = fmt.Errorf("%w: %s: %q: %v", ErrInvalidMetadata, DefaultMetadataFile, f, err)
				}
			}
		case fieldTrainingInfo:
			raw, ok := members[f]
			switch {
			case !ok:
				md.Missing = append(md.Missing, f)
			case jsonKind(raw) != "object":
				err = fmt.Errorf("%w: %s: %q is %s, want an object", ErrInvalidMetadata, DefaultMetadataFile, f, jsonKind(raw))
			default:
				md.TrainingInfo = raw
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if _, ok := members[fieldCreatedAt]; ok && created == "" {
		return nil, fmt.Errorf("%w: %s: %q is empty", ErrInvalidMetadata, DefaultMetadataFile, fieldCreatedAt)
	}
	return md, nil
}

// checkField applies [CheckText] to a decoded string field; raw is its
// JSON, whose bytes must be valid UTF-8 too (the decoder replaces invalid
// bytes with U+FFFD, which would hide them).
func checkField(field, s string, raw json.RawMessage, max int) error {
	err := CheckText(s, max)
	if err == nil && raw != nil && !utf8.Valid(raw) {
		err = errors.New("is not valid UTF-8")
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %q %v", ErrInvalidMetadata, DefaultMetadataFile, field, err)
	}
	return nil
}

// CheckText reports whether s can be shown as one line of text as it is:
// nil when it can; otherwise an error saying why (it does not quote s):
// longer than max bytes (when max > 0), not valid UTF-8, or holding a
// control character (escape sequences drive terminals), a line break, or
// an invisible formatting character such as a bidirectional override
// (text that reads as other text). The error does not wrap a sentinel;
// callers wrap their own.
func CheckText(s string, max int) error {
	if max > 0 && len(s) > max {
		return fmt.Errorf("is %d bytes long, more than %d", len(s), max)
	}
	if !utf8.ValidString(s) {
		return errors.New("is not valid UTF-8")
	}
	for i, r := range s {
		if what := unprintable(r); what != "" {
			return fmt.Errorf("holds %s (%U at byte %d)", what, r, i)
		}
	}
	return nil
}

// unprintable says what kind of character r is when it must not be shown
// as it is, and "" when it may.
func unprintable(r rune) string {
	switch {
	case r == '\n' || r == '\r' || r == '\u0085' || r == '\u2028' || r == '\u2029':
		return "a line break"
	case unicode.IsControl(r):
		return "a control character"
	case unicode.Is(unicode.Cf, r):
		return "an invisible formatting character"
	}
	return ""
}

// Excerpt returns s quoted for a message: escaped as Go quotes it (so no
// control or formatting character is shown raw), and cut after 64 bytes
// with its length, so that a hostile value cannot flood a log line.
func Excerpt(s string) string {
	const n = 64
	if len(s) <= n {
		return strconv.Quote(s)
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + fmt.Sprintf("... (%d bytes)", len(s))
}

// CheckVersion reports whether the version in a package's file name
// agrees with its metadata. A metadata file without a version passes
// (the absence is a warning, see Metadata.Missing); a different version is
// an error wrapping [ErrInvalidMetadata].
func CheckVersion(fileVersion string, md *Metadata) error {
	if md == nil || md.Version == "" {
		if md != nil && md.Raw != nil {
			if _, ok := md.Raw[fieldVersion]; ok {
				return fmt.Errorf("%w: %s: version is empty, file name says %q", ErrInvalidMetadata, DefaultMetadataFile, fileVersion)
			}
		}
		return nil
	}
	if md.Version != fileVersion {
		return fmt.Errorf("%w: %s: version %s does not match %s from the file name", ErrInvalidMetadata, DefaultMetadataFile, Excerpt(md.Version), Excerpt(fileVersion))
	}
	return nil
}

// maxISOTimeLen bounds a date-time before it is matched; the longest the
// pattern takes ("2024-05-01T12:30:00.123456789+02:00:00.123456") is 45
// bytes.
const maxISOTimeLen = 64

var isoTimeRE = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})` +
	`(?:[T ](\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?` +
	`(Z|[+-]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?)?$`)

// ParseISOTime parses an ISO 8601 date-time in the forms Python's
// datetime.isoformat() writes: "2024-05-01T12:30:00", with optional
// fractional seconds (".123" or ".123456"), an optional UTC offset
// ("+02:00", "-05:30:15", "Z"), a space instead of "T", hours or
// hours:minutes only (timespec="hours"/"minutes"), or a date alone. A time
// without an offset is taken to be UTC.
func ParseISOTime(s string) (time.Time, error) {
	var m []string
	if len(s) <= maxISOTimeLen {
		m = isoTimeRE.FindStringSubmatch(s)
	}
	if m == nil {
		return time.Time{}, fmt.Errorf("%s is not an ISO 8601 date-time", Excerpt(s))
	}
	num := func(i int) int {
		if m[i] == "" {
			return 0
		}
		n, _ := strconv.Atoi(m[i])
		return n
	}
	year, month, day := num(1), num(2), num(3)
	hour, minute, sec := num(4), num(5), num(6)
	nsec := 0
	if f := m[7]; f != "" {
		for len(f) < 9 {
			f += "0"
		}
		nsec, _ = strconv.Atoi(f)
	}
	loc := time.UTC
	if z := m[8]; z != "" && z != "Z" {
		sign := 1
		if z[0] == '-' {
			sign = -1
		}
		oh, _ := strconv.Atoi(z[1:3])
		om, _ := strconv.Atoi(z[4:6])
		os := 0
		if len(z) >= 9 {
			os, _ = strconv.Atoi(z[7:9])
		}
		if oh > 23 || om > 59 || os > 59 {
			return time.Time{}, fmt.Errorf("%q has an invalid UTC offset", s)
		}
		loc = time.FixedZone("", sign*(oh*3600+om*60+os))
	}
	if month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, fmt.Errorf("%q is out of range", s)
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc)
	if t.Day() != day || t.Month() != time.Month(month) {
		return time.Time{}, fmt.Errorf("%q is not a valid date", s)
	}
	return t, nil
}
