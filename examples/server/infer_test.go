package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/internal/irispkg"
	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/modelpkg/sklearn"
	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/storage/diskstore"
)

// inferServer serves the registry's deployed version of files' model.
func inferServer(t *testing.T, model []byte, modelType string) *httptest.Server {
	t.Helper()
	ctx := context.Background()
	store, err := diskstore.Open(t.TempDir(), nil)
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	reg, err := registry.Open(ctx, store, nil)
	require.NoError(t, err)
	t.Cleanup(func() { reg.Close() })
	files := irispkg.PackageFiles("1.0")
	if model != nil {
		files["model.joblib"].Data = model
		files["metadata.json"].Data = []byte(`{"model_type": "` + modelType + `", "version": "1.0", "created_at": "2026-01-01T00:00:00", "training_info": {}}`)
	}
	var zip bytes.Buffer
	_, err = modelpkg.Build(ctx, &zip, files, nil)
	require.NoError(t, err)
	_, err = reg.Import(ctx, "model_1.0_deployment.zip", &zip, nil)
	require.NoError(t, err)
	_, err = reg.Deploy(ctx, "1.0", nil)
	require.NoError(t, err)
	f := &fleet{store: store, regOpt: func(string) *registry.Options { return nil }, loader: func(name string) registry.Loader[*servedModel] { return modelLoader(name) }}
	require.NoError(t, openFleet(ctx, f))
	t.Cleanup(f.close)
	mux := http.NewServeMux()
	registerInference(mux, f, func(h http.HandlerFunc) http.HandlerFunc { return h })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// call sends body to srv, the inference API alone.
func call(t *testing.T, srv *httptest.Server, method, path, body string) (int, map[string]any) {
	t.Helper()
	return sendJSON(t, srv.URL, method, path, "", strings.NewReader(body))
}

func TestOpenInferenceProtocol(t *testing.T) {
	srv := inferServer(t, nil, "")
	t.Run("health", func(t *testing.T) {
		code, body := call(t, srv, "GET", "/v2/health/live", "")
		assert.Equal(t, http.StatusOK, code)
		assert.Equal(t, true, body["live"])
		code, body = call(t, srv, "GET", "/v2/health/ready", "")
		assert.Equal(t, http.StatusOK, code)
		assert.Equal(t, true, body["ready"])
	})
	t.Run("model metadata and readiness", func(t *testing.T) {
		code, body := call(t, srv, "GET", "/v2/models/LogisticRegression", "")
		require.Equal(t, http.StatusOK, code, "%v", body)
		assert.Equal(t, "LogisticRegression", body["name"])
		assert.Equal(t, []any{"1.0"}, body["versions"])
		assert.Equal(t, "sklearn", body["platform"])
		code, body = call(t, srv, "GET", "/v2/models/LogisticRegression/versions/1.0/ready", "")
		assert.Equal(t, http.StatusOK, code)
		assert.Equal(t, true, body["ready"])
		code, _ = call(t, srv, "GET", "/v2/models/Other/ready", "")
		assert.Equal(t, http.StatusNotFound, code)
		code, _ = call(t, srv, "GET", "/v2/models/LogisticRegression/versions/9.9", "")
		assert.Equal(t, http.StatusNotFound, code)
	})
	t.Run("infer", func(t *testing.T) {
		code, body := call(t, srv, "POST", "/v2/models/LogisticRegression/infer", `{
			"id": "42",
			"inputs": [{"name": "x", "shape": [2, 4], "datatype": "FP64",
			            "data": [[5.1, 3.5, 1.4, 0.2], [6.3, 3.3, 6.0, 2.5]]}],
			"outputs": [{"name": "predict"}, {"name": "predict_proba"}]}`)
		require.Equal(t, http.StatusOK, code, "%v", body)
		assert.Equal(t, "42", body["id"])
		assert.Equal(t, "1.0", body["model_version"])
		outs := body["outputs"].([]any)
		require.Len(t, outs, 2)
		pred := outs[0].(map[string]any)
		assert.Equal(t, "BYTES", pred["datatype"])
		assert.Equal(t, []any{"setosa", "virginica"}, pred["data"])
		proba := outs[1].(map[string]any)
		assert.Equal(t, []any{2.0, 3.0}, proba["shape"])
		assert.Len(t, proba["data"], 6)
	})
	t.Run("infer one column per feature", func(t *testing.T) {
		code, body := call(t, srv, "POST", "/v2/models/LogisticRegression/infer", `{"inputs": [
			{"name": "a", "shape": [1], "datatype": "FP32", "data": [5.1]},
			{"name": "b", "shape": [1], "datatype": "FP32", "data": [3.5]},
			{"name": "c", "shape": [1], "datatype": "FP32", "data": [1.4]},
			{"name": "d", "shape": [1], "datatype": "FP32", "data": [0.2]}]}`)
		require.Equal(t, http.StatusOK, code, "%v", body)
		assert.Equal(t, []any{"setosa"}, body["outputs"].([]any)[0].(map[string]any)["data"])
	})
	t.Run("bad requests", func(t *testing.T) {
		for name, req := range map[string]string{
			"malformed":      `{"inputs": [`,
			"no inputs":      `{"inputs": []}`,
			"wrong width":    `{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [1, 2, 3]}]}`,
			"shape mismatch": `{"inputs": [{"name": "x", "shape": [2, 4], "datatype": "FP64", "data": [1, 2, 3, 4]}]}`,
			"string":         `{"inputs": [{"name": "x", "shape": [1, 4], "datatype": "BYTES", "data": ["a", "b", "c", "d"]}]}`,
			"datatype":       `{"inputs": [{"name": "x", "shape": [1, 4], "datatype": "COMPLEX", "data": [1, 2, 3, 4]}]}`,
			"output":         `{"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [1, 2, 3, 4]}], "outputs": [{"name": "secrets"}]}`,
		} {
			code, body := call(t, srv, "POST", "/v2/models/LogisticRegression/infer", req)
			assert.Equal(t, http.StatusBadRequest, code, "%s: %v", name, body)
			assert.NotEmpty(t, body["error"], name)
		}
	})
}

// TestPredictAnyModel: the server serves whatever supported model is
// deployed, with string categories and named features.
func TestPredictAnyModel(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "..", "modelpkg", "sklearn", "testdata", name+".joblib"))
		require.NoError(t, err)
		return b
	}
	t.Run("regressor", func(t *testing.T) {
		srv := inferServer(t, read("hist_gradient_boosting_regressor"), "HistGradientBoostingRegressor")
		code, body := call(t, srv, "POST", "/predict", `{"features": [0.01, null, 0.02, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]}`)
		require.Equal(t, http.StatusOK, code, "%v", body)
		assert.IsType(t, 0.0, body["prediction"])
		code, body = call(t, srv, "POST", "/v2/models/HistGradientBoostingRegressor/infer",
			`{"inputs": [{"name": "x", "shape": [1, 10], "datatype": "FP64", "data": [0.01, null, 0.02, 0, 0, 0, 0, 0, 0, 0]}]}`)
		require.Equal(t, http.StatusOK, code, "%v", body)
		assert.Equal(t, "FP64", body["outputs"].([]any)[0].(map[string]any)["datatype"])
	})
	t.Run("string category", func(t *testing.T) {
		srv := inferServer(t, read("column_transformer"), "Pipeline")
		code, body := call(t, srv, "POST", "/predict", `{"features": [5.1, 3.5, 1.4, 0.2, "short"]}`)
		require.Equal(t, http.StatusOK, code, "%v", body)
		assert.Equal(t, 0.0, body["label"])
		code, body = call(t, srv, "POST", "/predict", `{"features": [5.1, 3.5, 1.4, 0.2, "huge"]}`)
		assert.Equal(t, http.StatusBadRequest, code)
		assert.Contains(t, body["error"].(map[string]any)["message"], sklearn.ErrUnknownCategory.Error())
	})
	t.Run("multi-output", func(t *testing.T) {
		srv := inferServer(t, read("decision_tree_classifier_multi"), "DecisionTreeClassifier")
		code, body := call(t, srv, "POST", "/predict", `{"features": [5.1, 1.4, 0.2]}`)
		require.Equal(t, http.StatusOK, code, "%v", body)
		assert.Equal(t, []any{"setosa", "wide"}, body["label"])
		code, body = call(t, srv, "POST", "/v2/models/DecisionTreeClassifier/infer",
			`{"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP64", "data": [5.1, 1.4, 0.2, 5.1, 1.4, 0.2]}]}`)
		require.Equal(t, http.StatusOK, code, "%v", body)
		out := body["outputs"].([]any)[0].(map[string]any)
		assert.Equal(t, "BYTES", out["datatype"])
		assert.Equal(t, []any{2.0, 2.0}, out["shape"])
		assert.Equal(t, []any{"setosa", "wide", "setosa", "wide"}, out["data"])
		code, _ = call(t, srv, "GET", "/v2/models/DecisionTreeClassifier", "")
		require.Equal(t, http.StatusOK, code)

		srv = inferServer(t, read("mlp_regressor_multi"), "MLPRegressor")
		code, body = call(t, srv, "POST", "/v2/models/MLPRegressor/infer",
			`{"inputs": [{"name": "x", "shape": [1, 10], "datatype": "FP64", "data": [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]}]}`)
		require.Equal(t, http.StatusOK, code, "%v", body)
		out = body["outputs"].([]any)[0].(map[string]any)
		assert.Equal(t, []any{1.0, 2.0}, out["shape"])
		assert.Len(t, out["data"], 2)
	})
	t.Run("named features", func(t *testing.T) {
		srv := inferServer(t, read("feature_names"), "LogisticRegression")
		code, body := call(t, srv, "POST", "/predict", `{"features": {"sepal length (cm)": 5.1, "sepal width (cm)": 3.5, "petal length (cm)": 1.4, "petal width (cm)": 0.2}}`)
		require.Equal(t, http.StatusOK, code, "%v", body)
		assert.Equal(t, 0.0, body["label"])
		code, _ = call(t, srv, "POST", "/predict", `{"features": {"sepal length (cm)": 5.1}}`)
		assert.Equal(t, http.StatusBadRequest, code)
	})
}
