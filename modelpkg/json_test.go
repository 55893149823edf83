package modelpkg_test

import (
	"encoding/json"
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
