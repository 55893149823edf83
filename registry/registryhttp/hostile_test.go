package registryhttp_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/registry/registryhttp"
)

// safety bounds a raw connection's reads in these tests: a limit that a
// correct server never comes near, so that a broken one fails the test
// instead of hanging it. No test waits for it to pass.
const safety = 20 * time.Second

// rawConn dials the env's server.
func rawConn(t *testing.T, e *env) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	require.NoError(t, c.SetDeadline(time.Now().Add(safety)))
	return c
}

// startUpload writes an upload's headers and the start of its multipart
// body (the file part's headers and head of data) to c, declaring
// contentLength, and leaves the rest unsent.
func startUpload(t *testing.T, c net.Conn, auth string, contentLength int) {
	t.Helper()
	head := "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"model_1.0_deployment.zip\"\r\n\r\nPK"
	req := "POST /models/import HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=B\r\n" +
		auth + fmt.Sprintf("Content-Length: %d\r\n\r\n", contentLength) + head
	_, err := io.WriteString(c, req)
	require.NoError(t, err)
}

// openSpools counts this process's open upload spool files in dir, named
// or not (Linux: from /proc/self/fd).
func openSpools(t *testing.T, dir string) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	n := 0
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.HasPrefix(target, filepath.Join(dir, "modelvault-upload-")) {
			n++
		}
	}
	return n
}

// spooling waits until n uploads are being received.
func spooling(t *testing.T, e *env, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		uploads, _ := registryhttp.SpoolState(e.h)
		return uploads >= n
	}, safety, 5*time.Millisecond)
}

func TestHostileRefusedUploadIsAnsweredAndClosed(t *testing.T) {
	e := newEnv(t, nil)
	c := rawConn(t, e)
	// No credentials, a declared body under the 256 KiB that Go's server
	// would read before answering, a few bytes of it sent: the answer
	// must come at once, without reading the body, and close.
	startUpload(t, c, "", 200<<10)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err, "the refusal must not wait for the body")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.True(t, resp.Close, "a refused upload's connection is closed")
	_, _ = io.Copy(io.Discard, resp.Body)
	_, err = c.Read(make([]byte, 1))
	assert.ErrorIs(t, err, io.EOF, "the server closes the connection")
}

func TestHostileSlowUploadIsCutOff(t *testing.T) {
	e := newEnv(t, &registryhttp.Options{
		Authorizer:    registryhttp.BearerTokens(testToken),
		UploadGrace:   50 * time.Millisecond,
		MinUploadRate: 1 << 20,
	})
	c := rawConn(t, e)
	startUpload(t, c, "Authorization: Bearer "+testToken+"\r\n", 10<<20)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err, "a stalled upload must be answered, not held")
	body, _ := io.ReadAll(resp.Body)
	assert.Equal(t, http.StatusRequestTimeout, resp.StatusCode, "%s", body)
	assert.Equal(t, "too_slow", errorOf(t, body).Error.Code)
	assert.True(t, resp.Close)
	require.Eventually(t, func() bool { return len(dirEntries(t, e)) == 0 }, safety, 5*time.Millisecond,
		"the spool file is removed")
}

func TestHostileUploadsAreCapped(t *testing.T) {
	t.Run("concurrent uploads", func(t *testing.T) {
		e := newEnv(t, &registryhttp.Options{Authorizer: registryhttp.BearerTokens(testToken), MaxUploads: 1, UploadGrace: time.Hour})
		stalled := rawConn(t, e)
		startUpload(t, stalled, "Authorization: Bearer "+testToken+"\r\n", 1<<20)
		spooling(t, e, 1)
		if runtime.GOOS == "linux" {
			// The upload's spool is open, and has no name a killed
			// server could leave behind.
			require.Eventually(t, func() bool { return openSpools(t, e.tmp) == 1 }, safety, 5*time.Millisecond)
			assert.Empty(t, dirEntries(t, e), "the spool is unlinked")
		}
		resp, body := e.upload("", "model_1.0_deployment.zip", validZip(t, "1.0"))
		require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "%s", body)
		assert.Equal(t, "busy", errorOf(t, body).Error.Code)
		assert.NotEmpty(t, resp.Header.Get("Retry-After"))

		stalled.Close() // the stalled upload ends: its slot is free again
		require.Eventually(t, func() bool {
			resp, _ := e.upload("", "model_1.0_deployment.zip", validZip(t, "1.0"))
			return resp.StatusCode == http.StatusCreated
		}, safety, 10*time.Millisecond)
	})
	t.Run("spooled bytes", func(t *testing.T) {
		e := newEnv(t, &registryhttp.Options{Authorizer: registryhttp.BearerTokens(testToken),
			MaxUploadSize: 1 << 20, MaxSpoolBytes: 1 << 20, UploadGrace: time.Hour})
		stalled := rawConn(t, e)
		startUpload(t, stalled, "Authorization: Bearer "+testToken+"\r\n", 1<<20-1)
		spooling(t, e, 1)
		resp, body := e.upload("", "model_1.0_deployment.zip", validZip(t, "1.0"))
		require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "%s", body)
		assert.NotEmpty(t, resp.Header.Get("Retry-After"))
	})
}

func TestHostileFreeText(t *testing.T) {
	e := newEnv(t, nil)
	e.mustImport("1.0")
	long := strings.Repeat("x", 2000)
	for name, tc := range map[string]struct {
		path string
		hdr  map[string]string
	}{
		"escape in reason":     {path: "/models/1.0/deploy?reason=" + url.QueryEscape("ok\x1b[2Jgone")},
		"newline in reason":    {path: "/models/1.0/deploy?reason=" + url.QueryEscape("a\nb")},
		"bidi override reason": {path: "/models/1.0/deploy?reason=" + url.QueryEscape("a\u202eb")},
		"huge reason":          {path: "/models/1.0/deploy?reason=" + long},
		"huge model":           {path: "/models?model=" + strings.Repeat("m", 900<<10)},
		"escape in actor":      {path: "/models/1.0/deploy", hdr: map[string]string{"X-Modelvault-Actor": "eve\x1b]0;pwned\x07"}},
		"huge actor":           {path: "/models/1.0/deploy", hdr: map[string]string{"X-Modelvault-Actor": long}},
		"invalid utf-8 reason": {path: "/models/1.0/deploy?reason=%ff%fe"},
	} {
		t.Run(name, func(t *testing.T) {
			hdr := e.auth()
			for k, v := range tc.hdr {
				hdr[k] = v
			}
			method := "POST"
			if strings.HasPrefix(tc.path, "/models?") {
				method = "GET"
			}
			req, err := http.NewRequest(method, e.srv.URL+tc.path, nil)
			require.NoError(t, err)
			for k, v := range hdr {
				req.Header[k] = []string{v} // as sent, unvalidated
			}
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				return // the client itself refused to send it: nothing stored either
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%.200s", body)
		})
	}
	hist, err := e.reg.History(context.Background(), nil)
	require.NoError(t, err)
	for _, ev := range hist {
		assert.NotEqual(t, registry.EventDeployed, ev.Type, "nothing was deployed: %+v", ev)
	}
}

func TestHostileHostCheck(t *testing.T) {
	e := newEnv(t, &registryhttp.Options{AllowUnauthenticated: true, PublicReads: true,
		AllowedHosts: []string{"127.0.0.1", "localhost"}})
	e.mustImport("1.0")
	// A DNS-rebinding page: its Origin matches the Host it sends, so the
	// cross-origin check alone would pass it.
	hdr := map[string]string{"Origin": "http://rebind.example:8080"}
	req, err := http.NewRequest("POST", e.srv.URL+"/models/1.0/deploy", nil)
	require.NoError(t, err)
	req.Host = "rebind.example:8080"
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusMisdirectedRequest, resp.StatusCode, "%s", body)
	assert.Equal(t, "misdirected_host", errorOf(t, body).Error.Code)
	_, err = e.reg.Deployed()
	assert.Error(t, err, "nothing was deployed")

	resp, body = e.do("POST", "/models/1.0/deploy", nil, nil) // Host 127.0.0.1:port
	assert.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
}

func TestTrustedOrigins(t *testing.T) {
	e := newEnv(t, &registryhttp.Options{Authorizer: registryhttp.BearerTokens(testToken),
		TrustedOrigins: []string{"https://registry.example.com"}})
	e.mustImport("1.0")
	hdr := e.auth()
	hdr["Origin"] = "https://registry.example.com"
	hdr["Sec-Fetch-Site"] = "cross-site"
	resp, body := e.do("POST", "/models/1.0/deploy", nil, hdr)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	hdr["Origin"] = "https://elsewhere.example.com"
	resp, body = e.do("POST", "/models/1.0/validate", nil, hdr)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "%s", body)
}

// sseEvent is one server-sent event.
type sseEvent struct{ id, typ, data string }

// readEvent reads the next event (skipping comments) from br.
func readEvent(t *testing.T, br *bufio.Reader) sseEvent {
	t.Helper()
	var ev sseEvent
	for {
		line, err := br.ReadString('\n')
		require.NoError(t, err)
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "" && ev.typ != "":
			return ev
		case strings.HasPrefix(line, "id: "):
			ev.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.typ = line[7:]
		case strings.HasPrefix(line, "data: "):
			ev.data = line[6:]
		}
	}
}

// openEvents opens GET /events with Last-Event-ID lastID ("" for none).
func openEvents(t *testing.T, e *env, lastID string) (*http.Response, *bufio.Reader) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/events", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+e.token)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp, bufio.NewReader(resp.Body)
}

func TestHostileEvents(t *testing.T) {
	t.Run("ahead of the log: reset, then later events", func(t *testing.T) {
		e := newEnv(t, nil)
		e.mustImport("1.0")
		resp, br := openEvents(t, e, "1000")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		ev := readEvent(t, br)
		assert.Equal(t, "reset", ev.typ)
		assert.Equal(t, "1", ev.id, "the reset carries the log's head")
		e.mustImport("2.0")
		ev = readEvent(t, br)
		assert.Equal(t, "2", ev.id, "an event after the head is delivered, not dropped")
	})
	t.Run("too far behind: reset", func(t *testing.T) {
		e := newEnv(t, &registryhttp.Options{Authorizer: registryhttp.BearerTokens(testToken), MaxResume: 2})
		for _, v := range []string{"1.0", "2.0", "3.0", "4.0"} {
			e.mustImport(v)
		}
		_, br := openEvents(t, e, "1")
		ev := readEvent(t, br)
		assert.Equal(t, "reset", ev.typ)
		assert.Equal(t, "4", ev.id)
	})
	t.Run("backlog is replayed in pages", func(t *testing.T) {
		e := newEnv(t, nil)
		const n = 120 // more than a page
		for i := range n {
			_, err := e.reg.Import(context.Background(), modelpkg.FileName(fmt.Sprintf("1.%d", i)), bytes.NewReader(validZip(t, fmt.Sprintf("1.%d", i))), nil)
			require.NoError(t, err)
		}
		_, br := openEvents(t, e, "0")
		for i := 1; i <= n; i++ {
			ev := readEvent(t, br)
			require.Equal(t, fmt.Sprint(i), ev.id)
		}
	})
	t.Run("streams are capped", func(t *testing.T) {
		e := newEnv(t, &registryhttp.Options{Authorizer: registryhttp.BearerTokens(testToken), MaxEventStreams: 1})
		resp, _ := openEvents(t, e, "")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		resp2, body := e.call("GET", "/events")
		assert.Equal(t, http.StatusServiceUnavailable, resp2.StatusCode, "%s", body)
		assert.NotEmpty(t, resp2.Header.Get("Retry-After"))
	})
}

func TestStagedUpload(t *testing.T) {
	e := newEnv(t, nil)
	resp, body := e.upload("?dry_run=true&reason=check", "model_1.0_deployment.zip", validZip(t, "1.0"))
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	tok := string(bytes.Trim(extract(t, body, "staged", "token"), `"`))
	require.Len(t, tok, 32)
	assert.Empty(t, e.reg.List(nil))

	t.Run("another actor cannot use it", func(t *testing.T) {
		hdr := e.auth()
		hdr["X-Modelvault-Actor"] = "mallory"
		resp, body := e.do("POST", "/staged/"+tok, nil, hdr)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, "%s", body)
	})
	t.Run("confirming imports without a second upload", func(t *testing.T) {
		resp, body := e.call("POST", "/staged/"+tok+"?reason=ship+it")
		require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
		v, err := e.reg.Get("1.0")
		require.NoError(t, err)
		assert.Equal(t, "1.0", v.Version)
		hist, err := e.reg.History(context.Background(), nil)
		require.NoError(t, err)
		require.NotEmpty(t, hist)
		assert.Equal(t, "ship it", hist[len(hist)-1].Reason)
		assert.Empty(t, dirEntries(t, e), "the staged file is gone")
		assert.Zero(t, registryhttp.StagedCount(e.h))
	})
	t.Run("a token is used once", func(t *testing.T) {
		resp, body := e.call("POST", "/staged/"+tok)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, "%s", body)
		assert.Equal(t, "unknown_token", errorOf(t, body).Error.Code)
	})
	t.Run("unknown and malformed tokens", func(t *testing.T) {
		resp, _ := e.call("POST", "/staged/"+strings.Repeat("0", 32))
		assert.Equal(t, http.StatusNotFound, resp.StatusCode)
		resp, _ = e.call("POST", "/staged/..%2f..%2fetc")
		assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	})
}

func TestStagedUploadExpires(t *testing.T) {
	tmp := t.TempDir()
	// A leftover of an earlier process, older than the TTL, is removed at
	// start-up.
	old := filepath.Join(tmp, "modelvault-staged-123.zip")
	require.NoError(t, os.WriteFile(old, []byte("x"), 0o600))
	long := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(old, long, long))
	e := newEnv(t, &registryhttp.Options{Authorizer: registryhttp.BearerTokens(testToken), TempDir: tmp, StageTTL: 20 * time.Millisecond})
	assert.NoFileExists(t, old)

	resp, body := e.upload("?dry_run=true", "model_1.0_deployment.zip", validZip(t, "1.0"))
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	tok := string(bytes.Trim(extract(t, body, "staged", "token"), `"`))
	require.Eventually(t, func() bool { return registryhttp.StagedCount(e.h) == 0 }, safety, 5*time.Millisecond,
		"the staged package is dropped when it expires")
	_, reserved := registryhttp.SpoolState(e.h)
	assert.Zero(t, reserved, "its bytes are released")
	assert.Empty(t, dirEntries(t, e))
	resp, body = e.call("POST", "/staged/"+tok)
	assert.Equal(t, http.StatusGone, resp.StatusCode, "%s", body)
	assert.Equal(t, "token_expired", errorOf(t, body).Error.Code)
}

func TestExportPackage(t *testing.T) {
	e := newEnv(t, nil)
	pkg := validZip(t, "1.0")
	resp, body := e.upload("", "model_1.0_deployment.zip", pkg)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)

	resp, got := e.call("GET", "/models/1.0/package")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", got)
	assert.Equal(t, "application/zip", resp.Header.Get("Content-Type"))
	assert.Contains(t, resp.Header.Get("Content-Disposition"), `filename="model_1.0_deployment.zip"`)
	assert.Equal(t, pkg, got, "byte-identical to the package built from the same files")

	resp, _ = e.call("GET", "/models/9.9/package")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, _ = e.do("GET", "/models/1.0/package", nil, nil)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	t.Run("a tampered store is not exported", func(t *testing.T) {
		ctx := context.Background()
		require.NoError(t, e.store.Put(ctx, "model_1.0/README.md", strings.NewReader("tampered"), nil))
		req, err := http.NewRequest("GET", e.srv.URL+"/models/1.0/package", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+e.token)
		resp, err := e.srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if resp.StatusCode == http.StatusOK {
			assert.Error(t, err, "the download is cut off, never a complete archive")
			return
		}
		assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "%s", body)
		assert.Equal(t, "hash_mismatch", errorOf(t, body).Error.Code)
	})
}

func TestTooLargeSaysTheLimitInMiB(t *testing.T) {
	e := newEnv(t, &registryhttp.Options{Authorizer: registryhttp.BearerTokens(testToken), MaxUploadSize: 100 << 20})
	c := rawConn(t, e)
	// 200 MiB declared, never sent: refused before the body.
	_, err := io.WriteString(c, "POST /models/import HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "+testToken+
		"\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: 209715200\r\n\r\nx")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, "%s", body)
	assert.Equal(t, "upload exceeds the limit of 100 MiB", errorOf(t, body).Error.Message)
}

func TestServing(t *testing.T) {
	t.Run("from the registry's published states", func(t *testing.T) {
		e := newEnv(t, nil)
		resp, body := e.call("GET", "/serving")
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		assert.JSONEq(t, `{"available": true, "replicas": []}`, string(body), "no Live runs")

		e.mustImport("1.0")
		_, err := e.reg.Deploy(context.Background(), "1.0", nil)
		require.NoError(t, err)
		live, err := registry.NewLive(context.Background(), e.reg, registry.LoaderFunc[string](
			func(_ context.Context, pkg *registry.Package) (string, error) { return pkg.Version.Version, nil }),
			&registry.LiveOptions[string]{Name: "web-1"})
		require.NoError(t, err)
		defer live.Close()
		require.Eventually(t, func() bool {
			_, body := e.call("GET", "/serving")
			return strings.Contains(string(body), `"name": "web-1"`) && strings.Contains(string(body), `"version": "1.0"`)
		}, safety, 10*time.Millisecond)
	})
	t.Run("reported", func(t *testing.T) {
		e := newEnv(t, &registryhttp.Options{Authorizer: registryhttp.BearerTokens(testToken),
			Serving: func(context.Context) ([]registryhttp.Replica, error) {
				return []registryhttp.Replica{
					{Name: "a", Model: "m", Version: "2.0", Want: "2.1", LastError: "load failed", ErrorVersion: "2.1", Failures: 2},
					{Name: "b", Model: "m", Version: "2.1", Want: "2.1"},
				}, nil
			}})
		resp, body := e.call("GET", "/serving")
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		assert.JSONEq(t, `{"available": true, "replicas": [
			{"name": "a", "model": "m", "version": "2.0", "want": "2.1", "last_error": "load failed", "error_version": "2.1", "failures": 2},
			{"name": "b", "model": "m", "version": "2.1", "want": "2.1"}]}`, string(body))
		resp, _ = e.do("GET", "/serving", nil, nil)
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	})
}

func TestScanInvalidHasStatus(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	files := pkgFiles("3.0", "")
	files["README.md"].Data = []byte("placed, then changed\n")
	for name, f := range files {
		require.NoError(t, e.store.Put(ctx, "model_3.0/"+name, bytes.NewReader(f.Data), nil))
	}
	resp, body := e.call("POST", "/models/scan")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	got := decode[struct {
		Invalid []struct {
			Version string `json:"version"`
			Status  string `json:"status"`
		} `json:"invalid"`
	}](t, body)
	require.Len(t, got.Invalid, 1, "%s", body)
	assert.Equal(t, "invalid", got.Invalid[0].Status)
}
