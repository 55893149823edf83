package registryhttp_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
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
)

type versionResp struct {
	Version *registry.Version `json:"version"`
	DryRun  bool              `json:"dry_run"`
}

type versionsResp struct {
	Versions []*registry.Version `json:"versions"`
}

type eventResp struct {
	Event   *registry.Event   `json:"event"`
	Version *registry.Version `json:"version"`
}

func TestAuthorization(t *testing.T) {
	bearer := &registryhttp.Options{Authorizer: registryhttp.BearerTokens("first-token", testToken)}
	tests := []struct {
		name       string
		opts       *registryhttp.Options
		method     string
		path       string
		hdr        map[string]string
		wantStatus int
		wantCode   string
	}{
		{"write without token", bearer, "POST", "/models/scan", nil, 401, "unauthenticated"},
		{"write with wrong token", bearer, "POST", "/models/scan", map[string]string{"Authorization": "Bearer nope"}, 401, "unauthenticated"},
		{"write with basic auth", bearer, "POST", "/models/scan", map[string]string{"Authorization": "Basic Zm9vOmJhcg=="}, 401, "unauthenticated"},
		{"write with a token", bearer, "POST", "/models/scan", map[string]string{"Authorization": "Bearer " + testToken}, 200, ""},
		{"write with the other token", bearer, "POST", "/models/scan", map[string]string{"Authorization": "bearer first-token"}, 200, ""},
		{"read without token", bearer, "GET", "/models", nil, 401, "unauthenticated"},
		{"read with token", bearer, "GET", "/models", map[string]string{"Authorization": "Bearer " + testToken}, 200, ""},
		{"events without token", bearer, "GET", "/events", nil, 401, "unauthenticated"},
		{"history without token", bearer, "GET", "/history", nil, 401, "unauthenticated"},
		{"UI is public", bearer, "GET", "/", nil, 200, ""},
		{"script is public", bearer, "GET", "/app.js", nil, 200, ""},
		{"openapi is public", bearer, "GET", "/openapi.json", nil, 200, ""},
		{"no authorizer refuses writes", &registryhttp.Options{}, "POST", "/models/scan", map[string]string{"Authorization": "Bearer x"}, 403, "no_authorizer"},
		{"no authorizer refuses reads", &registryhttp.Options{}, "GET", "/models", nil, 403, "no_authorizer"},
		{"no authorizer, public reads", &registryhttp.Options{PublicReads: true}, "GET", "/models", nil, 200, ""},
		{"no authorizer, public reads, writes refused", &registryhttp.Options{PublicReads: true}, "POST", "/models/scan", nil, 403, "no_authorizer"},
		{"opt-out allows writes", &registryhttp.Options{AllowUnauthenticated: true}, "POST", "/models/scan", nil, 200, ""},
		{"opt-out allows reads", &registryhttp.Options{AllowUnauthenticated: true}, "GET", "/history", nil, 200, ""},
		{"public reads with a token authorizer", &registryhttp.Options{Authorizer: registryhttp.BearerTokens(testToken), PublicReads: true}, "GET", "/models", nil, 200, ""},
		{"public reads still guard writes", &registryhttp.Options{Authorizer: registryhttp.BearerTokens(testToken), PublicReads: true}, "DELETE", "/models/1.0", nil, 401, "unauthenticated"},
		{"no tokens refuse everything", &registryhttp.Options{Authorizer: registryhttp.BearerTokens("")}, "POST", "/models/scan", map[string]string{"Authorization": "Bearer "}, 401, "unauthenticated"},
		{"authorizer forbids", &registryhttp.Options{Authorizer: registryhttp.AuthorizerFunc(func(r *http.Request) (string, error) {
			if r.Method == http.MethodGet {
				return "reader", nil
			}
			return "", registryhttp.ErrForbidden
		})}, "POST", "/models/scan", nil, 403, "forbidden"},
		{"authorizer fault is a 401", &registryhttp.Options{Authorizer: registryhttp.AuthorizerFunc(func(*http.Request) (string, error) {
			return "", errors.New("ldap down")
		})}, "GET", "/models", nil, 401, "unauthenticated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.opts)
			resp, body := e.do(tt.method, tt.path, nil, tt.hdr)
			require.Equal(t, tt.wantStatus, resp.StatusCode, "%s", body)
			if tt.wantCode != "" {
				assert.Equal(t, tt.wantCode, errorOf(t, body).Error.Code)
				assert.NotContains(t, string(body), "ldap", "authorizer internals must not leak")
			}
			if tt.wantStatus == 401 {
				assert.Equal(t, `Bearer realm="modelvault"`, resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

func TestCrossOrigin(t *testing.T) {
	e := newEnv(t, nil)
	e.mustImport("1.0")
	with := func(k, v string) map[string]string {
		h := e.auth()
		h[k] = v
		return h
	}
	t.Run("foreign Origin refused", func(t *testing.T) {
		resp, body := e.do("POST", "/models/1.0/deploy", nil, with("Origin", "https://evil.example"))
		require.Equal(t, 403, resp.StatusCode, "%s", body)
		assert.Equal(t, "cross_origin", errorOf(t, body).Error.Code)
		_, err := e.reg.Deployed()
		assert.ErrorIs(t, err, registry.ErrNotFound, "nothing may be deployed")
	})
	t.Run("cross-site fetch refused", func(t *testing.T) {
		resp, body := e.do("DELETE", "/models/1.0", nil, with("Sec-Fetch-Site", "cross-site"))
		require.Equal(t, 403, resp.StatusCode, "%s", body)
		assert.Equal(t, "cross_origin", errorOf(t, body).Error.Code)
	})
	t.Run("cross-origin upload refused before reading", func(t *testing.T) {
		body, ctype := multipartBody(t, "file", "model_2.0_deployment.zip", validZip(t, "2.0"))
		h := with("Origin", "http://attacker.test")
		h["Content-Type"] = ctype
		resp, rb := e.do("POST", "/models/import", body, h)
		require.Equal(t, 403, resp.StatusCode, "%s", rb)
	})
	t.Run("same origin allowed", func(t *testing.T) {
		resp, body := e.do("POST", "/models/1.0/deploy", nil, with("Origin", e.srv.URL))
		require.Equal(t, 200, resp.StatusCode, "%s", body)
	})
	t.Run("same-origin fetch allowed", func(t *testing.T) {
		resp, body := e.do("POST", "/models/1.0/validate", nil, with("Sec-Fetch-Site", "same-origin"))
		require.Equal(t, 200, resp.StatusCode, "%s", body)
	})
	t.Run("reads from another origin are not changes", func(t *testing.T) {
		resp, body := e.do("GET", "/models", nil, with("Origin", "https://evil.example"))
		require.Equal(t, 200, resp.StatusCode, "%s", body)
		assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"), "no CORS: other sites cannot read answers")
	})
	t.Run("opt-out still refuses cross-origin changes", func(t *testing.T) {
		e := newEnv(t, &registryhttp.Options{AllowUnauthenticated: true})
		resp, body := e.do("POST", "/models/scan", nil, map[string]string{"Origin": "https://evil.example"})
		require.Equal(t, 403, resp.StatusCode, "%s", body)
	})
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t, nil)
	for _, path := range []string{"/", "/app.js", "/app.css", "/openapi.json", "/models", "/nope", "/models/1.0"} {
		t.Run(path, func(t *testing.T) {
			resp, _ := e.call("GET", path)
			assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
			assert.Equal(t, "no-referrer", resp.Header.Get("Referrer-Policy"))
			assert.Equal(t, "DENY", resp.Header.Get("X-Frame-Options"))
			csp := resp.Header.Get("Content-Security-Policy")
			require.NotEmpty(t, csp)
			assert.Contains(t, csp, "frame-ancestors 'none'")
			assert.NotContains(t, csp, "unsafe-inline")
		})
	}
	t.Run("UI policy", func(t *testing.T) {
		resp, body := e.do("GET", "/", nil, nil)
		assert.Equal(t, "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
			resp.Header.Get("Content-Security-Policy"))
		assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
		page := string(body)
		assert.NotContains(t, page, "<script>", "no inline scripts")
		assert.NotContains(t, page, "<style", "no inline styles")
		assert.NotContains(t, page, " style=", "no inline styles")
		assert.NotContains(t, page, "http://", "no external assets")
		assert.NotContains(t, page, "https://", "no external assets")
		assert.Contains(t, page, `src="app.js"`, "relative URLs")
	})
	t.Run("script type", func(t *testing.T) {
		resp, body := e.do("GET", "/app.js", nil, nil)
		assert.Equal(t, "text/javascript; charset=utf-8", resp.Header.Get("Content-Type"))
		assert.False(t, strings.Contains(string(body), "innerHTML"), "no HTML parsing of data")
		assert.False(t, strings.Contains(string(body), "fetch('/"), "URLs must be relative")
	})
	t.Run("API answers are not cached", func(t *testing.T) {
		resp, _ := e.call("GET", "/models")
		assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	})
}

func TestImport(t *testing.T) {
	t.Run("imports", func(t *testing.T) {
		e := newEnv(t, nil)
		resp, body := e.upload("?reason=first", "model_1.0_deployment.zip", validZip(t, "1.0"))
		require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
		v := decode[versionResp](t, body).Version
		assert.Equal(t, "1.0", v.Version)
		assert.Equal(t, registry.StatusAvailable, v.Status)
		assert.Equal(t, registry.MethodZipUpload, v.ImportMethod)
		assert.Equal(t, "RandomForestClassifier", v.ModelType)
		assert.NotNil(t, v.Findings)
		assert.Contains(t, v.Files, "model.joblib")
		got, err := e.reg.Get("1.0")
		require.NoError(t, err)
		assert.Equal(t, v.Size, got.Size)
		hist, err := e.reg.History(context.Background(), nil)
		require.NoError(t, err)
		require.NotEmpty(t, hist)
		last := hist[len(hist)-1]
		assert.Equal(t, registryhttp.TokenActor(testToken), last.Actor)
		assert.Equal(t, "first", last.Reason)
		assert.Empty(t, dirEntries(t, e), "the spooled upload is removed")

		t.Run("same package again is 200", func(t *testing.T) {
			resp, body := e.upload("", "model_1.0_deployment.zip", validZip(t, "1.0"))
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		})
		t.Run("other content is 409", func(t *testing.T) {
			files := pkgFiles("1.0", "")
			files["README.md"].Data = []byte("changed\n")
			resp, body := e.upload("", "model_1.0_deployment.zip", zipOf(t, files))
			require.Equal(t, http.StatusConflict, resp.StatusCode, "%s", body)
			assert.Equal(t, "version_exists", errorOf(t, body).Error.Code)
		})
	})

	tests := []struct {
		name       string
		query      string
		field      string
		filename   string
		data       func(t *testing.T) []byte
		wantStatus int
		wantCode   string
		wantFind   string // a finding code the error must carry
	}{
		{"bad name", "", "file", "model-1.0.zip", func(t *testing.T) []byte { return validZip(t, "1.0") }, 400, "invalid_name", ""},
		{"name with a path", "", "file", "../../model_1.0_deployment.zip", func(t *testing.T) []byte { return validZip(t, "1.0") }, 400, "invalid_name", ""},
		{"name with a backslash path", "", "file", `..\model_1.0_deployment.zip`, func(t *testing.T) []byte { return validZip(t, "1.0") }, 400, "invalid_name", ""},
		{"no file name", "", "file", "", func(t *testing.T) []byte { return validZip(t, "1.0") }, 400, "bad_request", ""},
		{"wrong field", "", "upload", "model_1.0_deployment.zip", func(t *testing.T) []byte { return validZip(t, "1.0") }, 400, "bad_request", ""},
		{"bad query", "?dry_run=maybe", "file", "model_1.0_deployment.zip", func(t *testing.T) []byte { return validZip(t, "1.0") }, 400, "bad_request", ""},
		{"bad validate flag", "?validate=2", "file", "model_1.0_deployment.zip", func(t *testing.T) []byte { return validZip(t, "1.0") }, 400, "bad_request", ""},
		{"not a zip", "", "file", "model_1.0_deployment.zip", func(t *testing.T) []byte { return []byte("not a zip") }, 422, "invalid_archive", "invalid_archive"},
		{"tampered", "", "file", "model_1.0_deployment.zip", func(t *testing.T) []byte { return tamperedZip(t, "1.0") }, 422, "hash_mismatch", "hash_mismatch"},
		{"tampered, dry run", "?dry_run=true", "file", "model_1.0_deployment.zip", func(t *testing.T) []byte { return tamperedZip(t, "1.0") }, 422, "validation_failed", "hash_mismatch"},
		{"version differs from metadata", "", "file", "model_3.0_deployment.zip", func(t *testing.T) []byte { return validZip(t, "1.0") }, 422, "invalid_metadata", "invalid_metadata"},
		{"unsafe model", "", "file", "model_1.0_deployment.zip", func(t *testing.T) []byte {
			files := pkgFiles("1.0", "")
			files["model.joblib"].Data = []byte("\x80\x04\x95\x11\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x94\x8c\x06system\x94\x93\x94.")
			return zipOf(t, files)
		}, 422, "validation_failed", "unsafe_model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			body, ctype := multipartBody(t, tt.field, tt.filename, tt.data(t))
			hdr := e.auth()
			hdr["Content-Type"] = ctype
			resp, rb := e.do("POST", "/models/import"+tt.query, body, hdr)
			require.Equal(t, tt.wantStatus, resp.StatusCode, "%s", rb)
			apiErr := errorOf(t, rb)
			assert.Equal(t, tt.wantCode, apiErr.Error.Code, "%s", rb)
			assert.NotEmpty(t, apiErr.Error.Message)
			if tt.wantFind != "" {
				assert.Contains(t, codes(apiErr.Error.Findings), tt.wantFind)
			}
			assert.Empty(t, e.reg.List(nil), "nothing is registered")
			assert.Empty(t, dirEntries(t, e), "no temporary file is left")
		})
	}

	t.Run("not multipart", func(t *testing.T) {
		e := newEnv(t, nil)
		hdr := e.auth()
		hdr["Content-Type"] = "application/zip"
		resp, body := e.do("POST", "/models/import", bytes.NewReader(validZip(t, "1.0")), hdr)
		require.Equal(t, 400, resp.StatusCode, "%s", body)
		assert.Equal(t, "bad_request", errorOf(t, body).Error.Code)
	})
	t.Run("truncated body", func(t *testing.T) {
		e := newEnv(t, nil)
		body, ctype := multipartBody(t, "file", "model_1.0_deployment.zip", validZip(t, "1.0"))
		data, _ := io.ReadAll(body)
		hdr := e.auth()
		hdr["Content-Type"] = ctype
		resp, rb := e.do("POST", "/models/import", bytes.NewReader(data[:len(data)/2]), hdr)
		require.Equal(t, 400, resp.StatusCode, "%s", rb)
	})
	t.Run("validate=false is refused by default", func(t *testing.T) {
		e := newEnv(t, nil)
		resp, body := e.upload("?validate=false", "model_1.0_deployment.zip", validZip(t, "1.0"))
		require.Equal(t, http.StatusForbidden, resp.StatusCode, "%s", body)
		assert.Equal(t, "forbidden", errorOf(t, body).Error.Code)
		assert.Empty(t, e.reg.List(nil))
	})
	t.Run("validate=false skips the validators when allowed", func(t *testing.T) {
		e := newEnv(t, &registryhttp.Options{Authorizer: registryhttp.BearerTokens(testToken), AllowSkipValidation: true})
		files := pkgFiles("1.0", "")
		files["model.joblib"].Data = []byte("\x80\x04\x95\x11\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x94\x8c\x06system\x94\x93\x94.")
		resp, body := e.upload("?validate=false", "model_1.0_deployment.zip", zipOf(t, files))
		require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
		t.Run("but not the integrity checks", func(t *testing.T) {
			resp, body := e.upload("?validate=false", "model_2.0_deployment.zip", tamperedZip(t, "2.0"))
			require.Equal(t, 422, resp.StatusCode, "%s", body)
		})
	})
}

func TestImportDryRun(t *testing.T) {
	e := newEnv(t, nil)
	resp, body := e.upload("?dry_run=true", "model_1.0_deployment.zip", validZip(t, "1.0"))
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	got := decode[versionResp](t, body)
	assert.True(t, got.DryRun)
	assert.Equal(t, "1.0", got.Version.Version)
	assert.JSONEq(t, `"iris"`, string(extract(t, got.Version.Metadata, "training_info", "dataset")))
	assert.NotEmpty(t, got.Version.Files)
	assert.NotNil(t, got.Version.Findings)
	assert.Empty(t, e.reg.List(nil), "a dry run registers nothing")
	hist, err := e.reg.History(context.Background(), nil)
	require.NoError(t, err)
	assert.Empty(t, hist)

	t.Run("warnings are shown", func(t *testing.T) {
		files := pkgFiles("2.0", "")
		files["notes.txt"] = files["README.md"]
		resp, body := e.upload("?dry_run=true", "model_2.0_deployment.zip", zipOf(t, files))
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		v := decode[versionResp](t, body).Version
		assert.Contains(t, v.Files, "notes.txt")
	})
	t.Run("existing version is 409", func(t *testing.T) {
		e.mustImport("1.0")
		resp, body := e.upload("?dry_run=true", "model_1.0_deployment.zip", validZip(t, "1.0"))
		require.Equal(t, http.StatusConflict, resp.StatusCode, "%s", body)
	})
}

func TestUploadTooLarge(t *testing.T) {
	e := newEnv(t, &registryhttp.Options{Authorizer: registryhttp.BearerTokens(testToken), MaxUploadSize: 2 << 10})
	data := validZip(t, "1.0")
	require.Greater(t, len(data), 2<<10)
	t.Run("declared length", func(t *testing.T) {
		resp, body := e.upload("", "model_1.0_deployment.zip", data)
		require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, "%s", body)
		apiErr := errorOf(t, body)
		assert.Equal(t, "too_large", apiErr.Error.Code)
		assert.Contains(t, apiErr.Error.Message, "2 KiB", "sizes are human-readable")
	})
	t.Run("chunked body", func(t *testing.T) {
		body, ctype := multipartBody(t, "file", "model_1.0_deployment.zip", data)
		hdr := e.auth()
		hdr["Content-Type"] = ctype
		// A reader without a known length makes the client send chunks,
		// so only MaxBytesReader can catch it.
		resp, rb := e.do("POST", "/models/import", io.MultiReader(body), hdr)
		require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, "%s", rb)
		assert.Equal(t, "too_large", errorOf(t, rb).Error.Code)
	})
	assert.Empty(t, e.reg.List(nil))
	assert.Empty(t, dirEntries(t, e))
	t.Run("default is 100 MiB", func(t *testing.T) {
		assert.EqualValues(t, 100<<20, registryhttp.DefaultMaxUploadSize)
	})
}

// TestNameCheckedFirst sends a form whose file part has a bad name and a
// body that fails the test if anyone reads it.
func TestNameCheckedFirst(t *testing.T) {
	e := newEnv(t, nil)
	const boundary = "XBOUNDARYX"
	head := "--" + boundary + "\r\n" +
		`Content-Disposition: form-data; name="file"; filename="../etc/model_1_deployment.zip"` + "\r\n" +
		"Content-Type: application/zip\r\n\r\n"
	var read atomic.Bool
	body := io.MultiReader(strings.NewReader(head), readerFunc(func(p []byte) (int, error) {
		read.Store(true)
		return 0, errors.New("the body must not be read")
	}))
	req := httptest.NewRequest("POST", "/models/import", body)
	req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
	req.Header.Set("Authorization", "Bearer "+testToken)
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	require.Equal(t, 400, rec.Code, "%s", rec.Body)
	assert.Equal(t, "invalid_name", errorOf(t, rec.Body.Bytes()).Error.Code)
	assert.False(t, read.Load(), "the file's bytes were read before its name was checked")
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

func TestEndpoints(t *testing.T) {
	e := newEnv(t, nil)
	e.mustImport("1.0")
	e.mustImport("1.1")

	t.Run("list", func(t *testing.T) {
		resp, body := e.call("GET", "/models")
		require.Equal(t, 200, resp.StatusCode)
		vs := decode[versionsResp](t, body).Versions
		require.Len(t, vs, 2)
		assert.Equal(t, "1.1", vs[0].Version, "newest first")
	})
	t.Run("list by status", func(t *testing.T) {
		_, body := e.call("GET", "/models?status=invalid")
		assert.Empty(t, decode[versionsResp](t, body).Versions)
		assert.Contains(t, string(body), `"versions": []`, "an empty list is [] not null")
		_, body = e.call("GET", "/models?status=available")
		assert.Len(t, decode[versionsResp](t, body).Versions, 2)
	})
	t.Run("list by bad status", func(t *testing.T) {
		resp, _ := e.call("GET", "/models?status=gone")
		assert.Equal(t, 400, resp.StatusCode)
	})
	t.Run("get", func(t *testing.T) {
		resp, body := e.call("GET", "/models/1.0")
		require.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, "1.0", decode[versionResp](t, body).Version.Version)
	})
	t.Run("get unknown", func(t *testing.T) {
		resp, body := e.call("GET", "/models/9.9")
		require.Equal(t, 404, resp.StatusCode)
		assert.Equal(t, "not_found", errorOf(t, body).Error.Code)
	})
	t.Run("bad version in path", func(t *testing.T) {
		for _, p := range []string{"/models/..%2Fetc/deploy", "/models/-1/deploy", "/models/a%20b/deploy"} {
			resp, body := e.call("POST", p)
			require.Equal(t, 400, resp.StatusCode, "%s: %s", p, body)
			assert.Equal(t, "invalid_name", errorOf(t, body).Error.Code)
		}
	})
	t.Run("unknown route", func(t *testing.T) {
		resp, body := e.call("GET", "/nope")
		require.Equal(t, 404, resp.StatusCode)
		assert.Equal(t, "not_found", errorOf(t, body).Error.Code)
		assert.Equal(t, "application/json; charset=utf-8", resp.Header.Get("Content-Type"))
	})
	t.Run("wrong method", func(t *testing.T) {
		resp, body := e.call("PUT", "/models/1.0")
		require.Equal(t, 405, resp.StatusCode)
		assert.Equal(t, "method_not_allowed", errorOf(t, body).Error.Code)
		assert.Contains(t, resp.Header.Get("Allow"), "GET")
	})
	t.Run("rollback with nothing deployed", func(t *testing.T) {
		resp, body := e.call("POST", "/rollback")
		require.Equal(t, 409, resp.StatusCode, "%s", body)
		assert.Equal(t, "no_previous", errorOf(t, body).Error.Code)
	})
	t.Run("deploy", func(t *testing.T) {
		resp, body := e.call("POST", "/models/1.0/deploy?reason=go")
		require.Equal(t, 200, resp.StatusCode, "%s", body)
		got := decode[eventResp](t, body)
		require.NotNil(t, got.Event)
		assert.Equal(t, registry.EventDeployed, got.Event.Type)
		assert.Equal(t, "go", got.Event.Reason)
		assert.Nil(t, got.Event.Record)
		assert.Equal(t, registry.StatusDeployed, got.Version.Status)
		assert.NotContains(t, string(body), `"record"`)
	})
	t.Run("deploy again is a no-op", func(t *testing.T) {
		resp, body := e.call("POST", "/models/1.0/deploy")
		require.Equal(t, 200, resp.StatusCode, "%s", body)
		assert.Contains(t, string(body), `"event": null`)
	})
	t.Run("rollback with no previous", func(t *testing.T) {
		resp, body := e.call("POST", "/rollback")
		require.Equal(t, 409, resp.StatusCode, "%s", body)
		assert.Equal(t, "no_previous", errorOf(t, body).Error.Code)
	})
	t.Run("deploy another, roll back", func(t *testing.T) {
		resp, body := e.call("POST", "/models/1.1/deploy")
		require.Equal(t, 200, resp.StatusCode, "%s", body)
		resp, body = e.call("POST", "/rollback")
		require.Equal(t, 200, resp.StatusCode, "%s", body)
		got := decode[eventResp](t, body)
		assert.Equal(t, registry.EventRolledBack, got.Event.Type)
		assert.Equal(t, "1.0", got.Event.To)
		assert.Equal(t, "1.1", got.Event.From)
	})
	t.Run("rollback to a version", func(t *testing.T) {
		resp, body := e.call("POST", "/models/1.1/rollback")
		require.Equal(t, 200, resp.StatusCode, "%s", body)
		got := decode[eventResp](t, body)
		assert.Equal(t, registry.EventRolledBack, got.Event.Type)
		assert.Equal(t, "1.1", got.Event.To)
	})
	t.Run("rollback to unknown", func(t *testing.T) {
		resp, _ := e.call("POST", "/models/7/rollback")
		assert.Equal(t, 404, resp.StatusCode)
	})
	t.Run("delete deployed is 409", func(t *testing.T) {
		resp, body := e.call("DELETE", "/models/1.1")
		require.Equal(t, 409, resp.StatusCode, "%s", body)
		assert.Equal(t, "in_use", errorOf(t, body).Error.Code)
	})
	t.Run("delete unknown is 404", func(t *testing.T) {
		resp, _ := e.call("DELETE", "/models/5.5")
		assert.Equal(t, 404, resp.StatusCode)
	})
	t.Run("validate", func(t *testing.T) {
		resp, body := e.call("POST", "/models/1.0/validate")
		require.Equal(t, 200, resp.StatusCode, "%s", body)
		got := decode[struct {
			Valid    bool
			Findings []any
			Version  *registry.Version
		}](t, body)
		assert.True(t, got.Valid)
		assert.NotNil(t, got.Findings)
		assert.Equal(t, "1.0", got.Version.Version)
	})
	t.Run("validate a damaged stored version", func(t *testing.T) {
		require.NoError(t, e.store.Put(context.Background(), "model_1.0/README.md", strings.NewReader("damaged"), nil))
		resp, body := e.call("POST", "/models/1.0/validate")
		require.Equal(t, 200, resp.StatusCode, "%s", body)
		assert.Contains(t, string(body), `"valid": false`)
		assert.Contains(t, string(body), "hash_mismatch")
		v, err := e.reg.Get("1.0")
		require.NoError(t, err)
		assert.Equal(t, registry.StatusInvalid, v.Status)
		t.Run("deploying it is 409", func(t *testing.T) {
			resp, body := e.call("POST", "/models/1.0/deploy")
			require.Equal(t, 409, resp.StatusCode, "%s", body)
			assert.Equal(t, "invalid_version", errorOf(t, body).Error.Code)
		})
	})
	t.Run("delete", func(t *testing.T) {
		resp, body := e.call("DELETE", "/models/1.0?reason=cleanup")
		require.Equal(t, 200, resp.StatusCode, "%s", body)
		got := decode[eventResp](t, body)
		assert.Equal(t, registry.EventDeleted, got.Event.Type)
		assert.Equal(t, "cleanup", got.Event.Reason)
		_, err := e.reg.Get("1.0")
		assert.ErrorIs(t, err, registry.ErrNotFound)
	})
	t.Run("scan", func(t *testing.T) {
		require.NoError(t, e.store.Put(context.Background(), "model_2.0_deployment.zip", bytes.NewReader(validZip(t, "2.0")), nil))
		resp, body := e.call("POST", "/models/scan")
		require.Equal(t, 200, resp.StatusCode, "%s", body)
		got := decode[struct {
			Registered []*registry.Version
			Invalid    []*registry.Version
			Skipped    map[string]string
		}](t, body)
		require.Len(t, got.Registered, 1)
		assert.Equal(t, registry.MethodManualPlacement, got.Registered[0].ImportMethod)
		assert.Contains(t, string(body), `"invalid": []`)
	})
	t.Run("history", func(t *testing.T) {
		resp, body := e.call("GET", "/history")
		require.Equal(t, 200, resp.StatusCode)
		all := decode[struct{ Events []*registry.Event }](t, body).Events
		require.Greater(t, len(all), 5)
		assert.NotContains(t, string(body), `"record"`)
		_, body = e.call("GET", "/history?limit=2")
		last := decode[struct{ Events []*registry.Event }](t, body).Events
		require.Len(t, last, 2)
		assert.Equal(t, all[len(all)-1].Seq, last[1].Seq)
		_, body = e.call("GET", "/history?version=1.1")
		for _, ev := range decode[struct{ Events []*registry.Event }](t, body).Events {
			assert.True(t, ev.Version == "1.1" || ev.From == "1.1" || ev.To == "1.1")
		}
		_, body = e.call("GET", "/history?after=3")
		assert.Equal(t, int64(4), decode[struct{ Events []*registry.Event }](t, body).Events[0].Seq)
		resp, _ = e.call("GET", "/history?limit=-1")
		assert.Equal(t, 400, resp.StatusCode)
		resp, _ = e.call("GET", "/history?after=x")
		assert.Equal(t, 400, resp.StatusCode)
	})
	t.Run("a package of another model_type joins the lineage", func(t *testing.T) {
		resp, body := e.upload("", "model_3.0_deployment.zip", zipOf(t, pkgFiles("3.0", "LogisticRegression")))
		require.Equal(t, 201, resp.StatusCode, "%s", body)
		resp, body = e.call("POST", "/models/3.0/deploy")
		require.Equal(t, 200, resp.StatusCode, "%s", body)
		assert.Equal(t, "3.0", decode[eventResp](t, body).Event.To)
		resp, body = e.call("POST", "/rollback")
		require.Equal(t, 200, resp.StatusCode, "%s", body)
		assert.NotEqual(t, "3.0", decode[eventResp](t, body).Event.To)
	})
}

func TestActor(t *testing.T) {
	e := newEnv(t, nil)
	e.mustImport("1.0")
	hdr := e.auth()
	hdr["X-Modelvault-Actor"] = "  alice "
	resp, body := e.do("POST", "/models/1.0/deploy?reason=release%20day", nil, hdr)
	require.Equal(t, 200, resp.StatusCode, "%s", body)
	ev := decode[eventResp](t, body).Event
	assert.Equal(t, "alice ("+registryhttp.TokenActor(testToken)+")", ev.Actor)
	assert.Equal(t, "release day", ev.Reason)
	assert.True(t, strings.HasPrefix(registryhttp.TokenActor(testToken), "token:"))
	assert.Len(t, registryhttp.TokenActor(testToken), len("token:")+8)
	assert.NotContains(t, ev.Actor, testToken)
}

// failingStore fails listings when fail is set.
type failingStore struct {
	storage.Store
	fail atomic.Bool
}

func (s *failingStore) List(ctx context.Context, opts *storage.ListOptions) (*storage.ListPage, error) {
	if s.fail.Load() {
		return nil, errors.New("disk on fire at /secret/path")
	}
	return s.Store.List(ctx, opts)
}

func TestServerFault(t *testing.T) {
	store := &failingStore{Store: memStore()}
	reg := openReg(t, store)
	var logs bytes.Buffer
	h := registryhttp.New(reg, &registryhttp.Options{
		Authorizer: registryhttp.BearerTokens(testToken),
		Logger:     slog.New(slog.NewTextHandler(&logs, nil)),
	})
	store.fail.Store(true)
	req := httptest.NewRequest("POST", "/models/scan", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, 500, rec.Code)
	apiErr := errorOf(t, rec.Body.Bytes())
	assert.Equal(t, "internal", apiErr.Error.Code)
	assert.Equal(t, "internal server error", apiErr.Error.Message)
	assert.NotContains(t, rec.Body.String(), "secret")
	assert.Contains(t, logs.String(), "disk on fire", "the fault is logged")
}

func TestEvents(t *testing.T) {
	e := newEnv(t, &registryhttp.Options{Authorizer: registryhttp.BearerTokens(testToken), Heartbeat: 50 * time.Millisecond})
	e.mustImport("1.0")

	open := func(t *testing.T, hdr map[string]string) (*bufio.Reader, func()) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		req, err := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/events", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+testToken)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := e.srv.Client().Do(req)
		require.NoError(t, err)
		require.Equal(t, 200, resp.StatusCode)
		require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
		return bufio.NewReader(resp.Body), func() { cancel(); resp.Body.Close() }
	}
	// next returns the next message (comment-only blocks included).
	next := func(t *testing.T, br *bufio.Reader) string {
		var msg strings.Builder
		for {
			line, err := br.ReadString('\n')
			require.NoError(t, err)
			if line == "\n" {
				return msg.String()
			}
			msg.WriteString(line)
		}
	}
	nextEvent := func(t *testing.T, br *bufio.Reader) string {
		for {
			if m := next(t, br); strings.Contains(m, "data:") {
				return m
			}
		}
	}

	t.Run("deploy is delivered", func(t *testing.T) {
		br, stop := open(t, nil)
		defer stop()
		assert.True(t, strings.HasPrefix(next(t, br), ": modelvault events"))
		resp, body := e.call("POST", "/models/1.0/deploy")
		require.Equal(t, 200, resp.StatusCode, "%s", body)
		msg := nextEvent(t, br)
		assert.Contains(t, msg, "event: deployed\n")
		assert.Contains(t, msg, "id: 2\n")
		assert.Contains(t, msg, `"to":"1.0"`)
		assert.NotContains(t, msg, `"record"`)
	})
	t.Run("heartbeats", func(t *testing.T) {
		br, stop := open(t, nil)
		defer stop()
		next(t, br)
		assert.Equal(t, ": heartbeat\n", next(t, br))
	})
	t.Run("resume with Last-Event-ID", func(t *testing.T) {
		br, stop := open(t, map[string]string{"Last-Event-ID": "1"})
		defer stop()
		assert.Contains(t, nextEvent(t, br), "id: 2\n")
	})
	t.Run("client disconnect ends the stream", func(t *testing.T) {
		_, stop := open(t, nil)
		stop()
		// The registry's watcher is released when the request's context
		// ends; a deploy afterwards must not block on it.
		resp, _ := e.call("POST", "/models/1.0/validate")
		assert.Equal(t, 200, resp.StatusCode)
	})
	t.Run("Close ends streams and refuses new ones", func(t *testing.T) {
		br, stop := open(t, nil)
		defer stop()
		next(t, br)
		done := make(chan error, 1)
		go func() {
			for {
				if _, err := br.ReadString('\n'); err != nil {
					done <- err
					return
				}
			}
		}()
		e.h.Close()
		select {
		case err := <-done:
			assert.ErrorIs(t, err, io.EOF)
		case <-time.After(5 * time.Second):
			t.Fatal("stream still open after Close")
		}
		resp, body := e.call("GET", "/events")
		assert.Equal(t, 503, resp.StatusCode, "%s", body)
	})
}

func TestMountedUnderPrefix(t *testing.T) {
	reg := openReg(t, nil)
	h := registryhttp.New(reg, &registryhttp.Options{Authorizer: registryhttp.BearerTokens(testToken)})
	mux := http.NewServeMux()
	mux.Handle("/registry/", http.StripPrefix("/registry", h))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, p := range []string{"/registry/", "/registry/app.js", "/registry/openapi.json"} {
		resp, err := srv.Client().Get(srv.URL + p)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, 200, resp.StatusCode, p)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/registry/models", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
}

func TestVersionNamesInPaths(t *testing.T) {
	e := newEnv(t, nil)
	e.mustImport("1.0+build.7")
	resp, body := e.call("GET", "/models/1.0+build.7")
	require.Equal(t, 200, resp.StatusCode, "%s", body)
	resp, body = e.call("POST", "/models/"+strings.ReplaceAll("1.0+build.7", "+", "%2B")+"/deploy")
	require.Equal(t, 200, resp.StatusCode, "%s", body)
	_ = modelpkg.FileName
	_ = hasPrefixAny
}
