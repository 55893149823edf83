package httpguard

import (
	"log/slog"
	"net/http"
	"path"
	"runtime/debug"
	"strings"
)

// CanonicalPath reports whether p, an escaped URL path, is one that
// http.ServeMux serves as it is instead of redirecting (with an HTML
// body) to a cleaned form: it starts with a slash and has no empty, "."
// or ".." segments.
func CanonicalPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c == p
}

// Writer is a ResponseWriter that records whether the answer began, so
// that a panic can still be answered when it had not.
type Writer struct {
	http.ResponseWriter
	wrote bool
}

// NewWriter wraps w.
func NewWriter(w http.ResponseWriter) *Writer { return &Writer{ResponseWriter: w} }

// WriteHeader writes the status; an informational (1xx) one does not
// begin the answer.
func (t *Writer) WriteHeader(status int) {
	if status >= 200 {
		t.wrote = true
	}
	t.ResponseWriter.WriteHeader(status)
}

// Write writes body bytes, beginning the answer.
func (t *Writer) Write(p []byte) (int, error) {
	t.wrote = true
	return t.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection.
func (t *Writer) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// Recover, deferred by a handler that answers through w, turns a panic
// into an error logged with its stack and answered by answer (a JSON 500)
// when nothing was written yet; once the answer has begun it is cut off,
// as net/http does, by panicking with http.ErrAbortHandler, which also
// passes through untouched.
func Recover(w *Writer, r *http.Request, log *slog.Logger, answer func()) {
	p := recover()
	if p == nil {
		return
	}
	if p == http.ErrAbortHandler {
		panic(p)
	}
	log.Error("panic serving a request", "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
	if w.wrote {
		panic(http.ErrAbortHandler)
	}
	answer()
}

// Root returns the server's own ResponseWriter under w's wrappers (those
// with an Unwrap method). http.MaxBytesReader needs it: it tells the
// server that a body was cut off through an unexported method no wrapper
// has, so that the connection is closed.
func Root(w http.ResponseWriter) http.ResponseWriter {
	for {
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return w
		}
		w = u.Unwrap()
	}
}
