package registryhttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/internal/pkgtest"
	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/registry/registryhttp"
	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/storage/aferostore"
	"github.com/modelvault/modelvault/validate"
)

const testToken = "s3cret-token"

func memStore() storage.Store { return aferostore.New(afero.NewMemMapFs(), nil) }

func openReg(t testing.TB, store storage.Store) *registry.Registry {
	t.Helper()
	if store == nil {
		store = memStore()
	}
	r, err := registry.Open(context.Background(), store, &registry.Options{PollInterval: 20 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	return r
}

// env is a registry behind a handler behind a test server.
type env struct {
	t     testing.TB
	reg   *registry.Registry
	store storage.Store
	h     *registryhttp.Handler
	srv   *httptest.Server
	token string
	tmp   string // the handler's TempDir
}

// newEnv serves a fresh registry with opts (nil: bearer token testToken).
func newEnv(t testing.TB, opts *registryhttp.Options) *env {
	t.Helper()
	if opts == nil {
		opts = &registryhttp.Options{Authorizer: registryhttp.BearerTokens(testToken)}
	}
	if opts.TempDir == "" {
		opts.TempDir = t.TempDir()
	}
	store := memStore()
	e := &env{t: t, store: store, reg: openReg(t, store), token: testToken, tmp: opts.TempDir}
	e.h = registryhttp.New(e.reg, opts)
	e.srv = httptest.NewServer(e.h)
	t.Cleanup(func() {
		e.h.Close()
		e.srv.Close()
	})
	return e
}

// pkgFiles returns a valid package's files for version and model name.
func pkgFiles(version, model string) fstest.MapFS {
	files := pkgtest.Files(version)
	if model != "" {
		files[modelpkg.DefaultMetadataFile].Data = bytes.ReplaceAll(
			files[modelpkg.DefaultMetadataFile].Data, []byte("RandomForestClassifier"), []byte(model))
	}
	return files
}

func validZip(t testing.TB, version string) []byte { return pkgtest.Zip(t, pkgFiles(version, "")) }

// tamperedZip is a package of version whose README.md no longer matches
// the manifest.
func tamperedZip(t testing.TB, version string) []byte {
	files := pkgFiles(version, "")
	files["README.md"].Data = []byte("tampered after hashing\n")
	return pkgtest.ZipRaw(t, files)
}

// request sends a request with the env's token (when auth is true) and
// returns the response with its body read.
func (e *env) do(method, path string, body io.Reader, hdr map[string]string) (*http.Response, []byte) {
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

func (e *env) auth() map[string]string {
	return map[string]string{"Authorization": "Bearer " + e.token}
}

// call is do with the token.
func (e *env) call(method, path string) (*http.Response, []byte) {
	e.t.Helper()
	return e.do(method, path, nil, e.auth())
}

// multipartBody builds a form with one file field.
func multipartBody(t testing.TB, field, filename string, data []byte) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="`+field+`"; filename="`+filename+`"`)
	h.Set("Content-Type", "application/zip")
	w, err := mw.CreatePart(h)
	require.NoError(t, err)
	_, err = w.Write(data)
	require.NoError(t, err)
	require.NoError(t, mw.Close())
	return &buf, mw.FormDataContentType()
}

// upload posts data as the file field with the given file name.
func (e *env) upload(query, filename string, data []byte) (*http.Response, []byte) {
	e.t.Helper()
	body, ctype := multipartBody(e.t, "file", filename, data)
	hdr := e.auth()
	hdr["Content-Type"] = ctype
	return e.do("POST", "/models/import"+query, body, hdr)
}

// mustImport imports a valid package of version through the API.
func (e *env) mustImport(version string) {
	e.t.Helper()
	resp, body := e.upload("", modelpkg.FileName(version), validZip(e.t, version))
	require.Equal(e.t, http.StatusCreated, resp.StatusCode, "%s", body)
}

type apiError struct {
	Error struct {
		Code     string             `json:"code"`
		Message  string             `json:"message"`
		Findings []validate.Finding `json:"findings"`
	} `json:"error"`
}

// errorOf decodes an error body, failing unless it is one.
func errorOf(t testing.TB, body []byte) apiError {
	t.Helper()
	var e apiError
	require.NoError(t, json.Unmarshal(body, &e), "%s", body)
	require.NotEmpty(t, e.Error.Code, "%s", body)
	require.NotNil(t, e.Error.Findings, "findings must be an array: %s", body)
	return e
}

func decode[T any](t testing.TB, body []byte) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(body, &v), "%s", body)
	return v
}

func codes(fs []validate.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Code)
	}
	return out
}

func hasPrefixAny(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func zipOf(t testing.TB, files fstest.MapFS) []byte { return pkgtest.Zip(t, files) }

// dirEntries lists the handler's temporary directory.
func dirEntries(t testing.TB, e *env) []string {
	t.Helper()
	ents, err := os.ReadDir(e.tmp)
	require.NoError(t, err)
	var out []string
	for _, d := range ents {
		out = append(out, d.Name())
	}
	return out
}

// extract returns the JSON value at the path of object keys in raw.
func extract(t testing.TB, raw json.RawMessage, keys ...string) json.RawMessage {
	t.Helper()
	for _, k := range keys {
		var m map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(raw, &m), "%s", raw)
		raw = m[k]
	}
	return raw
}
