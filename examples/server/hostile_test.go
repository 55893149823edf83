package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHostileIdleConnectionIsClosed(t *testing.T) {
	addr := startService(t, &config{idle: 50 * time.Millisecond})
	c := dial(t, addr)
	br := bufio.NewReader(c)
	resp, _ := roundTrip(t, c, br, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.False(t, resp.Close, "keep-alive")
	_, err := br.ReadByte()
	assert.ErrorIs(t, err, io.EOF, "the idle keep-alive connection is closed by the server")
}

func TestHostileConnectionLimit(t *testing.T) {
	addr := startService(t, &config{maxConns: 2})
	var held []net.Conn
	for range 2 {
		c := dial(t, addr)
		br := bufio.NewReader(c)
		resp, _ := roundTrip(t, c, br, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		held = append(held, c)
	}
	third := dial(t, addr)
	_, err := io.WriteString(third, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	require.NoError(t, err)
	br := bufio.NewReader(third)
	// With two connections served, the third is not: no answer while
	// they are open (a short look; the assertion cannot fail by
	// slowness), and an answer once one closes.
	require.NoError(t, third.SetReadDeadline(time.Now().Add(100*time.Millisecond)))
	_, err = br.ReadByte()
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	require.True(t, ne.Timeout(), "%v", err)
	held[0].Close()
	require.NoError(t, third.SetReadDeadline(time.Now().Add(safety)))
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestHostileRequests(t *testing.T) {
	addr := startService(t, &config{})
	do := func(req string) (*http.Response, string) {
		c := dial(t, addr)
		return roundTrip(t, c, bufio.NewReader(c), req)
	}
	t.Run("dns rebinding host is refused", func(t *testing.T) {
		resp, body := do("POST /registry/models/1.0/deploy HTTP/1.1\r\nHost: rebind.example:8080\r\nOrigin: http://rebind.example:8080\r\nContent-Length: 0\r\n\r\n")
		assert.Equal(t, http.StatusMisdirectedRequest, resp.StatusCode, body)
		assert.Contains(t, body, `"misdirected_host"`)
		resp, body = do("GET /predict HTTP/1.1\r\nHost: rebind.example\r\n\r\n")
		assert.Equal(t, http.StatusMisdirectedRequest, resp.StatusCode, body)
	})
	t.Run("health probes answer any host", func(t *testing.T) {
		resp, body := do("GET /healthz HTTP/1.1\r\nHost: 10.1.2.3:8080\r\n\r\n")
		assert.Equal(t, http.StatusOK, resp.StatusCode, body)
	})
	t.Run("readyz before a model is loaded", func(t *testing.T) {
		resp, body := do("GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, body)
		assert.Contains(t, body, `"ready":false`)
	})
	t.Run("unknown paths answer JSON", func(t *testing.T) {
		resp, body := do("GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
		assert.Equal(t, http.StatusNotFound, resp.StatusCode)
		assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
		assert.Contains(t, body, `"not_found"`)
	})
	t.Run("refused upload is answered without its body", func(t *testing.T) {
		c := dial(t, addr)
		_, err := io.WriteString(c, "POST /registry/models/import HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: 200000\r\n\r\n--B")
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		assert.True(t, resp.Close)
	})
}

func TestPredictRejectsNonFinite(t *testing.T) {
	addr := startService(t, &config{})
	for _, body := range []string{`{"features":[1e308,1e308,1e308,1e308]}`, `{"features":[5.1,3.5,1.4,-1e300]}`} {
		c := dial(t, addr)
		req := "POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
			strconv.Itoa(len(body)) + "\r\n\r\n" + body
		resp, got := roundTrip(t, c, bufio.NewReader(c), req)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, got)
		assert.Contains(t, got, `"bad_request"`)
	}
}

func TestTokenFileIsPrivate(t *testing.T) {
	p := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(p, nil, 0o644))
	require.NoError(t, writeTokenFile(p, "abc"))
	fi, err := os.Stat(p)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, "abc\n", string(data))
}
