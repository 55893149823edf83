package main

import (
	"bytes"
	"context"
	"io"
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
	ctx := context.Background()
	base := "http://" + startService(t, &config{})
	do := func(method, path, ctype string, body io.Reader) (int, map[string]any) {
		t.Helper()
		return sendJSON(t, base, method, path, ctype, body)
	}
	predict := func() (int, map[string]any) {
		return do("POST", "/predict", "application/json", strings.NewReader(`{"features":[5.1,3.5,1.4,0.2]}`))
	}

	code, _ := predict()
	assert.Equal(t, http.StatusServiceUnavailable, code, "nothing is deployed yet")

	var pkg bytes.Buffer
	_, err := modelpkg.Build(ctx, &pkg, irispkg.PackageFiles("1.0"), nil)
	require.NoError(t, err)
	form, ctype := uploadForm(t, "model_1.0_deployment.zip", pkg.Bytes())
	code, body := do("POST", "/registry/models/import", ctype, form)
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
