package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNoPlainTextAnswers sends the requests that Go's ServeMux answers
// with an HTML redirect or a plain-text 404 and checks that the service
// answers each with its JSON error.
func TestNoPlainTextAnswers(t *testing.T) {
	addr := startService(t, &config{})
	tests := []struct {
		name, req string
		status    int
	}{
		{"dot-dot", "GET /registry/../healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", http.StatusNotFound},
		{"empty segment", "GET //healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", http.StatusNotFound},
		{"dot-dot in the inference API", "GET /v2/models/x/../../healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", http.StatusNotFound},
		{"dot segment in the registry", "GET /registry/./models HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", http.StatusNotFound},
		{"connect to a host", "CONNECT 127.0.0.1:80 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", http.StatusNotFound},
		{"wrong method", "POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, addr)
			resp, body := roundTrip(t, c, bufio.NewReader(c), tt.req)
			require.Equal(t, tt.status, resp.StatusCode, body)
			assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			assert.Empty(t, resp.Header.Get("Location"))
			var e errorJSON
			require.NoError(t, json.Unmarshal([]byte(body), &e), body)
			assert.NotEmpty(t, e.Error.Code)
		})
	}
	t.Run("the UI's mount without its slash redirects without a body", func(t *testing.T) {
		c := dial(t, addr)
		resp, body := roundTrip(t, c, bufio.NewReader(c), "GET /registry?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
		require.Equal(t, http.StatusPermanentRedirect, resp.StatusCode, body)
		assert.Equal(t, "/registry/?x=1", resp.Header.Get("Location"))
		assert.Empty(t, body)
	})
}

func TestPanicIsAJSONFault(t *testing.T) {
	var logs bytes.Buffer
	h := jsonErrors(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/before":
			panic("model runtime bug at /secret/path")
		case "/after":
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(`{"partial":`))
			panic("bug after the answer began")
		}
	}), slog.New(slog.NewTextHandler(&logs, nil)))

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/before", nil))
	require.Equal(t, http.StatusInternalServerError, rec.Code)
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	var e errorJSON
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e))
	assert.Equal(t, "internal", e.Error.Code)
	assert.NotContains(t, rec.Body.String(), "secret")
	assert.Contains(t, logs.String(), "model runtime bug", "the panic is logged")
	assert.Contains(t, logs.String(), "stack=")

	rec = httptest.NewRecorder()
	assert.PanicsWithValue(t, http.ErrAbortHandler, func() {
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/after", nil))
	}, "an answer already begun is cut off, not finished with a second status")
	assert.Equal(t, http.StatusOK, rec.Code)
}
