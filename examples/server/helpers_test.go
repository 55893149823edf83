package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// safety bounds raw reads so that a broken server fails a test instead of
// hanging it; no test waits for it to pass.
const safety = 20 * time.Second

// startService runs the service with cfg on a free loopback port, until
// the test ends; the store defaults to a new directory and the token to
// "secret".
func startService(t *testing.T, cfg *config) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	if cfg.store == "" {
		cfg.store = t.TempDir()
	}
	if cfg.token == "" {
		cfg.token = "secret"
	}
	cfg.logger = slog.New(slog.DiscardHandler)
	done := make(chan error, 1)
	go func() { done <- run(ctx, ln, cfg) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(safety):
			t.Error("server did not stop")
		}
	})
	return ln.Addr().String()
}

// dial opens a raw connection to addr, closed when the test ends.
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	require.NoError(t, c.SetDeadline(time.Now().Add(safety)))
	return c
}

// roundTrip sends a raw request on c and reads the response.
func roundTrip(t *testing.T, c net.Conn, br *bufio.Reader, req string) (*http.Response, string) {
	t.Helper()
	_, err := io.WriteString(c, req)
	require.NoError(t, err)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(body)
}

// send sends an authorised request to the service at base (a URL) and
// returns the status and the body.
func send(t *testing.T, base, method, path, ctype string, body io.Reader) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, body)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer secret")
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, data
}

// sendJSON is send for an answer in JSON.
func sendJSON(t *testing.T, base, method, path, ctype string, body io.Reader) (int, map[string]any) {
	t.Helper()
	code, data := send(t, base, method, path, ctype, body)
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m), "%s", data)
	return code, m
}

// uploadForm is a multipart form holding data as the upload of name.
func uploadForm(t *testing.T, name string, data []byte) (form io.Reader, ctype string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, err := mw.CreateFormFile("file", name)
	require.NoError(t, err)
	_, err = fw.Write(data)
	require.NoError(t, err)
	require.NoError(t, mw.Close())
	return &b, mw.FormDataContentType()
}
