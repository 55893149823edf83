package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestModelFlag addresses two models of one store with --model and
// $MODELVAULT_MODEL, and lists them with 'modelctl models'.
func TestModelFlag(t *testing.T) {
	store := t.TempDir()
	p1, p2 := packVersion(t, "1.0"), packVersion(t, "2.0")
	ctlJSON(t, 0, "--store", store, "--model", "fraud", "import", p1)
	ctlJSON(t, 0, "--store", store, "import", p2, "--model", "fraud")
	t.Setenv("MODELVAULT_MODEL", "churn")
	ctlJSON(t, 0, "--store", store, "import", p2)
	ctlJSON(t, 0, "--store", store, "deploy", "2.0")
	ctlJSON(t, 0, "--store", store, "--model", "fraud", "deploy", "1.0")

	versions := func(args ...string) []string {
		m := ctlJSON(t, 0, append([]string{"--store", store, "list"}, args...)...)
		var out []string
		for _, v := range m["versions"].([]any) {
			out = append(out, v.(map[string]any)["version"].(string))
		}
		return out
	}
	assert.Equal(t, []string{"2.0", "1.0"}, versions("--model", "fraud"))
	assert.Equal(t, []string{"2.0"}, versions(), "$MODELVAULT_MODEL")
	m := ctlJSON(t, 1, "--store", store, "show", "1.0")
	assert.Equal(t, "not_found", m["error"].(map[string]any)["code"], "churn has no 1.0")

	t.Run("models", func(t *testing.T) {
		m := ctlJSON(t, 0, "--store", store, "models")
		assert.Equal(t, []any{
			map[string]any{"name": "churn", "versions": 1.0, "deployed": "2.0", "model_type": "RandomForestClassifier"},
			map[string]any{"name": "fraud", "versions": 2.0, "deployed": "1.0", "model_type": "RandomForestClassifier"},
		}, m["models"])
		code, out, _ := ctl(t, "--store", store, "models")
		require.Equal(t, 0, code)
		assert.Regexp(t, `(?m)^churn\s+1\s+2\.0\s+RandomForestClassifier$`, out)
		assert.Regexp(t, `(?m)^fraud\s+2\s+1\.0\s+RandomForestClassifier$`, out)
		m = ctlJSON(t, 0, "--store", t.TempDir(), "models")
		assert.Equal(t, []any{}, m["models"])
	})
	t.Run("without --model, a hint", func(t *testing.T) {
		t.Setenv("MODELVAULT_MODEL", "")
		code, out, errs := ctl(t, "--store", store, "list")
		require.Equal(t, 0, code, errs)
		assert.Contains(t, out, "no versions")
		assert.Contains(t, errs, "(churn, fraud): pass --model NAME")
	})
	t.Run("invalid names", func(t *testing.T) {
		for _, name := range []string{"Fraud", "../x", "a/b", "con"} {
			code, _, errs := ctl(t, "--store", store, "--model", name, "list")
			assert.Equal(t, 2, code, "%q: %s", name, errs)
			assert.Contains(t, errs, "invalid model name")
		}
	})
	t.Run("help", func(t *testing.T) {
		_, out, _ := ctl(t, "help")
		assert.Contains(t, out, "--model NAME")
		_, out, _ = ctl(t, "help", "init")
		assert.Contains(t, out, "--model", "init keeps its own --model FILE")
		_, out, _ = ctl(t, "help", "list")
		assert.NotContains(t, out, "  --model", "the global flag is not listed as list's own")
	})
}
