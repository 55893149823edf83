package registryhttp_test

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/registry/registryhttp"
)

// rawRequest sends req on a new connection to e's server and returns the
// answer with its body, or the error reading it.
func rawRequest(t *testing.T, e *env, req string) (*http.Response, []byte, error) {
	t.Helper()
	c := rawConn(t, e)
	_, err := io.WriteString(c, req)
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body, nil
}

// requireJSONError checks that an answer is the API's JSON error with
// status and code.
func requireJSONError(t *testing.T, resp *http.Response, body []byte, status int, code string) {
	t.Helper()
	require.Equal(t, status, resp.StatusCode, "%s", body)
	assert.Equal(t, "application/json; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Equal(t, code, errorOf(t, body).Error.Code)
}

// TestNoPlainTextAnswers sends the requests for which Go's ServeMux or
// server would answer in plain text or HTML (or not at all) if the
// handler let them, and checks that each answer is the API's JSON error.
func TestNoPlainTextAnswers(t *testing.T) {
	e := newEnv(t, nil)
	auth := "Authorization: Bearer " + testToken + "\r\n"
	tests := []struct {
		name, req string
		status    int
		code      string
	}{
		// The mux redirects these to the cleaned path with an HTML body.
		{"dot segment", "GET /models/./1.0 HTTP/1.1\r\nHost: h\r\n" + auth + "\r\n", 404, "not_found"},
		{"dot-dot segment", "GET /models/../models HTTP/1.1\r\nHost: h\r\n" + auth + "\r\n", 404, "not_found"},
		{"empty segment", "GET //models HTTP/1.1\r\nHost: h\r\n" + auth + "\r\n", 404, "not_found"},
		{"dot-dot to nowhere", "POST /staged/../../x HTTP/1.1\r\nHost: h\r\n" + auth + "Content-Length: 0\r\n\r\n", 404, "not_found"},
		{"asterisk", "DELETE * HTTP/1.1\r\nHost: h\r\n" + auth + "\r\n", 404, "not_found"},
		// The mux answers these in plain text.
		{"unknown path", "GET /nope HTTP/1.1\r\nHost: h\r\n" + auth + "\r\n", 404, "not_found"},
		{"wrong method", "PUT /models HTTP/1.1\r\nHost: h\r\n" + auth + "Content-Length: 0\r\n\r\n", 405, "method_not_allowed"},
		{"connect", "CONNECT /models HTTP/1.1\r\nHost: h\r\n" + auth + "\r\n", 405, "method_not_allowed"},
		// Multipart errors the parser reports before the handler sees a part.
		{"no boundary", "POST /models/import HTTP/1.1\r\nHost: h\r\n" + auth + "Content-Type: multipart/form-data\r\nContent-Length: 3\r\n\r\nabc", 400, "bad_request"},
		{"not multipart", "POST /models/import HTTP/1.1\r\nHost: h\r\n" + auth + "Content-Type: application/zip\r\nContent-Length: 2\r\n\r\nPK", 400, "bad_request"},
		{"garbage body", "POST /models/import HTTP/1.1\r\nHost: h\r\n" + auth + "Content-Type: multipart/form-data; boundary=B\r\nContent-Length: 9\r\n\r\nno parts!", 400, "bad_request"},
		{"bad part header", "POST /models/import HTTP/1.1\r\nHost: h\r\n" + auth + "Content-Type: multipart/form-data; boundary=B\r\nContent-Length: 22\r\n\r\n--B\r\nno colon here\r\n\r\n", 400, "bad_request"},
		{"cut-off part", "POST /models/import HTTP/1.1\r\nHost: h\r\n" + auth + "Content-Type: multipart/form-data; boundary=B\r\nContent-Length: 87\r\n\r\n" +
			"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"model_1.0_deployment.zip\"\r\n\r\nPK", 400, "bad_request"},
		{"bad content disposition", "POST /models/import HTTP/1.1\r\nHost: h\r\n" + auth + "Content-Type: multipart/form-data; boundary=B\r\nContent-Length: 47\r\n\r\n" +
			"--B\r\nContent-Disposition: form-data; name=\"file\r\n\r\n", 400, "bad_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body, err := rawRequest(t, e, tt.req)
			require.NoError(t, err)
			requireJSONError(t, resp, body, tt.status, tt.code)
			assert.Empty(t, resp.Header.Get("Location"), "no redirect")
		})
	}
	assert.Empty(t, dirEntries(t, e), "nothing is left spooled")
}

func TestPanicIsAJSONFault(t *testing.T) {
	var logs syncLog
	e := newEnv(t, &registryhttp.Options{
		Authorizer: registryhttp.AuthorizerFunc(func(r *http.Request) (string, error) {
			switch r.Header.Get("X-Panic") {
			case "value":
				panic("the authorizer's database handle is nil at /secret/path")
			case "abort":
				panic(http.ErrAbortHandler)
			}
			return "someone", nil
		}),
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})

	t.Run("before anything is written: a JSON 500", func(t *testing.T) {
		resp, body, err := rawRequest(t, e, "GET /models HTTP/1.1\r\nHost: h\r\nX-Panic: value\r\n\r\n")
		require.NoError(t, err, "net/http alone would close the connection without an answer")
		requireJSONError(t, resp, body, http.StatusInternalServerError, "internal")
		assert.NotContains(t, string(body), "secret", "the panic is not described in the answer")
		assert.Contains(t, logs.String(), "database handle is nil", "the panic is logged")
		assert.Contains(t, logs.String(), "stack=", "with its stack")
	})
	t.Run("the connection still serves", func(t *testing.T) {
		resp, body := e.call("GET", "/models")
		assert.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	})
	t.Run("http.ErrAbortHandler still aborts", func(t *testing.T) {
		_, _, err := rawRequest(t, e, "GET /models HTTP/1.1\r\nHost: h\r\nX-Panic: abort\r\n\r\n")
		require.Error(t, err, "an aborted request gets no answer")
	})
}

// syncLog is a log destination safe for the handler's goroutines and the
// test reading it.
type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
