package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/registry/registryhttp"
)

// served is a running 'modelctl serve'.
type served struct {
	url, token string
	stop       func() int // cancels the context, returns the exit code
}

// startServe runs 'modelctl serve' on 127.0.0.1:0 and reads the address
// (and a generated token) from its output.
func startServe(t *testing.T, args ...string) *served {
	t.Helper()
	return startServeStore(t, t.TempDir(), args...)
}

// startServeStore is startServe on store.
func startServeStore(t *testing.T, store string, args ...string) *served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	exit := make(chan int, 1)
	go func() {
		code := run(ctx, append([]string{"--store", store, "serve", "--addr", "127.0.0.1:0"}, args...), strings.NewReader(""), pw, io.Discard)
		pw.Close()
		exit <- code
	}()
	s := &served{}
	lines := bufio.NewScanner(pr)
	deadline := time.AfterFunc(10*time.Second, func() { pw.CloseWithError(io.ErrUnexpectedEOF) })
	defer deadline.Stop()
	for lines.Scan() {
		line := lines.Text()
		if _, url, ok := strings.Cut(line, " on http://"); ok {
			s.url = "http://" + url
		}
		if strings.HasPrefix(line, "modelctl: token") {
			require.True(t, lines.Scan())
			s.token = lines.Text()
		}
		if s.url != "" && (s.token != "" || len(args) > 0) {
			break
		}
	}
	require.NotEmpty(t, s.url, "serve printed no address")
	go io.Copy(io.Discard, pr) // keep draining the output
	s.stop = func() int {
		cancel()
		select {
		case code := <-exit:
			return code
		case <-time.After(shutdownGrace + 20*time.Second):
			// A safety net only: a shutdown held up by a request fails
			// after shutdownGrace and exits non-zero.
			t.Fatal("serve did not stop")
			return -1
		}
	}
	t.Cleanup(func() { cancel() })
	return s
}

func (s *served) do(t *testing.T, method, path, token string, body io.Reader, ctype string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, strings.TrimSuffix(s.url, "/")+path, body)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

func TestServe(t *testing.T) {
	s := startServe(t)
	require.NotEmpty(t, s.token, "a generated token is printed")
	assert.GreaterOrEqual(t, len(s.token), 20)

	code, page := s.do(t, "GET", "/", "", nil, "")
	assert.Equal(t, 200, code)
	assert.Contains(t, page, "Model registry")
	code, _ = s.do(t, "GET", "/models", "", nil, "")
	assert.Equal(t, 401, code)
	code, _ = s.do(t, "GET", "/models", "wrong", nil, "")
	assert.Equal(t, 401, code)

	// Upload a package built by 'modelctl pack', then deploy it.
	pkg, err := os.ReadFile(packVersion(t, "1.0"))
	require.NoError(t, err)
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	fw, err := mw.CreateFormFile("file", filepath.Base("model_1.0_deployment.zip"))
	require.NoError(t, err)
	fw.Write(pkg)
	require.NoError(t, mw.Close())
	code, body := s.do(t, "POST", "/models/import", s.token, &form, mw.FormDataContentType())
	require.Equal(t, 201, code, body)
	code, body = s.do(t, "POST", "/models/1.0/deploy", s.token, nil, "")
	require.Equal(t, 200, code, body)
	code, body = s.do(t, "GET", "/history", s.token, nil, "")
	require.Equal(t, 200, code, body)
	assert.Contains(t, body, registryhttp.TokenActor(s.token))

	// An open event stream must not hold up the graceful shutdown.
	req, err := http.NewRequest("GET", s.url+"events", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)

	// A stream that held it up would run out shutdownGrace and fail the
	// shutdown, which exits non-zero: the exit status is the check, not
	// a guess at how long a stop takes on a loaded machine.
	assert.Equal(t, 0, s.stop())
	_, err = io.ReadAll(resp.Body)
	assert.NoError(t, err, "the stream ends cleanly")
}

func TestServeWithToken(t *testing.T) {
	s := startServe(t, "--token", "given-token")
	assert.Empty(t, s.token, "a given token is not printed")
	code, _ := s.do(t, "GET", "/models", "given-token", nil, "")
	assert.Equal(t, 200, code)
	assert.Equal(t, 0, s.stop())
}

func TestServeBadAddr(t *testing.T) {
	code, _, errs := ctl(t, "--store", t.TempDir(), "serve", "--addr", "256.0.0.1:bad")
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, "serve")
}

// TestServeModels serves a store of several models: the model list, each
// model under /m/NAME/; --model serves one at the root; --all-models an
// empty store.
func TestServeModels(t *testing.T) {
	store := t.TempDir()
	ctlJSON(t, 0, "--store", store, "--model", "fraud", "import", packVersion(t, "1.0"))
	ctlJSON(t, 0, "--store", store, "--model", "fraud", "deploy", "1.0")

	t.Run("a store with models/ is served whole", func(t *testing.T) {
		s := startServeStore(t, store, "--token", "tok")
		code, body := s.do(t, "GET", "/models-index", "tok", nil, "")
		require.Equal(t, 200, code, body)
		assert.Contains(t, body, `"deployed": "1.0"`)
		code, body = s.do(t, "GET", "/m/fraud/models/1.0", "tok", nil, "")
		assert.Equal(t, 200, code, body)
		code, body = s.do(t, "GET", "/m/churn/models", "tok", nil, "")
		assert.Equal(t, 404, code, body)
		assert.Contains(t, body, "unknown_model")
		code, body = s.do(t, "GET", "/m/fraud/models", "", nil, "")
		assert.Equal(t, 401, code, body)
		code, page := s.do(t, "GET", "/", "", nil, "")
		assert.Equal(t, 200, code)
		assert.Contains(t, page, "models.js")
		assert.Equal(t, 0, s.stop())
	})
	t.Run("--model serves one model at the root", func(t *testing.T) {
		s := startServeStore(t, store, "--token", "tok", "--model", "fraud")
		code, body := s.do(t, "GET", "/models/1.0", "tok", nil, "")
		assert.Equal(t, 200, code, body)
		code, _ = s.do(t, "GET", "/models-index", "tok", nil, "")
		assert.Equal(t, 404, code)
		assert.Equal(t, 0, s.stop())
	})
	t.Run("--all-models on an empty store", func(t *testing.T) {
		s := startServe(t, "--token", "tok", "--all-models")
		code, body := s.do(t, "GET", "/models-index", "tok", nil, "")
		require.Equal(t, 200, code, body)
		assert.Contains(t, body, `"models": []`)
		assert.Equal(t, 0, s.stop())
	})
	t.Run("not both", func(t *testing.T) {
		code, _, errs := ctl(t, "--store", store, "--model", "fraud", "serve", "--all-models")
		assert.Equal(t, 2, code, errs)
	})
}
