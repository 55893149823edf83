package validate_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/internal/pkgtest"
	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/validate"
)

var ctx = context.Background()

func run(v validate.Validator, files fstest.MapFS, version string) *validate.Report {
	var r validate.Report
	v.Validate(ctx, &validate.Package{FS: files, Version: version}, &r)
	return &r
}

func codes(r *validate.Report) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, string(f.Severity)+":"+f.Code+":"+f.Path)
	}
	return out
}

func TestDefaultAcceptsAValidPackage(t *testing.T) {
	r := run(validate.Default(nil), pkgtest.Files("1.0"), "1.0")
	assert.True(t, r.Valid(), "%v", codes(r))
	assert.Empty(t, r.Findings)
	assert.NoError(t, r.Err())
}

func TestDefaultReportsEveryProblemAtOnce(t *testing.T) {
	files := pkgtest.Files("1.0")
	delete(files, "README.md")                                                    // missing, and listed in the manifest
	files["requirements.txt"].Data = []byte("evil==1.0\n")                        // hash mismatch
	files["extra.txt"] = &fstest.MapFile{Data: []byte("x")}                       // unlisted
	files["metadata.json"].Data = []byte(`{"model_type": "X", "version": "1.0"}`) // two missing fields, hash mismatch
	r := run(validate.Default(nil), files, "1.0")
	assert.False(t, r.Valid())
	assert.ElementsMatch(t, []string{
		"error:missing_file:README.md",
		"error:invalid_manifest:extra.txt",
		"error:missing_file:README.md",
		"error:hash_mismatch:metadata.json",
		"error:hash_mismatch:requirements.txt",
		"warning:missing_metadata_field:metadata.json",
		"warning:missing_metadata_field:metadata.json",
		"warning:model_type_mismatch:metadata.json", // the test load found a RandomForestClassifier
	}, codes(r))

	err := r.Err()
	require.Error(t, err)
	assert.ErrorIs(t, err, modelpkg.ErrMissingFile)
	assert.ErrorIs(t, err, modelpkg.ErrHashMismatch)
	assert.ErrorIs(t, err, modelpkg.ErrInvalidManifest)
	assert.NotErrorIs(t, err, validate.ErrUnsafeModel)
	var verr *validate.Error
	require.ErrorAs(t, err, &verr)
	assert.Len(t, verr.Findings, 8, "the error carries warnings too")
}

func TestReportIsStable(t *testing.T) {
	files := pkgtest.Files("1.0")
	files["requirements.txt"].Data = []byte("changed\n")
	files["README.md"].Data = []byte("changed\n")
	first := codes(run(validate.Default(nil), files, "1.0"))
	for range 20 {
		assert.Equal(t, first, codes(run(validate.Default(nil), files, "1.0")))
	}
}

func TestMetadataTypesAndVersion(t *testing.T) {
	tests := []struct {
		name string
		md   string
		want []string
	}{
		{"null field", `{"model_type": null, "version": "1.0", "created_at": "2024-01-01T00:00:00", "training_info": {}}`, []string{"error:invalid_metadata:metadata.json"}},
		{"wrong type", `{"model_type": "X", "version": 1, "created_at": "2024-01-01T00:00:00", "training_info": {}}`, []string{"error:invalid_metadata:metadata.json"}},
		{"bad time", `{"model_type": "X", "version": "1.0", "created_at": "yesterday", "training_info": {}}`, []string{"error:invalid_metadata:metadata.json"}},
		{"not json", `{`, []string{"error:invalid_metadata:metadata.json"}},
		{"python isoformat with offset", `{"model_type": "X", "version": "1.0", "created_at": "2024-05-01T12:30:00.123456+02:00", "training_info": {}}`, nil},
		{"missing fields warn", `{}`, []string{"warning:missing_metadata_field:metadata.json", "warning:missing_metadata_field:metadata.json", "warning:missing_metadata_field:metadata.json", "warning:missing_metadata_field:metadata.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := fstest.MapFS{"metadata.json": {Data: []byte(tt.md)}}
			assert.Equal(t, tt.want, codes(run(validate.Metadata(nil), files, "1.0")))
		})
	}
	t.Run("version mismatch", func(t *testing.T) {
		assert.Equal(t, []string{"error:invalid_metadata:metadata.json"}, codes(run(validate.VersionMatch(), pkgtest.Files("1.0"), "2.0")))
		assert.Empty(t, codes(run(validate.VersionMatch(), pkgtest.Files("1.0"), "")), "an unknown file-name version passes")
	})
}

func TestMetadataText(t *testing.T) {
	const base = `"version": "1.0", "created_at": "2024-01-01T00:00:00"`
	tests := []struct {
		name string
		md   string
		want []string
	}{
		{"escape sequence in model_type", `{"model_type": "RF\u001b[2J", ` + base + `, "training_info": {}}`, []string{"error:invalid_metadata:metadata.json"}},
		{"newline in model_type", `{"model_type": "RF\nforged log line", ` + base + `, "training_info": {}}`, []string{"error:invalid_metadata:metadata.json"}},
		{"bidi override in model_type", `{"model_type": "\u202eRF", ` + base + `, "training_info": {}}`, []string{"error:invalid_metadata:metadata.json"}},
		{"1 MB model_type", `{"model_type": "` + strings.Repeat("X", 1<<20-100) + `", ` + base + `, "training_info": {}}`, []string{"error:invalid_metadata:metadata.json"}},
		{"escape in another field warns", `{"model_type": "RF", ` + base + `, "training_info": {}, "author": "eve\u001b]0;owned\u0007"}`, []string{"warning:unsafe_metadata_text:metadata.json"}},
		{"bidi deep in training_info warns once", `{"model_type": "RF", ` + base + `, "training_info": {"a": ["\u202e", {"b": "\u2066"}]}}`, []string{"warning:unsafe_metadata_text:metadata.json"}},
		{"bidi in a field name warns", `{"model_type": "RF", ` + base + `, "training_info": {}, "note\u202e": 1}`, []string{"warning:unsafe_metadata_text:metadata.json"}},
		{"multi-line description is fine", `{"model_type": "RF", ` + base + `, "training_info": {"notes": "line one\nline two\ttabbed"}, "description": "a\r\nb"}`, nil},
		{"non-ASCII text is fine", `{"model_type": "Modèle", ` + base + `, "training_info": {"auteur": "Zoë 张伟"}}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := fstest.MapFS{"metadata.json": {Data: []byte(tt.md)}}
			r := run(validate.Metadata(nil), files, "1.0")
			assert.Equal(t, tt.want, codes(r))
			for _, f := range r.Findings {
				assert.Less(t, len(f.Message), 400, "a finding never carries the value")
				assert.False(t, strings.ContainsAny(f.Message, "\x1b\u202e\u2066\n"), "a finding's message is escaped: %q", f.Message)
			}
		})
	}
	t.Run("the standard validators agree", func(t *testing.T) {
		files := pkgtest.Files("1.0")
		files["metadata.json"].Data = []byte(`{"model_type": "RandomForestClassifier\u001b[31m", ` + base + `, "training_info": {}}`)
		r := run(validate.Default(nil), files, "1.0")
		assert.False(t, r.Valid())
		assert.Contains(t, codes(r), "error:invalid_metadata:metadata.json")
		assert.NotContains(t, codes(r), "warning:model_type_mismatch:metadata.json", "an invalid model_type is not compared")
	})
}

func TestManifestAllowUnlisted(t *testing.T) {
	files := pkgtest.Files("1.0")
	files["notes.txt"] = &fstest.MapFile{Data: []byte("x")}
	r := run(validate.Manifest(&validate.ManifestOptions{AllowUnlisted: true}), files, "1.0")
	assert.True(t, r.Valid())
	assert.Equal(t, []string{"warning:unlisted_file:notes.txt"}, codes(r))
}

func TestSHA256UsesKnownDigests(t *testing.T) {
	files := pkgtest.Files("1.0")
	// A wrong precomputed digest proves the file was not read again.
	var r validate.Report
	validate.SHA256(nil).Validate(ctx, &validate.Package{FS: files, Digests: map[string]string{"README.md": "00"}}, &r)
	assert.Equal(t, []string{"error:hash_mismatch:README.md"}, codes(&r))
	// Rehash reads the file and finds it fine.
	r = validate.Report{}
	validate.SHA256(&validate.ManifestOptions{Rehash: true}).Validate(ctx, &validate.Package{FS: files, Digests: map[string]string{"README.md": "00"}}, &r)
	assert.Empty(t, codes(&r))
}

func TestRequiredFilesCustomLayout(t *testing.T) {
	layout := &modelpkg.Layout{Required: []string{"model.onnx", "metadata.json"}, ModelFile: "model.onnx", MetadataFile: "metadata.json", ManifestFile: "deployment_manifest.json"}
	r := run(validate.RequiredFiles(layout), pkgtest.Files("1.0"), "1.0")
	assert.Equal(t, []string{"error:missing_file:model.onnx"}, codes(r))
}

func TestLoadTest(t *testing.T) {
	boom := errors.New("boom")
	r := run(validate.LoadTest(func(ctx context.Context, pkg *validate.Package) error { return boom }), pkgtest.Files("1.0"), "1.0")
	assert.Equal(t, []string{"error:load_failed:model.joblib"}, codes(r))
	assert.ErrorIs(t, r.Err(), validate.ErrLoadFailed)
}

func TestAllMergesInOrderAndIsConcurrent(t *testing.T) {
	started := make(chan struct{}, 3)
	release := make(chan struct{})
	mk := func(code string) validate.Validator {
		return validate.Func(func(ctx context.Context, pkg *validate.Package, r *validate.Report) {
			started <- struct{}{}
			<-release
			r.Add(validate.Finding{Severity: validate.SeverityWarning, Code: code})
		})
	}
	done := make(chan *validate.Report)
	go func() { done <- run(validate.All(mk("a"), mk("b"), mk("c")), fstest.MapFS{}, "") }()
	for range 3 {
		select {
		case <-started:
		case <-time.After(5 * time.Second):
			t.Fatal("validators did not run concurrently")
		}
	}
	close(release)
	r := <-done
	assert.Equal(t, []string{"warning:a:", "warning:b:", "warning:c:"}, codes(r))
}

func TestFindingJSON(t *testing.T) {
	var r validate.Report
	r.Errorf(modelpkg.ErrHashMismatch, "model.joblib", "model.joblib: sha256 is %s", "ab")
	data, err := json.Marshal(r.Findings[0])
	require.NoError(t, err)
	assert.JSONEq(t, `{"severity":"error","code":"hash_mismatch","path":"model.joblib","message":"model.joblib: sha256 is ab"}`, string(data))
	data, err = json.Marshal(&validate.Report{})
	require.NoError(t, err)
	assert.JSONEq(t, `{"findings":[]}`, string(data))
}

func TestCanceledContext(t *testing.T) {
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	var r validate.Report
	validate.SHA256(&validate.ManifestOptions{Rehash: true}).Validate(cctx, &validate.Package{FS: pkgtest.Files("1.0")}, &r)
	assert.False(t, r.Valid())
	assert.ErrorIs(t, r.Err(), context.Canceled)
}

func TestScript(t *testing.T) {
	sh := "/bin/sh"
	files := func(script string) fstest.MapFS {
		f := pkgtest.Files("1.0")
		f["check.sh"] = &fstest.MapFile{Data: []byte(script)}
		return f
	}
	opts := func(timeout time.Duration) *validate.ScriptOptions {
		return &validate.ScriptOptions{Interpreter: sh, Script: "check.sh", Timeout: timeout}
	}
	t.Run("passes, in a copy of the package, with an empty environment", func(t *testing.T) {
		r := run(validate.Script(opts(0)), files(`test -f model.joblib && test -z "$HOME"`), "1.0")
		assert.True(t, r.Valid(), "%v", r.Findings)
	})
	t.Run("failure carries the output", func(t *testing.T) {
		r := run(validate.Script(opts(0)), files("echo accuracy too low; exit 3"), "1.0")
		require.False(t, r.Valid())
		assert.Equal(t, "script_failed", r.Findings[0].Code)
		assert.Contains(t, r.Findings[0].Message, "accuracy too low")
	})
	t.Run("timeout", func(t *testing.T) {
		r := run(validate.Script(opts(200*time.Millisecond)), files("sleep 10"), "1.0")
		require.False(t, r.Valid())
		assert.Contains(t, r.Findings[0].Message, "timed out")
	})
	t.Run("no interpreter configured", func(t *testing.T) {
		r := run(validate.Script(nil), pkgtest.Files("1.0"), "1.0")
		assert.False(t, r.Valid())
	})
}
