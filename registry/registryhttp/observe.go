package registryhttp

import (
	"net/http"
	"time"
)

// Observer is told the outcome of every upload (POST /models/import and
// POST /staged/{token}), for metrics: code is "" for an accepted one
// (size in bytes, took from the request's start to the answer), else the
// error code of the refusal. Successful dry runs are not reported: they
// import nothing. registrymetrics.Metrics implements it. It must be safe
// for concurrent use and must not block.
type Observer interface {
	ObserveImport(code string, size int64, took time.Duration)
}

// observedWriter records the error code an upload was answered with.
type observedWriter struct {
	http.ResponseWriter
	h      *Handler
	start  time.Time
	code   string
	size   int64
	status int
}

// observe wraps w for an upload; done reports it to the Observer.
func (h *Handler) observe(w http.ResponseWriter) *observedWriter {
	return &observedWriter{ResponseWriter: w, h: h, start: time.Now()}
}

func (o *observedWriter) WriteHeader(status int) {
	if o.status == 0 {
		o.status = status
	}
	o.ResponseWriter.WriteHeader(status)
}

// Unwrap lets http.ResponseController reach the connection.
func (o *observedWriter) Unwrap() http.ResponseWriter { return o.ResponseWriter }

func (o *observedWriter) done() {
	if o.h.opts.Observer == nil {
		return
	}
	switch {
	case o.code != "":
		o.h.opts.Observer.ObserveImport(o.code, 0, time.Since(o.start))
	case o.status == http.StatusCreated || o.status == http.StatusOK && o.size > 0:
		o.h.opts.Observer.ObserveImport("", o.size, time.Since(o.start))
	}
}
