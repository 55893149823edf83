package registryhttp_test

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/internal/pkgtest"
	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/registry/registryhttp"
)

// TestHostileModelType: a package whose metadata.model_type would drive
// a terminal or forge a log line is refused (422 invalid_metadata) by
// the dry run and the import alike, and the answer and the logs carry it
// escaped and cut, never raw.
func TestHostileModelType(t *testing.T) {
	var logs syncLog
	e := newEnv(t, &registryhttp.Options{
		Authorizer: registryhttp.BearerTokens(testToken),
		Logger:     slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	for name, mt := range map[string]string{
		"escape sequence": `RF\u001b]0;owned\u0007\u001b[2J`,
		"forged log line": `RF\ntime=2026-01-01 level=INFO msg=deployed version=9.9`,
		"bidi override":   `\u202eRF`,
		"1 MB":            strings.Repeat("R", 1<<20-200),
	} {
		t.Run(name, func(t *testing.T) {
			files := pkgFiles("1.0", "")
			files[modelpkg.DefaultMetadataFile].Data = []byte(`{"model_type": "` + mt + `", "version": "1.0", "created_at": "2024-01-01T00:00:00", "training_info": {}}`)
			data := pkgtest.Zip(t, files)
			for _, query := range []string{"?dry_run=true", ""} {
				resp, body := e.upload(query, modelpkg.FileName("1.0"), data)
				require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "%s", body)
				apiErr := errorOf(t, body)
				assert.Equal(t, "invalid_metadata", apiErr.Error.Code)
				assert.Less(t, len(body), 2048, "the answer never carries the value")
				for _, raw := range []string{"\x1b", "\u202e", "level=INFO msg=deployed"} {
					assert.NotContains(t, apiErr.Error.Message, raw)
					assert.NotContains(t, logs.String(), raw)
				}
			}
			assert.Empty(t, e.reg.List(nil))
		})
	}
	assert.NotContains(t, logs.String(), strings.Repeat("R", 1000))
}
