package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/internal/irispkg"
	"github.com/modelvault/modelvault/modelpkg"
)

// TestServer starts the service on a free port, uploads and deploys a
// package through the REST API as a user would, and predicts.
func TestServer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, t.TempDir(), "secret", slog.New(slog.DiscardHandler)) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(15 * time.Second):
			t.Error("server did not stop")
		}
	}()
	base := "http://" + ln.Addr().String()
	do := func(method, path, ctype string, body io.Reader) (int, map[string]any) {
		req, err := http.NewRequest(method, base+path, body)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer secret")
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var m map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
		return resp.StatusCode, m
	}
	predict := func() (int, map[string]any) {
		return do("POST", "/predict", "application/json", strings.NewReader(`{"features":[5.1,3.5,1.4,0.2]}`))
	}

	code, _ := predict()
	assert.Equal(t, http.StatusServiceUnavailable, code, "nothing is deployed yet")

	var pkg bytes.Buffer
	_, err = modelpkg.Build(ctx, &pkg, irispkg.PackageFiles("1.0"), nil)
	require.NoError(t, err)
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	fw, err := mw.CreateFormFile("file", "model_1.0_deployment.zip")
	require.NoError(t, err)
	_, err = io.Copy(fw, &pkg)
	require.NoError(t, err)
	require.NoError(t, mw.Close())
	code, body := do("POST", "/registry/models/import", mw.FormDataContentType(), &form)
	require.Equal(t, http.StatusCreated, code, "%v", body)

	code, body = do("POST", "/registry/models/1.0/deploy", "", nil)
	require.Equal(t, http.StatusOK, code, "%v", body)

	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body = predict()
		if code == http.StatusOK || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	require.Equal(t, http.StatusOK, code, "%v", body)
	assert.Equal(t, "setosa", body["label"])
	assert.Equal(t, "1.0", body["version"])

	code, _ = do("POST", "/predict", "application/json", strings.NewReader(`{"features":[1]}`))
	assert.Equal(t, http.StatusBadRequest, code)
	code, body = do("GET", "/healthz", "", nil)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, true, body["ok"])
	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	metrics, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Contains(t, string(metrics), `modelvault_served_version{model="",version="1.0"} 1`)
	assert.Contains(t, string(metrics), `modelvault_events_total{type="deployed"} 1`)
	var serving map[string]any
	require.Eventually(t, func() bool {
		code, serving = do("GET", "/registry/serving", "", nil)
		reps, _ := serving["replicas"].([]any)
		return code == http.StatusOK && len(reps) == 1 && reps[0].(map[string]any)["version"] == "1.0"
	}, 10*time.Second, 10*time.Millisecond, "the fleet view shows this process serving 1.0: %v", serving)
	assert.Equal(t, true, serving["available"])
	code, body = do("GET", "/readyz", "", nil)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "1.0", body["serving"])
}
