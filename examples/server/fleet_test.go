package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/internal/irispkg"
	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/storage/diskstore"
)

// irisZip is the iris package of version.
func irisZip(t *testing.T, version string) []byte {
	t.Helper()
	var pkg bytes.Buffer
	_, err := modelpkg.Build(context.Background(), &pkg, irispkg.PackageFiles(version), nil)
	require.NoError(t, err)
	return pkg.Bytes()
}

// TestServerModels serves a store of several models: each model is
// addressed by its registry name in the Open Inference Protocol, in
// /predict?model= and in the registry API (/registry/m/NAME/), and a model
// created through the API is served without a restart.
func TestServerModels(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	store, err := diskstore.Open(dir, nil)
	require.NoError(t, err)
	for name, version := range map[string]string{"fraud": "1.0", "churn": "2.0"} {
		reg, err := registry.OpenModel(ctx, store, name, nil)
		require.NoError(t, err)
		_, err = reg.Import(ctx, modelpkg.FileName(version), bytes.NewReader(irisZip(t, version)), nil)
		require.NoError(t, err)
		_, err = reg.Deploy(ctx, version, nil)
		require.NoError(t, err)
		reg.Close()
	}
	store.Close()

	base := "http://" + startService(t, &config{store: dir})
	do := func(method, path, ctype string, body io.Reader) (int, map[string]any) {
		t.Helper()
		return sendJSON(t, base, method, path, ctype, body)
	}
	infer := func(name string) (int, map[string]any) {
		return do("POST", "/v2/models/"+name+"/infer", "application/json",
			strings.NewReader(`{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP64","data":[5.1,3.5,1.4,0.2]}]}`))
	}
	predict := func(query string) (int, map[string]any) {
		return do("POST", "/predict"+query, "application/json", strings.NewReader(`{"features":[5.1,3.5,1.4,0.2]}`))
	}

	t.Run("inference by registry name", func(t *testing.T) {
		for name, version := range map[string]string{"fraud": "1.0", "churn": "2.0"} {
			code, body := infer(name)
			require.Equal(t, http.StatusOK, code, "%v", body)
			assert.Equal(t, name, body["model_name"])
			assert.Equal(t, version, body["model_version"])
			code, body = do("GET", "/v2/models/"+name, "", nil)
			require.Equal(t, http.StatusOK, code, "%v", body)
			assert.Equal(t, name, body["name"])
			assert.Equal(t, "LogisticRegression", body["parameters"].(map[string]any)["model_type"])
			code, _ = do("GET", "/v2/models/"+name+"/versions/"+version+"/ready", "", nil)
			assert.Equal(t, http.StatusOK, code)
		}
		for _, name := range []string{"nope", "LogisticRegression", "Fraud", "..", "con"} {
			code, body := infer(name)
			assert.Equal(t, http.StatusNotFound, code, "%s: %v", name, body)
		}
	})
	t.Run("predict names the model", func(t *testing.T) {
		code, body := predict("")
		assert.Equal(t, http.StatusBadRequest, code, "two models: which? %v", body)
		code, body = predict("?model=churn")
		require.Equal(t, http.StatusOK, code, "%v", body)
		assert.Equal(t, "2.0", body["version"])
		code, body = predict("?model=nope")
		assert.Equal(t, http.StatusNotFound, code, "%v", body)
	})
	t.Run("ready once every deployed model is loaded", func(t *testing.T) {
		code, body := do("GET", "/readyz", "", nil)
		require.Equal(t, http.StatusOK, code, "%v", body)
		assert.Equal(t, "churn=2.0,fraud=1.0", body["serving"])
		code, _ = do("GET", "/v2/health/ready", "", nil)
		assert.Equal(t, http.StatusOK, code)
	})
	t.Run("metrics per model", func(t *testing.T) {
		resp, err := http.Get(base + "/metrics")
		require.NoError(t, err)
		metrics, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		assert.Contains(t, string(metrics), `modelvault_served_version{model="fraud",version="1.0"} 1`)
		assert.Contains(t, string(metrics), `modelvault_served_version{model="churn",version="2.0"} 1`)
	})
	t.Run("registry API per model", func(t *testing.T) {
		code, body := do("GET", "/registry/models-index", "", nil)
		require.Equal(t, http.StatusOK, code, "%v", body)
		assert.Len(t, body["models"], 2)
		code, body = do("GET", "/registry/m/fraud/models/1.0", "", nil)
		assert.Equal(t, http.StatusOK, code, "%v", body)
	})
	t.Run("a model created through the API is served", func(t *testing.T) {
		form, ctype := uploadForm(t, modelpkg.FileName("3.0"), irisZip(t, "3.0"))
		code, body := do("POST", "/registry/m/pricing/models/import", ctype, form)
		require.Equal(t, http.StatusCreated, code, "%v", body)
		code, body = infer("pricing")
		assert.Equal(t, http.StatusServiceUnavailable, code, "nothing deployed yet: %v", body)
		code, body = do("POST", "/registry/m/pricing/models/3.0/deploy", "", nil)
		require.Equal(t, http.StatusOK, code, "%v", body)
		// The Live follows the deploy through the registry's poller.
		require.Eventually(t, func() bool {
			code, body = infer("pricing")
			return code == http.StatusOK
		}, 10*time.Second, 10*time.Millisecond, "%v", body)
		assert.Equal(t, "3.0", body["model_version"])
	})
	t.Run("a model another process created is served on first use", func(t *testing.T) {
		other, err := diskstore.Open(dir, nil)
		require.NoError(t, err)
		defer other.Close()
		reg, err := registry.OpenModel(ctx, other, "late", nil)
		require.NoError(t, err)
		defer reg.Close()
		_, err = reg.Import(ctx, modelpkg.FileName("4.0"), bytes.NewReader(irisZip(t, "4.0")), nil)
		require.NoError(t, err)
		_, err = reg.Deploy(ctx, "4.0", nil)
		require.NoError(t, err)
		code, body := infer("late")
		require.Equal(t, http.StatusOK, code, "%v", body)
		assert.Equal(t, "4.0", body["model_version"])
	})
}

// TestServerPredictDefaultModel: while a store of several models holds
// one, POST /predict needs no ?model=, even after an import into a new
// name failed.
func TestServerPredictDefaultModel(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	store, err := diskstore.Open(dir, nil)
	require.NoError(t, err)
	reg, err := registry.OpenModel(ctx, store, "fraud", nil)
	require.NoError(t, err)
	_, err = reg.Import(ctx, modelpkg.FileName("1.0"), bytes.NewReader(irisZip(t, "1.0")), nil)
	require.NoError(t, err)
	_, err = reg.Deploy(ctx, "1.0", nil)
	require.NoError(t, err)
	reg.Close()
	store.Close()

	base := "http://" + startService(t, &config{store: dir})
	post := func(path, ctype string, body io.Reader) (int, string) {
		t.Helper()
		code, data := send(t, base, "POST", path, ctype, body)
		return code, string(data)
	}
	predict := func() (int, string) {
		return post("/predict", "application/json", strings.NewReader(`{"features":[5.1,3.5,1.4,0.2]}`))
	}
	code, body := predict()
	require.Equal(t, http.StatusOK, code, body)
	code, body = post("/predict?model=nope", "application/json", strings.NewReader(`{"features":[5.1,3.5,1.4,0.2]}`))
	assert.Equal(t, http.StatusNotFound, code, body)

	form, ctype := uploadForm(t, modelpkg.FileName("2.0"), []byte("not a zip"))
	code, body = post("/registry/m/ghost/models/import", ctype, form)
	require.Equal(t, http.StatusUnprocessableEntity, code, body)

	code, body = predict()
	assert.Equal(t, http.StatusOK, code, "the failed import made no second model: %s", body)
}

// TestFleetEmpty: a store of several models that holds none yet serves
// nothing, and says so.
func TestFleetEmpty(t *testing.T) {
	store, err := diskstore.Open(t.TempDir(), nil)
	require.NoError(t, err)
	defer store.Close()
	f := &fleet{store: store, multi: true, regOpt: func(string) *registry.Options { return nil },
		loader: func(name string) registry.Loader[*servedModel] { return modelLoader(name) }}
	require.NoError(t, openFleet(context.Background(), f))
	defer f.close()
	mux := http.NewServeMux()
	registerInference(mux, f, func(h http.HandlerFunc) http.HandlerFunc { return h })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	code, body := call(t, srv, "POST", "/predict", `{"features":[5.1,3.5,1.4,0.2]}`)
	assert.Equal(t, http.StatusServiceUnavailable, code, "%v", body)
	code, _ = call(t, srv, "GET", "/v2/health/ready", "")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, "", f.Version())
}
