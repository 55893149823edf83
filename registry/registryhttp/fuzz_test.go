package registryhttp_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/internal/pkgtest"
	"github.com/modelvault/modelvault/registry/registryhttp"
	"github.com/modelvault/modelvault/storage"
)

// FuzzImportForm posts fuzzed multipart bodies to POST /models/import:
// the handler never panics or answers 5xx, leaves no spooled upload
// behind, and writes package files into the store only when it answers
// 2xx.
func FuzzImportForm(f *testing.F) {
	form := func(field, filename string, data []byte) ([]byte, string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="`+field+`"; filename="`+filename+`"`)
		w, _ := mw.CreatePart(h)
		w.Write(data)
		mw.Close()
		return buf.Bytes(), mw.Boundary()
	}
	valid := pkgtest.Zip(f, pkgtest.Files("1.0"))
	for _, s := range []struct{ field, name string }{
		{"file", "model_1.0_deployment.zip"}, {"file", "../model_1.0_deployment.zip"},
		{"other", "model_1.0_deployment.zip"}, {"file", "model_1.0.zip"},
	} {
		body, boundary := form(s.field, s.name, valid)
		f.Add(body, boundary, "")
	}
	body, boundary := form("file", "model_2.0_deployment.zip", []byte("PK\x03\x04 not a zip"))
	f.Add(body, boundary, "?dry_run=true")
	f.Add([]byte("--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"model_1.0_deployment.zip\"\r\n\r\nPK"), "x", "?validate=false")

	tmp := f.TempDir()
	store := memStore()
	reg := openReg(f, store)
	h := registryhttp.New(reg, &registryhttp.Options{
		Authorizer:    registryhttp.BearerTokens(testToken),
		TempDir:       tmp,
		MaxUploadSize: 4 << 20,
	})
	f.Cleanup(func() { h.Close() })
	f.Fuzz(func(t *testing.T, body []byte, boundary, query string) {
		req := httptest.NewRequest(http.MethodPost, "/models/import", bytes.NewReader(body))
		if q, err := url.ParseQuery(strings.TrimPrefix(query, "?")); err == nil {
			req.URL.RawQuery = q.Encode()
		}
		req.Header.Set("Authorization", "Bearer "+testToken)
		req.Header.Set("Content-Type", "multipart/form-data; boundary=\""+strings.ReplaceAll(boundary, `"`, "")+"\"")
		before := len(fileKeys(t, store))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Less(t, rec.Code, 500, "%s", rec.Body.String())
		left, err := os.ReadDir(tmp)
		require.NoError(t, err)
		require.Empty(t, left, "spooled uploads left behind")
		if rec.Code/100 != 2 {
			require.Equal(t, before, len(fileKeys(t, store)), "a refused upload changed the store: %s", rec.Body.String())
		}
	})
}

// fileKeys lists the store's keys outside _registry/.
func fileKeys(t *testing.T, s storage.Store) []string {
	var out []string
	for obj, err := range storage.All(context.Background(), s, nil) {
		require.NoError(t, err)
		if !strings.HasPrefix(obj.Key, "_registry/") {
			out = append(out, obj.Key)
		}
	}
	return out
}
