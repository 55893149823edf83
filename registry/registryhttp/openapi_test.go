package registryhttp

import (
	"encoding/json"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOpenAPIMatchesRoutes walks the routing table (checking that each
// route is what the mux really serves) and the OpenAPI document's paths
// and methods, and fails if they differ.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	h := New(nil, &Options{AllowUnauthenticated: true})
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(openAPI, &doc))
	require.True(t, strings.HasPrefix(doc.OpenAPI, "3."))

	concrete := regexp.MustCompile(`\{[^}]+\}`)
	var fromRoutes []string
	for _, rt := range routeTable() {
		// The mux must dispatch a concrete request to this very pattern.
		path := concrete.ReplaceAllString(strings.TrimSuffix(rt.path, "{$}"), "1.0")
		_, pattern := h.mux.Handler(httptest.NewRequest(rt.method, path, nil))
		require.Equal(t, rt.pattern(), pattern, "route %s is not what the mux serves", rt.pattern())
		if rt.ui {
			continue // the web UI is not part of the API document
		}
		fromRoutes = append(fromRoutes, rt.method+" "+rt.path)
	}
	var fromDoc []string
	for path, ops := range doc.Paths {
		for method, op := range ops {
			fromDoc = append(fromDoc, strings.ToUpper(method)+" "+path)
			assert.NotEmpty(t, op["operationId"], "%s %s", method, path)
			assert.NotEmpty(t, op["responses"], "%s %s", method, path)
		}
	}
	slices.Sort(fromRoutes)
	slices.Sort(fromDoc)
	assert.Equal(t, fromRoutes, fromDoc, "the OpenAPI document and the routes differ")
}

// TestOpenAPIErrorCodes checks that every status the handler can answer
// for an API route is described in the document.
func TestOpenAPIErrorCodes(t *testing.T) {
	var doc map[string]any
	require.NoError(t, json.Unmarshal(openAPI, &doc))
	desc := doc["info"].(map[string]any)["description"].(string)
	for _, code := range []string{"invalid_name", "unauthenticated", "no_authorizer", "cross_origin", "not_found",
		"version_exists", "in_use", "conflict", "invalid_version", "no_previous", "too_large", "validation_failed",
		"hash_mismatch", "unsafe_path", "load_failed", "internal"} {
		assert.Contains(t, desc, code)
	}
}
