package registryhttp

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/modelvault/modelvault/internal/httpguard"
	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/registry"
)

// Defaults for [Options].
const (
	// DefaultMaxUploadSize is the largest request body POST /models/import
	// accepts: 100 MiB, as the package specification asks.
	DefaultMaxUploadSize = 100 << 20
	// DefaultHeartbeat is how often GET /events writes a comment line to
	// keep idle connections (and proxies) open.
	DefaultHeartbeat = 15 * time.Second
)

// Options configures [New]. A nil *Options, and every zero field, means
// the documented default, which is the secure one.
type Options struct {
	// Authorizer authorises requests that change the registry and, unless
	// PublicReads is set, requests that read it. See [BearerTokens].
	Authorizer Authorizer
	// AllowUnauthenticated, when no Authorizer is set, lets every request
	// through. Without it (and without an Authorizer) requests that need
	// authorisation are refused with 403: a handler is never open by
	// accident. Use it only behind a proxy that authenticates.
	AllowUnauthenticated bool
	// PublicReads lets anyone read the registry (GET /models,
	// GET /models/{version}, GET /history, GET /events) without
	// authorisation. By default reads need the same authorisation as
	// changes. The UI page, its assets and GET /openapi.json are always
	// public: they hold no registry data.
	PublicReads bool
	// AllowSkipValidation lets POST /models/import?validate=false skip
	// the registry's validators (such as the pickle safety scan; the
	// archive, manifest and SHA-256 checks always run). By default such
	// requests are refused with 403: a package that skipped the scan can
	// run code when a host loads it.
	AllowSkipValidation bool
	// MaxUploadSize bounds the body of POST /models/import in bytes
	// (default [DefaultMaxUploadSize]); larger uploads fail with 413.
	// It cannot be unlimited.
	MaxUploadSize int64
	// TempDir is where uploads are spooled (default os.TempDir()). On
	// Unix a spool file is unlinked as soon as it is created; elsewhere
	// the handler removes its files when it is done with them.
	TempDir string
	// Heartbeat is how often GET /events writes a keep-alive comment
	// (default [DefaultHeartbeat]).
	Heartbeat time.Duration
	// AllowedHosts, when not empty, lists the host names (optionally
	// with a port) that requests may name in their Host header; any other
	// is refused with 421 (misdirected_host). Set it whenever the handler
	// is reachable without credentials (AllowUnauthenticated, PublicReads):
	// the cross-origin check compares the Origin with the Host, which a
	// DNS-rebinding page controls both of.
	AllowedHosts []string
	// TrustedOrigins lists origins ("https://admin.example.com") whose
	// pages may send changes although they differ from the request's
	// Host, such as the public origin of a reverse proxy that rewrites
	// Host. Invalid entries are logged and ignored.
	TrustedOrigins []string
	// MaxUploads bounds the uploads spooled at once (default
	// [DefaultMaxUploads]); beyond it POST /models/import answers 503
	// with Retry-After.
	MaxUploads int
	// MaxSpoolBytes bounds the bytes that uploads in progress and staged
	// packages may hold in TempDir (default twice MaxUploadSize). An
	// upload reserves its Content-Length, or MaxUploadSize when it sends
	// none; beyond the bound the answer is 503 with Retry-After.
	MaxSpoolBytes int64
	// MinUploadRate is the slowest average rate, in bytes per second, at
	// which an upload may arrive once UploadGrace has passed (default
	// [DefaultMinUploadRate]); a slower one is cut off with 408.
	MinUploadRate int64
	// UploadGrace is the time an upload gets before MinUploadRate applies
	// (default [DefaultUploadGrace]).
	UploadGrace time.Duration
	// MaxEventStreams bounds the open GET /events streams (default
	// [DefaultMaxEventStreams]); beyond it the answer is 503.
	MaxEventStreams int
	// MaxResume bounds how many missed events a GET /events client may
	// replay (default [DefaultMaxResume]).
	MaxResume int
	// WriteTimeout bounds each write of a GET /events stream (default
	// [DefaultWriteTimeout]).
	WriteTimeout time.Duration
	// StageTTL is how long a dry run's package is kept for its
	// confirmation, POST /staged/{token} (default
	// [DefaultStageTTL]); later the token answers 410. Staged packages
	// count against MaxSpoolBytes.
	StageTTL time.Duration
	// MaxStaged bounds the staged packages (default [DefaultMaxStaged]);
	// a new one beyond it replaces the oldest.
	MaxStaged int
	// Serving reports what every running process serves, for GET
	// /serving and the UI's fleet view ("3 of 3 replicas serve 2.0", "1
	// replica failed to load 2.1: ..."). Nil means the serving states
	// every registry.Live sharing the store publishes
	// (registry.Registry.Serving); set it for another source.
	Serving ServingFunc
	// Observer, when set, is told every upload's outcome (see
	// [Observer]; registrymetrics.Metrics is one).
	Observer Observer
	// Logger receives the handler's logs: server faults, refused
	// authorisations and, at Info, every change. Nil means silent.
	Logger *slog.Logger
}

// Handler serves the registry's REST API and web UI. Create one with
// [New]; it is safe for concurrent use.
type Handler struct {
	reg       *registry.Registry
	opts      Options
	maxUpload int64
	log       *slog.Logger
	mux       *http.ServeMux
	csrf      *http.CrossOriginProtection
	hosts     map[string]struct{}
	gate      *spoolGate    // shared by the models of a Models handler
	streams   chan struct{} // one token per open GET /events stream
	stage     *stager

	closeOnce sync.Once
	done      chan struct{}
}

var _ http.Handler = (*Handler)(nil)

// access says what a route needs.
type access int

const (
	accessPublic access = iota // UI assets and the OpenAPI document
	accessRead                 // reads: authorised unless PublicReads
	accessWrite                // changes: authorised, same-origin
)

// route is one entry of the handler's routing table, from which both the
// mux and the OpenAPI consistency test are built.
type route struct {
	method, path string
	access       access
	ui           bool // part of the web UI, not the API
	serve        func(h *Handler, w http.ResponseWriter, r *http.Request, actor string)
}

func (rt route) pattern() string { return rt.method + " " + rt.path }

// routeTable returns the handler's routing table.
func routeTable() []route {
	return []route{
		{method: "GET", path: "/{$}", access: accessPublic, ui: true, serve: (*Handler).serveIndex},
		{method: "GET", path: "/app.js", access: accessPublic, ui: true, serve: (*Handler).serveAsset},
		{method: "GET", path: "/app.css", access: accessPublic, ui: true, serve: (*Handler).serveAsset},
		{method: "GET", path: "/openapi.json", access: accessPublic, serve: (*Handler).serveOpenAPI},
		{method: "POST", path: "/models/import", access: accessWrite, serve: (*Handler).serveImport},
		{method: "POST", path: "/staged/{token}", access: accessWrite, serve: (*Handler).serveCommit},
		{method: "GET", path: "/models", access: accessRead, serve: (*Handler).serveList},
		{method: "GET", path: "/models/{version}", access: accessRead, serve: (*Handler).serveGet},
		{method: "GET", path: "/models/{version}/package", access: accessRead, serve: (*Handler).serveExport},
		{method: "POST", path: "/models/{version}/validate", access: accessWrite, serve: (*Handler).serveValidate},
		{method: "POST", path: "/models/{version}/deploy", access: accessWrite, serve: (*Handler).serveDeploy},
		{method: "POST", path: "/models/{version}/rollback", access: accessWrite, serve: (*Handler).serveRollbackTo},
		{method: "POST", path: "/rollback", access: accessWrite, serve: (*Handler).serveRollback},
		{method: "DELETE", path: "/models/{version}", access: accessWrite, serve: (*Handler).serveDelete},
		{method: "POST", path: "/models/scan", access: accessWrite, serve: (*Handler).serveScan},
		{method: "GET", path: "/history", access: accessRead, serve: (*Handler).serveHistory},
		{method: "GET", path: "/events", access: accessRead, serve: (*Handler).serveEvents},
		{method: "GET", path: "/serving", access: accessRead, serve: (*Handler).serveServing},
	}
}

// New returns a handler serving reg's API and UI at the root of its URL
// space. Mount it under a prefix with http.StripPrefix, keeping the
// trailing slash:
//
//	mux.Handle("/registry/", http.StripPrefix("/registry", h))
func New(reg *registry.Registry, opts *Options) *Handler {
	h := &Handler{reg: reg, mux: http.NewServeMux(), csrf: http.NewCrossOriginProtection(), done: make(chan struct{})}
	if opts != nil {
		h.opts = *opts
	}
	h.maxUpload = h.opts.MaxUploadSize
	if h.maxUpload <= 0 {
		h.maxUpload = DefaultMaxUploadSize
	}
	if h.opts.Heartbeat <= 0 {
		h.opts.Heartbeat = DefaultHeartbeat
	}
	h.log = h.opts.Logger
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	o := &h.opts
	setDefault(&o.MaxUploads, DefaultMaxUploads)
	setDefault(&o.MaxSpoolBytes, 2*h.maxUpload)
	setDefault(&o.MinUploadRate, DefaultMinUploadRate)
	setDefault(&o.UploadGrace, DefaultUploadGrace)
	setDefault(&o.MaxEventStreams, DefaultMaxEventStreams)
	setDefault(&o.MaxResume, DefaultMaxResume)
	setDefault(&o.WriteTimeout, DefaultWriteTimeout)
	h.gate = &spoolGate{maxUploads: o.MaxUploads, maxBytes: max(o.MaxSpoolBytes, h.maxUpload)}
	h.streams = make(chan struct{}, o.MaxEventStreams)
	setDefault(&o.StageTTL, DefaultStageTTL)
	setDefault(&o.MaxStaged, DefaultMaxStaged)
	h.stage = &stager{entries: map[string]*staged{}, expired: map[string]time.Time{}, ttl: o.StageTTL, max: o.MaxStaged, gate: h.gate}
	removeLeftovers(o.TempDir, o.StageTTL)
	if len(o.AllowedHosts) > 0 {
		h.hosts = make(map[string]struct{}, len(o.AllowedHosts))
		for _, host := range o.AllowedHosts {
			h.hosts[strings.ToLower(host)] = struct{}{}
		}
	}
	for _, origin := range o.TrustedOrigins {
		if err := h.csrf.AddTrustedOrigin(origin); err != nil {
			h.log.Error("registryhttp: ignoring a trusted origin", "origin", origin, "err", err)
		}
	}
	for _, rt := range routeTable() {
		h.mux.Handle(rt.pattern(), h.guard(rt))
	}
	return h
}

// Close ends the open GET /events streams and refuses new ones with 503,
// removes the staged uploads,
// so that http.Server.Shutdown does not wait for them; register it with
// http.Server.RegisterOnShutdown. Other requests are unaffected. It
// always returns nil.
func (h *Handler) Close() error {
	h.closeOnce.Do(func() {
		close(h.done)
		h.stage.closeAll()
	})
	return nil
}

// ServeHTTP serves the API and the UI.
func (h *Handler) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	// A panic in a route (or in the host's Authorizer or Serving
	// function) is logged and answered with the JSON 500.
	w := httpguard.NewWriter(rw)
	defer httpguard.Recover(w, r, h.log, func() { h.writeError(w, r, errPanic) })
	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("X-Frame-Options", "DENY")
	if err := h.checkHost(r); err != nil {
		hdr.Set("Content-Security-Policy", apiCSP)
		h.writeError(w, r, err)
		return
	}
	if !httpguard.CanonicalPath(r.URL.EscapedPath()) {
		// The mux would redirect to the cleaned path, with an HTML body
		// and a location that lacks any prefix http.StripPrefix removed.
		hdr.Set("Content-Security-Policy", apiCSP)
		h.writeError(w, r, fmt.Errorf("%w: the path is not canonical (no empty, \".\" or \"..\" segments)", errNoRoute))
		return
	}
	if _, pattern := h.mux.Handler(r); pattern == "" {
		// The mux would answer 404 or 405 in plain text: answer in JSON.
		rec := &statusRecorder{header: http.Header{}}
		h.mux.ServeHTTP(rec, r)
		hdr.Set("Content-Security-Policy", apiCSP)
		if rec.status == http.StatusMethodNotAllowed {
			hdr.Set("Allow", rec.header.Get("Allow"))
			h.writeError(w, r, errMethod)
			return
		}
		h.writeError(w, r, errNoRoute)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// guard wraps a route with its security checks.
func (h *Handler) guard(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt.ui {
			w.Header().Set("Content-Security-Policy", uiCSP)
		} else {
			w.Header().Set("Content-Security-Policy", apiCSP)
			w.Header().Set("Cache-Control", "no-store")
		}
		actor := ""
		switch {
		case rt.access == accessWrite:
			if err := h.csrf.Check(r); err != nil {
				h.log.Warn("registryhttp: cross-origin request refused", "method", r.Method, "path", r.URL.Path, "origin", r.Header.Get("Origin"))
				h.writeError(w, r, errCrossOrigin)
				return
			}
			fallthrough
		case rt.access == accessRead && !h.opts.PublicReads:
			a, err := h.authorize(r)
			if err != nil {
				// A 401 is what a port scan gets: not worth a warning.
				level := slog.LevelWarn
				if errors.Is(err, ErrUnauthenticated) {
					level = slog.LevelDebug
				}
				h.log.Log(r.Context(), level, "registryhttp: request refused", "method", r.Method, "path", r.URL.Path, "err", err)
				h.writeError(w, r, err)
				return
			}
			if actor, err = actorFor(r, a); err != nil {
				h.writeError(w, r, err)
				return
			}
		}
		q := r.URL.Query()
		if err := validText("reason", q.Get("reason"), maxFreeText); err != nil {
			h.writeError(w, r, err)
			return
		}
		if err := validText("model", q.Get("model"), maxModelName); err != nil {
			h.writeError(w, r, err)
			return
		}
		if v := r.PathValue("version"); v != "" {
			if err := modelpkg.ValidateVersion(v); err != nil {
				h.writeError(w, r, err)
				return
			}
		}
		rt.serve(h, w, r, actor)
	})
}

// errCrossOrigin refuses changes requested by another site's page.
var errCrossOrigin = modelpkg.NewError("cross_origin",
	"registryhttp: cross-origin request refused (the Origin or Sec-Fetch-Site header shows another site)")

// Content-Security-Policy values.
const (
	uiCSP  = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
	apiCSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)

// statusRecorder captures the mux's own 404 and 405 answers.
type statusRecorder struct {
	header http.Header
	status int
}

func (s *statusRecorder) Header() http.Header { return s.header }
func (s *statusRecorder) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return len(p), nil
}
func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
}

// setDefault sets *p to def when it is zero or negative.
func setDefault[T int | int64 | time.Duration](p *T, def T) {
	if *p <= 0 {
		*p = def
	}
}
