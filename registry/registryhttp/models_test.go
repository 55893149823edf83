package registryhttp_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/registry/registryhttp"
	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/storage/diskstore"
)

// menv is a store of several models behind a Models handler.
type menv struct {
	t     testing.TB
	store storage.Store
	m     *registryhttp.Models
	srv   *httptest.Server
}

// newModelsEnv serves store (nil: a fresh memory store) with opts (nil:
// bearer token testToken).
func newModelsEnv(t testing.TB, store storage.Store, opts *registryhttp.ModelsOptions) *menv {
	t.Helper()
	if store == nil {
		store = memStore()
	}
	if opts == nil {
		opts = &registryhttp.ModelsOptions{Options: registryhttp.Options{Authorizer: registryhttp.BearerTokens(testToken)}}
	}
	if opts.TempDir == "" {
		opts.TempDir = t.TempDir()
	}
	if opts.Registry == nil {
		opts.Registry = &registry.Options{PollInterval: 20 * time.Millisecond, SkipOpenScan: true}
	}
	e := &menv{t: t, store: store, m: registryhttp.NewModels(store, opts)}
	e.srv = httptest.NewServer(e.m)
	t.Cleanup(func() {
		e.m.Close()
		e.srv.Close()
	})
	return e
}

func (e *menv) do(method, path string, body io.Reader, hdr map[string]string) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	require.NoError(e.t, err)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.srv.Client().Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return resp, data
}

func (e *menv) call(method, path string) (*http.Response, []byte) {
	e.t.Helper()
	return e.do(method, path, nil, map[string]string{"Authorization": "Bearer " + testToken})
}

// upload imports version's package into model name.
func (e *menv) upload(name, version, query string) (*http.Response, []byte) {
	e.t.Helper()
	body, ctype := multipartBody(e.t, "file", modelpkg.FileName(version), validZip(e.t, version))
	return e.do("POST", "/m/"+name+"/models/import"+query, body, map[string]string{"Authorization": "Bearer " + testToken, "Content-Type": ctype})
}

type modelsIndex struct {
	Models []registryhttp.ModelSummary `json:"models"`
}

func TestModelsTwoModelsOneStore(t *testing.T) {
	e := newModelsEnv(t, nil, nil)

	resp, body := e.call("GET", "/models-index")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	assert.Empty(t, decode[modelsIndex](t, body).Models, "a fresh store holds no models")

	for _, imp := range []struct{ model, version string }{{"fraud", "1.0"}, {"fraud", "1.1"}, {"churn", "3.2"}} {
		resp, body := e.upload(imp.model, imp.version, "")
		require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
	}
	resp, body = e.call("POST", "/m/fraud/models/1.1/deploy")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	resp, body = e.call("POST", "/m/churn/models/3.2/deploy")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)

	t.Run("lists are kept apart", func(t *testing.T) {
		versions := func(model string) []string {
			resp, body := e.call("GET", "/m/"+model+"/models")
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
			var out []string
			for _, v := range decode[struct{ Versions []*registry.Version }](t, body).Versions {
				out = append(out, v.Version)
			}
			return out
		}
		assert.Equal(t, []string{"1.1", "1.0"}, versions("fraud"))
		assert.Equal(t, []string{"3.2"}, versions("churn"))
		resp, body := e.call("GET", "/m/churn/models/1.0")
		assert.Equal(t, http.StatusNotFound, resp.StatusCode)
		assert.Equal(t, "not_found", errorOf(t, body).Error.Code)
	})
	t.Run("each model under its own prefix", func(t *testing.T) {
		names, err := registry.Models(context.Background(), e.store)
		require.NoError(t, err)
		assert.Equal(t, []string{"churn", "fraud"}, names)
		_, err = e.store.Stat(context.Background(), "models/churn/model_3.2/metadata.json")
		assert.NoError(t, err)
	})
	t.Run("index shows each deployed version", func(t *testing.T) {
		resp, body := e.call("GET", "/models-index")
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		assert.Equal(t, []registryhttp.ModelSummary{
			{Name: "churn", Versions: 1, Deployed: "3.2", ModelType: "RandomForestClassifier"},
			{Name: "fraud", Versions: 2, Deployed: "1.1", ModelType: "RandomForestClassifier"},
		}, decode[modelsIndex](t, body).Models)
	})
	t.Run("rollback stays in its model", func(t *testing.T) {
		resp, body := e.call("POST", "/m/fraud/models/1.0/deploy")
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		resp, body = e.call("POST", "/m/churn/rollback")
		assert.Equal(t, http.StatusConflict, resp.StatusCode, "churn has no previous deployment: %s", body)
		assert.Equal(t, "no_previous", errorOf(t, body).Error.Code)
		resp, body = e.call("POST", "/m/fraud/rollback")
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		assert.Equal(t, "1.1", decode[struct{ Event *registry.Event }](t, body).Event.To)
	})
	t.Run("history is per model", func(t *testing.T) {
		resp, body := e.call("GET", "/m/churn/history")
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		evs := decode[struct{ Events []*registry.Event }](t, body).Events
		require.Len(t, evs, 2)
		for _, ev := range evs {
			assert.NotEqual(t, "1.0", ev.Version)
		}
	})
	t.Run("a second handler on the store sees the same", func(t *testing.T) {
		other := newModelsEnv(t, e.store, nil)
		resp, body := other.call("GET", "/models-index")
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		idx := decode[modelsIndex](t, body).Models
		require.Len(t, idx, 2)
		assert.Equal(t, "1.1", idx[1].Deployed)
	})
}

func TestModelsUnknownAndInvalidNames(t *testing.T) {
	e := newModelsEnv(t, nil, nil)
	resp, body := e.upload("fraud", "1.0", "")
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)

	for _, tc := range []struct{ method, path string }{
		{"GET", "/m/nope/models"},
		{"GET", "/m/nope/models/1.0"},
		{"GET", "/m/nope/history"},
		{"GET", "/m/nope/events"},
		{"POST", "/m/nope/models/1.0/deploy"},
		{"POST", "/m/nope/rollback"},
		{"POST", "/m/nope/models/scan"},
		{"DELETE", "/m/nope/models/1.0"},
	} {
		t.Run("unknown "+tc.method+" "+tc.path, func(t *testing.T) {
			resp, body := e.call(tc.method, tc.path)
			assert.Equal(t, http.StatusNotFound, resp.StatusCode, "%s", body)
			assert.Equal(t, "unknown_model", errorOf(t, body).Error.Code)
		})
	}
	t.Run("a GET creates nothing", func(t *testing.T) {
		names, err := registry.Models(context.Background(), e.store)
		require.NoError(t, err)
		assert.Equal(t, []string{"fraud"}, names)
		assert.Equal(t, []string{"fraud"}, e.m.Opened())
	})
	for _, name := range []string{"Fraud", "-x", "a%2Fb", "con", "x.", strings.Repeat("a", 65), "a%20b", "%2e%2e"} {
		t.Run("invalid "+name, func(t *testing.T) {
			resp, body := e.call("GET", "/m/"+name+"/models")
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s", body)
			assert.Equal(t, "invalid_model_name", errorOf(t, body).Error.Code)
			resp, body = e.upload(name, "1.0", "")
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s", body)
			assert.Equal(t, "invalid_model_name", errorOf(t, body).Error.Code)
		})
	}
	t.Run("invalid names create nothing", func(t *testing.T) {
		names, err := registry.Models(context.Background(), e.store)
		require.NoError(t, err)
		assert.Equal(t, []string{"fraud"}, names)
	})
	t.Run("unknown route of a known model", func(t *testing.T) {
		resp, body := e.call("GET", "/m/fraud/nothing-here")
		assert.Equal(t, http.StatusNotFound, resp.StatusCode)
		assert.Equal(t, "not_found", errorOf(t, body).Error.Code)
		resp, body = e.call("PUT", "/m/fraud/models")
		assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
		assert.Equal(t, "method_not_allowed", errorOf(t, body).Error.Code)
	})
	t.Run("a dry run into a new name, then its confirmation, creates it", func(t *testing.T) {
		resp, body := e.upload("churn", "2.0", "?dry_run=true")
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		tok := decode[struct{ Staged struct{ Token string } }](t, body).Staged.Token
		require.NotEmpty(t, tok)
		resp, body = e.call("POST", "/m/churn/staged/"+tok)
		require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
		resp, body = e.call("GET", "/m/churn/models/2.0")
		assert.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		resp, body = e.call("POST", "/m/fraud/staged/"+tok)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, "a token is its model's only: %s", body)
	})
}

func TestModelsAuth(t *testing.T) {
	e := newModelsEnv(t, nil, nil)
	resp, body := e.upload("fraud", "1.0", "")
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}

	for _, tc := range []struct{ method, path string }{
		{"GET", "/models-index"},
		{"GET", "/m/fraud/models"},
		{"GET", "/m/nope/models"}, // 401 before 404: existence is not revealed
		{"GET", "/m/fraud/events"},
		{"POST", "/m/fraud/models/1.0/deploy"},
		{"POST", "/m/new/models/import"},
		{"DELETE", "/m/fraud/models/1.0"},
	} {
		t.Run("no token "+tc.method+" "+tc.path, func(t *testing.T) {
			resp, body := e.do(tc.method, tc.path, nil, nil)
			assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "%s", body)
			assert.Equal(t, "unauthenticated", errorOf(t, body).Error.Code)
			resp, body = e.do(tc.method, tc.path, nil, with("Authorization", "Bearer wrong"))
			assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "%s", body)
		})
	}
	t.Run("cross-origin changes refused", func(t *testing.T) {
		resp, body := e.do("POST", "/m/fraud/models/1.0/deploy", nil, with("Authorization", "Bearer "+testToken, "Origin", "https://evil.example"))
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, "%s", body)
		assert.Equal(t, "cross_origin", errorOf(t, body).Error.Code)
		resp, body = e.do("POST", "/m/evil/models/import", nil, with("Authorization", "Bearer "+testToken, "Sec-Fetch-Site", "cross-site"))
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, "%s", body)
		names, err := registry.Models(context.Background(), e.store)
		require.NoError(t, err)
		assert.Equal(t, []string{"fraud"}, names)
	})
	t.Run("UI and OpenAPI are public, for any valid name", func(t *testing.T) {
		for _, p := range []string{"/", "/models.js", "/app.css", "/openapi.json", "/m/fraud/", "/m/nope/", "/m/fraud/app.js", "/m/fraud/app.css", "/m/fraud/openapi.json"} {
			resp, body := e.do("GET", p, nil, nil)
			assert.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", p, body)
			assert.NotEmpty(t, resp.Header.Get("Content-Security-Policy"), p)
			assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"), p)
		}
	})
	t.Run("no authorizer refuses", func(t *testing.T) {
		open := newModelsEnv(t, e.store, &registryhttp.ModelsOptions{})
		resp, body := open.do("GET", "/models-index", nil, nil)
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, "%s", body)
		assert.Equal(t, "no_authorizer", errorOf(t, body).Error.Code)
	})
	t.Run("public reads", func(t *testing.T) {
		pub := newModelsEnv(t, e.store, &registryhttp.ModelsOptions{Options: registryhttp.Options{
			Authorizer: registryhttp.BearerTokens(testToken), PublicReads: true}})
		resp, body := pub.do("GET", "/models-index", nil, nil)
		assert.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		resp, body = pub.do("GET", "/m/fraud/models", nil, nil)
		assert.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		resp, _ = pub.do("POST", "/m/fraud/models/1.0/deploy", nil, nil)
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	})
	t.Run("host check", func(t *testing.T) {
		hosts := newModelsEnv(t, e.store, &registryhttp.ModelsOptions{Options: registryhttp.Options{
			Authorizer: registryhttp.BearerTokens(testToken), AllowedHosts: []string{"models.example"}}})
		resp, body := hosts.call("GET", "/m/fraud/models")
		assert.Equal(t, http.StatusMisdirectedRequest, resp.StatusCode, "%s", body)
		resp, body = hosts.call("GET", "/")
		assert.Equal(t, http.StatusMisdirectedRequest, resp.StatusCode, "%s", body)
	})
}

func TestModelsUI(t *testing.T) {
	e := newModelsEnv(t, nil, nil)
	t.Run("a model's page names its model", func(t *testing.T) {
		resp, body := e.do("GET", "/m/fraud.v2/", nil, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
		assert.Contains(t, string(body), `<body data-model="fraud.v2">`)
		assert.Contains(t, string(body), `id="model-switch"`)
	})
	t.Run("the model list page", func(t *testing.T) {
		resp, body := e.do("GET", "/", nil, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Contains(t, string(body), `src="models.js"`)
		resp, body = e.do("GET", "/models.js", nil, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "text/javascript; charset=utf-8", resp.Header.Get("Content-Type"))
		assert.Contains(t, string(body), "models-index")
	})
	t.Run("without the slash, a relative redirect", func(t *testing.T) {
		client := *e.srv.Client()
		client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := client.Get(e.srv.URL + "/m/fraud")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusMovedPermanently, resp.StatusCode)
		assert.Equal(t, "fraud/", resp.Header.Get("Location"))
	})
	t.Run("mounted under a prefix", func(t *testing.T) {
		mux := http.NewServeMux()
		mux.Handle("/registry/", http.StripPrefix("/registry", e.m))
		srv := httptest.NewServer(mux)
		defer srv.Close()
		req, _ := http.NewRequest("GET", srv.URL+"/registry/m/nope/models", nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusNotFound, resp.StatusCode)
		assert.Equal(t, "unknown_model", errorOf(t, body).Error.Code)
	})
}

func TestModelsMaxOpen(t *testing.T) {
	e := newModelsEnv(t, nil, &registryhttp.ModelsOptions{
		Options: registryhttp.Options{Authorizer: registryhttp.BearerTokens(testToken), Heartbeat: time.Hour},
		MaxOpen: 2,
	})
	for _, name := range []string{"a", "b", "c"} {
		resp, body := e.upload(name, "1.0", "")
		require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
	}
	assert.Equal(t, []string{"b", "c"}, e.m.Opened(), "the least recently used model was closed")
	resp, body := e.call("GET", "/m/a/models/1.0")
	require.Equal(t, http.StatusOK, resp.StatusCode, "a closed model opens again: %s", body)
	assert.Equal(t, []string{"a", "c"}, e.m.Opened())
	resp, body = e.call("GET", "/models-index")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	assert.Len(t, decode[modelsIndex](t, body).Models, 3, "the index reads every model, whatever the bound")
	assert.Equal(t, []string{"a", "c"}, e.m.Opened(), "listing closes no model in use")

	// Two event streams keep two models busy: a third cannot open.
	for _, name := range []string{"a", "b"} {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/m/"+name+"/events", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := e.srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		line, err := bufio.NewReader(resp.Body).ReadString('\n')
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(line, ": modelvault events"), line)
	}
	resp, body = e.call("GET", "/m/c/models")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "%s", body)
	assert.Equal(t, "busy", errorOf(t, body).Error.Code)
	assert.NotEmpty(t, resp.Header.Get("Retry-After"))
	resp, body = e.call("GET", "/m/a/models")
	assert.Equal(t, http.StatusOK, resp.StatusCode, "an open model still answers: %s", body)
}

func TestModelsClose(t *testing.T) {
	e := newModelsEnv(t, nil, nil)
	resp, body := e.upload("fraud", "1.0", "")
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/m/fraud/events", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testToken)
	stream, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	defer stream.Body.Close()
	require.Equal(t, http.StatusOK, stream.StatusCode)

	require.NoError(t, e.m.Close())
	_, err = io.Copy(io.Discard, stream.Body)
	assert.NoError(t, err, "Close ends the model's event streams")
	assert.Empty(t, e.m.Opened())
	resp, body = e.call("GET", "/m/fraud/models")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "%s", body)
	require.NoError(t, e.m.Close(), "a second Close is harmless")
}

func TestModelsHostRegistries(t *testing.T) {
	store := memStore()
	ctx := context.Background()
	own, err := registry.OpenModel(ctx, store, "fraud", &registry.Options{SkipOpenScan: true})
	require.NoError(t, err)
	defer own.Close()
	var opened atomic.Int32
	e := newModelsEnv(t, store, &registryhttp.ModelsOptions{
		Options: registryhttp.Options{Authorizer: registryhttp.BearerTokens(testToken)},
		Open: func(ctx context.Context, name string) (*registry.Registry, error) {
			opened.Add(1)
			if name == "fraud" {
				return own, nil
			}
			return registry.OpenModel(ctx, store, name, &registry.Options{SkipOpenScan: true})
		},
	})
	resp, body := e.upload("fraud", "1.0", "")
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
	_, err = own.Get("1.0")
	require.NoError(t, err, "the import went through the host's registry, without a refresh")
	assert.EqualValues(t, 1, opened.Load())
	require.NoError(t, e.m.Close())
	_, err = own.Deploy(ctx, "1.0", nil)
	assert.NoError(t, err, "Models does not close a registry the host gave it")
}

func TestModelsFailedCreateLeavesNoModel(t *testing.T) {
	for name, store := range map[string]func(t *testing.T) storage.Store{
		"memory": func(*testing.T) storage.Store { return memStore() },
		"disk": func(t *testing.T) storage.Store {
			s, err := diskstore.Open(t.TempDir(), nil)
			require.NoError(t, err)
			t.Cleanup(func() { s.Close() })
			return s
		},
	} {
		t.Run(name, func(t *testing.T) {
			s := store(t)
			e := newModelsEnv(t, s, nil)
			body, ctype := multipartBody(t, "file", modelpkg.FileName("1.0"), tamperedZip(t, "1.0"))
			resp, data := e.do("POST", "/m/ghost/models/import", body, map[string]string{"Authorization": "Bearer " + testToken, "Content-Type": ctype})
			require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "%s", data)
			names, err := registry.Models(context.Background(), s)
			require.NoError(t, err)
			assert.Empty(t, names)
			assert.Empty(t, e.m.Opened(), "the registry opened for the import is closed again")
			resp, data = e.call("GET", "/m/ghost/models")
			assert.Equal(t, http.StatusNotFound, resp.StatusCode, "%s", data)
			resp, data = e.call("GET", "/models-index")
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s", data)
			assert.Empty(t, decode[modelsIndex](t, data).Models)
			other := newModelsEnv(t, s, nil)
			resp, data = other.call("GET", "/m/ghost/models")
			assert.Equal(t, http.StatusNotFound, resp.StatusCode, "%s", data)
		})
	}
}

// TestModelsOneStreamCap: MaxEventStreams bounds the event streams of
// every model together.
func TestModelsOneStreamCap(t *testing.T) {
	e := newModelsEnv(t, nil, &registryhttp.ModelsOptions{Options: registryhttp.Options{
		Authorizer: registryhttp.BearerTokens(testToken), MaxEventStreams: 1, Heartbeat: time.Hour}})
	for _, name := range []string{"a", "b"} {
		resp, body := e.upload(name, "1.0", "")
		require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/m/a/events", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testToken)
	stream, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	defer stream.Body.Close()
	require.Equal(t, http.StatusOK, stream.StatusCode)
	_, err = bufio.NewReader(stream.Body).ReadString('\n')
	require.NoError(t, err)

	resp, body := e.call("GET", "/m/b/events")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "%s", body)
	assert.Equal(t, "busy", errorOf(t, body).Error.Code)
}

// TestModelsWithoutStore: a Models handler given neither a store nor
// Open knows no model and fails an import with a server fault, without
// panicking.
func TestModelsWithoutStore(t *testing.T) {
	m := registryhttp.NewModels(nil, &registryhttp.ModelsOptions{Options: registryhttp.Options{AllowUnauthenticated: true, TempDir: t.TempDir()}})
	defer m.Close()
	srv := httptest.NewServer(m)
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/m/x/models")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Equal(t, "unknown_model", errorOf(t, body).Error.Code)
	form, ctype := multipartBody(t, "file", modelpkg.FileName("1.0"), validZip(t, "1.0"))
	resp, err = srv.Client().Post(srv.URL+"/m/x/models/import", ctype, form)
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	assert.Equal(t, "internal", errorOf(t, body).Error.Code)
}
