package modelpkg_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/modelpkg"
)

const hashA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

func TestParseManifest(t *testing.T) {
	in := `{"version": 2, "file_hashes": {"model.joblib": "` + strings.ToUpper(hashA) + `", "docs/a.md": "` + hashA + `"}, "created_by": {"tool": "x",  "n": [1, 2]}}`
	m, err := modelpkg.ParseManifest(strings.NewReader(in), nil)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"model.joblib": hashA, "docs/a.md": hashA}, m.FileHashes)
	assert.Len(t, m.Extra, 2)
	out, err := m.MarshalJSON()
	require.NoError(t, err)
	assert.Equal(t, `{"created_by":{"tool":"x","n":[1,2]},"file_hashes":{"docs/a.md":"`+hashA+`","model.joblib":"`+hashA+`"},"version":2}`, string(out))
	// Round trip is stable.
	m2, err := modelpkg.ParseManifest(strings.NewReader(string(out)), nil)
	require.NoError(t, err)
	out2, err := json.Marshal(m2)
	require.NoError(t, err)
	assert.Equal(t, string(out), string(out2))
}

func TestParseManifestRejects(t *testing.T) {
	h := `"` + hashA + `"`
	tests := map[string]struct {
		in   string
		want error
	}{
		"not json":         {`{`, modelpkg.ErrInvalidManifest},
		"array":            {`[]`, modelpkg.ErrInvalidManifest},
		"no file_hashes":   {`{}`, modelpkg.ErrInvalidManifest},
		"null file_hashes": {`{"file_hashes": null}`, modelpkg.ErrInvalidManifest},
		"hashes array":     {`{"file_hashes": []}`, modelpkg.ErrInvalidManifest},
		"hash number":      {`{"file_hashes": {"a": 1}}`, modelpkg.ErrInvalidManifest},
		"hash null":        {`{"file_hashes": {"a": null}}`, modelpkg.ErrInvalidManifest},
		"short hash":       {`{"file_hashes": {"a": "abc"}}`, modelpkg.ErrInvalidManifest},
		"non-hex hash":     {`{"file_hashes": {"a": "` + strings.Repeat("g", 64) + `"}}`, modelpkg.ErrInvalidManifest},
		"dot dot key":      {`{"file_hashes": {"../a": ` + h + `}}`, modelpkg.ErrInvalidManifest},
		"absolute key":     {`{"file_hashes": {"/a": ` + h + `}}`, modelpkg.ErrInvalidManifest},
		"dot slash key":    {`{"file_hashes": {"./a": ` + h + `}}`, modelpkg.ErrInvalidManifest},
		"backslash key":    {`{"file_hashes": {"a\\b": ` + h + `}}`, modelpkg.ErrInvalidManifest},
		"drive key":        {`{"file_hashes": {"C:/a": ` + h + `}}`, modelpkg.ErrInvalidManifest},
		"duplicate key":    {`{"file_hashes": {"a": ` + h + `, "a": ` + h + `}}`, modelpkg.ErrInvalidManifest},
		"duplicate field":  {`{"file_hashes": {}, "file_hashes": {}}`, modelpkg.ErrInvalidManifest},
		"trailing data":    {`{"file_hashes": {}} {}`, modelpkg.ErrInvalidManifest},
		"too deep":         {`{"file_hashes": {}, "x": ` + strings.Repeat("[", 65) + strings.Repeat("]", 65) + `}`, modelpkg.ErrResourceLimit},
		"too large":        {`{"file_hashes": {}, "x": "` + strings.Repeat("x", 9<<20) + `"}`, modelpkg.ErrResourceLimit},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := modelpkg.ParseManifest(strings.NewReader(tc.in), nil)
			require.ErrorIs(t, err, tc.want)
		})
	}
}

func TestManifestCheck(t *testing.T) {
	m := &modelpkg.Manifest{FileHashes: map[string]string{"a": hashA, "b": hashA}}
	_, err := m.Check([]string{"a", "b"}, false)
	require.NoError(t, err)
	_, err = m.Check([]string{"a"}, false)
	require.ErrorIs(t, err, modelpkg.ErrMissingFile)
	_, err = m.Check([]string{"a", "b", "d", "c"}, false)
	require.ErrorIs(t, err, modelpkg.ErrInvalidManifest)
	assert.Contains(t, err.Error(), "c, d")
	unlisted, err := m.Check([]string{"a", "b", "d", "c"}, true)
	require.NoError(t, err)
	assert.Equal(t, []string{"c", "d"}, unlisted)
}

func TestParseMetadata(t *testing.T) {
	in := `{"model_type": "RF", "version": "1.2", "created_at": "2024-05-01T12:30:00.123456+02:00", "training_info": {"a": 1}, "extra": true}`
	md, err := modelpkg.ParseMetadata(strings.NewReader(in), nil)
	require.NoError(t, err)
	assert.Equal(t, "RF", md.ModelType)
	assert.Equal(t, "1.2", md.Version)
	assert.True(t, md.CreatedAt.Equal(time.Date(2024, 5, 1, 10, 30, 0, 123456000, time.UTC)))
	assert.JSONEq(t, `{"a": 1}`, string(md.TrainingInfo))
	assert.Empty(t, md.Missing)
	assert.Len(t, md.Raw, 5)
	require.NoError(t, modelpkg.CheckVersion("1.2", md))
	require.ErrorIs(t, modelpkg.CheckVersion("1.3", md), modelpkg.ErrInvalidMetadata)

	md, err = modelpkg.ParseMetadata(strings.NewReader(`{"model_type": "RF"}`), nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"version", "created_at", "training_info"}, md.Missing)
	require.NoError(t, modelpkg.CheckVersion("1.3", md), "a missing version is a warning")
}

func TestParseMetadataRejects(t *testing.T) {
	tests := map[string]struct {
		in   string
		want error
	}{
		"not json":            {`nope`, modelpkg.ErrInvalidMetadata},
		"array":               {`[1]`, modelpkg.ErrInvalidMetadata},
		"null document":       {`null`, modelpkg.ErrInvalidMetadata},
		"model_type number":   {`{"model_type": 1}`, modelpkg.ErrInvalidMetadata},
		"version null":        {`{"version": null}`, modelpkg.ErrInvalidMetadata},
		"version number":      {`{"version": 1.2}`, modelpkg.ErrInvalidMetadata},
		"created_at bad":      {`{"created_at": "yesterday"}`, modelpkg.ErrInvalidMetadata},
		"created_at empty":    {`{"created_at": ""}`, modelpkg.ErrInvalidMetadata},
		"created_at Feb 30":   {`{"created_at": "2024-02-30T00:00:00"}`, modelpkg.ErrInvalidMetadata},
		"training_info array": {`{"training_info": []}`, modelpkg.ErrInvalidMetadata},
		"training_info null":  {`{"training_info": null}`, modelpkg.ErrInvalidMetadata},
		"duplicate version":   {`{"version": "1", "version": "2"}`, modelpkg.ErrInvalidMetadata},
		"trailing data":       {`{} x`, modelpkg.ErrInvalidMetadata},
		"too deep":            {`{"training_info": ` + strings.Repeat(`{"a":`, 64) + `1` + strings.Repeat(`}`, 64) + `}`, modelpkg.ErrResourceLimit},
		"too large":           {`{"x": "` + strings.Repeat("x", 1<<20) + `"}`, modelpkg.ErrResourceLimit},
		"deep in a string ok": {`{"x": "` + strings.Repeat("[", 100) + `", "y": [`, modelpkg.ErrInvalidMetadata},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := modelpkg.ParseMetadata(strings.NewReader(tc.in), nil)
			require.ErrorIs(t, err, tc.want)
		})
	}
}

// TestMetadataTextBounds: model_type and version are shown on one line
// by every interface; hostile ones are invalid metadata, and the error
// quotes them escaped and cut.
func TestMetadataTextBounds(t *testing.T) {
	huge := strings.Repeat("A", 1<<20-64)
	tests := map[string]struct {
		in, want string
	}{
		"model_type of 1 MB":     {`{"model_type": "` + huge + `"}`, "is 1048512 bytes long, more than 256"},
		"model_type one over":    {`{"model_type": "` + strings.Repeat("A", modelpkg.MaxModelTypeLen+1) + `"}`, "more than 256"},
		"escape sequence":        {`{"model_type": "RF\u001b]0;pwned\u0007"}`, "a control character (U+001B at byte 2)"},
		"newline":                {`{"model_type": "RF\nINFO deployed 9.9"}`, "a line break (U+000A at byte 2)"},
		"carriage return":        {`{"model_type": "RF\rX"}`, "a line break"},
		"unicode line separator": {`{"model_type": "RF\u2028X"}`, "a line break"},
		"C1 control":             {`{"model_type": "RF\u009bX"}`, "a control character"},
		"bidi override":          {`{"model_type": "RF\u202eRLT"}`, "an invisible formatting character (U+202E at byte 2)"},
		"bidi isolate":           {`{"model_type": "\u2067RF"}`, "an invisible formatting character"},
		"zero-width space":       {`{"model_type": "Random\u200bForest"}`, "an invisible formatting character"},
		"NUL":                    {`{"model_type": "RF\u0000"}`, "a control character"},
		"invalid UTF-8":          {"{\"model_type\": \"RF\xff\"}", "not valid UTF-8"},
		"version with escape":    {`{"version": "1.0\u001b[2J"}`, "a control character"},
		"version too long":       {`{"version": "` + strings.Repeat("1", modelpkg.MaxVersionLen+1) + `"}`, "more than 128"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := modelpkg.ParseMetadata(strings.NewReader(tc.in), nil)
			require.ErrorIs(t, err, modelpkg.ErrInvalidMetadata)
			assert.Contains(t, err.Error(), tc.want)
			assert.Less(t, len(err.Error()), 300, "the error never carries the value")
			assert.NotContains(t, err.Error(), "\x1b")
			assert.NotContains(t, err.Error(), "\u202e")
		})
	}
	t.Run("class names pass", func(t *testing.T) {
		for _, mt := range []string{"RandomForestClassifier", "sklearn.pipeline.Pipeline", "Modèle à la carte", "模型", strings.Repeat("A", modelpkg.MaxModelTypeLen)} {
			md, err := modelpkg.ParseMetadata(strings.NewReader(`{"model_type": "`+mt+`"}`), nil)
			require.NoError(t, err, mt)
			assert.Equal(t, mt, md.ModelType)
		}
	})
	t.Run("long created_at is cut in the message", func(t *testing.T) {
		_, err := modelpkg.ParseMetadata(strings.NewReader(`{"created_at": "2024-01-01T00:00:00`+huge+`"}`), nil)
		require.ErrorIs(t, err, modelpkg.ErrInvalidMetadata)
		assert.Less(t, len(err.Error()), 300)
	})
	t.Run("version mismatch is cut in the message", func(t *testing.T) {
		md := &modelpkg.Metadata{Version: strings.Repeat("9", 100) + "\x1b[2J"}
		err := modelpkg.CheckVersion("1.0", md)
		require.ErrorIs(t, err, modelpkg.ErrInvalidMetadata)
		assert.NotContains(t, err.Error(), "\x1b")
		assert.Contains(t, err.Error(), "(104 bytes)")
	})
}

func TestCheckText(t *testing.T) {
	require.NoError(t, modelpkg.CheckText("plain text, with ünïcödé", 0))
	require.NoError(t, modelpkg.CheckText("", 1))
	require.Error(t, modelpkg.CheckText("ab", 1))
	require.Error(t, modelpkg.CheckText("a\tb", 0), "a tab is a control character")
	require.Error(t, modelpkg.CheckText("\ufeffBOM", 0))
	assert.Equal(t, `"a\x1b"`, modelpkg.Excerpt("a\x1b"))
	long := strings.Repeat("é", 40) // 80 bytes: cut at a rune boundary
	ex := modelpkg.Excerpt(long)
	assert.Equal(t, strconv.Quote(strings.Repeat("é", 32))+"... (80 bytes)", ex)
}

func TestParseISOTime(t *testing.T) {
	utc := time.UTC
	tests := map[string]time.Time{
		"2024-05-01T12:30:00":                 time.Date(2024, 5, 1, 12, 30, 0, 0, utc),
		"2024-05-01 12:30:00":                 time.Date(2024, 5, 1, 12, 30, 0, 0, utc),
		"2024-05-01T12:30:00.123456":          time.Date(2024, 5, 1, 12, 30, 0, 123456000, utc),
		"2024-05-01T12:30:00.123":             time.Date(2024, 5, 1, 12, 30, 0, 123000000, utc),
		"2024-05-01T12:30:00+00:00":           time.Date(2024, 5, 1, 12, 30, 0, 0, utc),
		"2024-05-01T12:30:00.5-05:30":         time.Date(2024, 5, 1, 18, 0, 0, 500000000, utc),
		"2024-05-01T12:30:00+01:00:30":        time.Date(2024, 5, 1, 11, 29, 30, 0, utc),
		"2024-05-01T12:30:00+01:00:30.123456": time.Date(2024, 5, 1, 11, 29, 30, 0, utc),
		"2024-05-01T12:30:00Z":                time.Date(2024, 5, 1, 12, 30, 0, 0, utc),
		"2024-05-01T12:30":                    time.Date(2024, 5, 1, 12, 30, 0, 0, utc),
		"2024-05-01T12":                       time.Date(2024, 5, 1, 12, 0, 0, 0, utc),
		"2024-05-01":                          time.Date(2024, 5, 1, 0, 0, 0, 0, utc),
	}
	for in, want := range tests {
		got, err := modelpkg.ParseISOTime(in)
		require.NoError(t, err, in)
		assert.True(t, want.Equal(got), "%s: got %v want %v", in, got, want)
	}
	for _, in := range []string{"", "2024-5-1", "2024-05-01T25:00:00", "2024-13-01", "2024-05-01T12:30:00+24:00", "2024-05-01T12:30:00 +01:00", "20240501T123000"} {
		_, err := modelpkg.ParseISOTime(in)
		assert.Error(t, err, in)
	}
}
