package httpguard_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/internal/httpguard"
)

func TestCanonicalPath(t *testing.T) {
	for p, want := range map[string]bool{
		"/": true, "/a": true, "/a/": true, "/a/b%2Fc": true,
		"": false, "a": false, "//a": false, "/a//b": false, "/./a": false, "/a/..": false, "/a/../": false, "example.com:443": false,
	} {
		assert.Equal(t, want, httpguard.CanonicalPath(p), p)
	}
}

func serve(t *testing.T, h func(w http.ResponseWriter)) (*httptest.ResponseRecorder, string, any) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/x", nil)
	var aborted any
	func() {
		defer func() { aborted = recover() }()
		w := httpguard.NewWriter(rec)
		defer httpguard.Recover(w, r, log, func() { w.WriteHeader(http.StatusInternalServerError) })
		h(w)
	}()
	return rec, logs.String(), aborted
}

func TestRecover(t *testing.T) {
	rec, logs, aborted := serve(t, func(http.ResponseWriter) { panic("boom") })
	assert.Nil(t, aborted)
	assert.Equal(t, http.StatusInternalServerError, rec.Code, "answered when nothing was written")
	assert.Contains(t, logs, "boom")
	assert.Contains(t, logs, "stack")

	rec, _, aborted = serve(t, func(w http.ResponseWriter) {
		w.WriteHeader(http.StatusOK)
		panic("late")
	})
	assert.Equal(t, http.ErrAbortHandler, aborted, "an answer that began is cut off")
	assert.Equal(t, http.StatusOK, rec.Code)

	_, logs, aborted = serve(t, func(http.ResponseWriter) { panic(http.ErrAbortHandler) })
	assert.Equal(t, http.ErrAbortHandler, aborted)
	assert.Empty(t, logs, "an abort is not a fault")

}

func TestRoot(t *testing.T) {
	rec := httptest.NewRecorder()
	w := httpguard.NewWriter(httpguard.NewWriter(rec))
	require.Same(t, rec, httpguard.Root(w))
}
