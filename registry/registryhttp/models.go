package registryhttp

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/storage"
)

// DefaultMaxOpenModels is how many models' registries a [Models] handler
// keeps open at once by default.
const DefaultMaxOpenModels = 16

// ModelsOptions configures [NewModels]. A nil *ModelsOptions, and every
// zero field, means the documented default.
type ModelsOptions struct {
	// Options configures every model's API exactly as [New] does, and the
	// routes of the Models handler itself: one Authorizer, the same
	// cross-origin and Host checks. The limits MaxUploads, MaxSpoolBytes
	// and MaxEventStreams hold for all models together; MaxStaged holds
	// per model. Leave Serving nil: each model then
	// reports the serving states of its own registry.
	Options
	// Registry is what registries are opened with
	// (registry.OpenModel sets Name). Nil means registry defaults, which
	// include the scan and repair of registry.Open on every opening.
	Registry *registry.Options
	// Open, when set, returns model name's registry instead of
	// registry.OpenModel(ctx, store, name, Registry): a host that holds
	// the registries already (for its registry.Live) shares them. The
	// registries it returns belong to the host: Models never closes them.
	// It is called for a model the store holds, and for a new name that
	// an import is about to create.
	Open func(ctx context.Context, name string) (*registry.Registry, error)
	// MaxOpen bounds the models whose registry and API are open at once
	// (default [DefaultMaxOpenModels]). Beyond it the least recently used
	// idle one is closed; when every open one is busy (a request or an
	// event stream in progress) the answer is 503 busy. GET /models-index
	// opens the models beyond it for its read only.
	MaxOpen int
}

// Models serves the APIs and UIs of every model of a store that holds
// several (each under models/NAME/, see registry.OpenModel), from one
// [http.Handler]:
//
//	GET  /                    the UI's model list, with each model's deployed version
//	GET  /models-index        the same list as JSON
//	GET  /openapi.json        the OpenAPI document
//	ANY  /m/{name}/...        model name's API and UI: every route of [New]
//
// Create one with [NewModels]; it is safe for concurrent use.
type Models struct {
	store storage.Store
	opts  ModelsOptions
	front *Handler // the guard, errors and limits every model shares

	mu      sync.Mutex
	entries map[string]*modelEntry
	tick    uint64
	closed  bool
}

var _ http.Handler = (*Models)(nil)

// modelEntry is one open model: its registry and its API handler.
type modelEntry struct {
	name  string
	ready chan struct{} // closed once opened (or failed)
	err   error
	reg   *registry.Registry
	h     *Handler
	owned bool // opened by Models, closed by it
	refs  int
	used  uint64
}

// Errors of the Models handler.
var (
	// ErrUnknownModel: a request names a model the store does not hold.
	// The handler answers 404 unknown_model.
	ErrUnknownModel = modelpkg.NewError("unknown_model", "registryhttp: unknown model")
)

// statusErr is an error with a code of its own (err) answered with the
// status of another (status), such as unknown_model with not_found's 404.
type statusErr struct {
	err, status error
	msg         string
}

func (e *statusErr) Error() string   { return e.msg }
func (e *statusErr) Unwrap() []error { return []error{e.err, e.status} }

// NewModels returns a handler serving every model of store at the root
// of its URL space; mount it like [New]'s handler. Model name's API
// lives under /m/{name}/: the same routes, answers and UI as [New]'s,
// with the model's registry opened on first use (registry.OpenModel on
// store, or opts.Open) and kept open, at most opts.MaxOpen at once.
//
// A model exists when the store holds a key under models/{name}/. A
// request for a model that does not exist answers 404 unknown_model,
// after the same authorisation as any other request of its method (so
// that the answer reveals nothing to a client without access), except an
// import (POST /m/{name}/models/import and its confirmation, POST
// /m/{name}/staged/{token}), which creates the model. Names are checked
// with registry.ValidateModelName (400 invalid_model_name).
func NewModels(store storage.Store, opts *ModelsOptions) *Models {
	m := &Models{store: store, entries: map[string]*modelEntry{}}
	if opts != nil {
		m.opts = *opts
	}
	setDefault(&m.opts.MaxOpen, DefaultMaxOpenModels)
	m.front = New(nil, &m.opts.Options)
	m.opts.Options = m.front.opts // with the defaults filled in
	m.front.mux = http.NewServeMux()
	for _, rt := range m.routeTable() {
		m.front.mux.Handle(rt.pattern(), m.front.guard(rt))
	}
	return m
}

// routeTable returns the routes of the Models handler itself; everything
// under /m/{name}/ past them is the model's own handler's.
func (m *Models) routeTable() []route {
	page := func(f func(w http.ResponseWriter, r *http.Request)) func(*Handler, http.ResponseWriter, *http.Request, string) {
		return func(_ *Handler, w http.ResponseWriter, r *http.Request, _ string) { f(w, r) }
	}
	model := func(_ *Handler, w http.ResponseWriter, r *http.Request, _ string) { m.serveModel(w, r) }
	return []route{
		{method: "GET", path: "/{$}", access: accessPublic, ui: true, serve: page(m.serveUI)},
		{method: "GET", path: "/models.js", access: accessPublic, ui: true, serve: page(m.serveUI)},
		{method: "GET", path: "/app.css", access: accessPublic, ui: true, serve: (*Handler).serveAsset},
		{method: "GET", path: "/openapi.json", access: accessPublic, serve: (*Handler).serveOpenAPI},
		{method: "GET", path: "/models-index", access: accessRead, serve: func(_ *Handler, w http.ResponseWriter, r *http.Request, _ string) { m.serveIndex(w, r) }},
		{method: "GET", path: "/m/{name}", access: accessPublic, ui: true, serve: page(m.serveModelUI)},
		{method: "GET", path: "/m/{name}/{$}", access: accessPublic, ui: true, serve: page(m.serveModelUI)},
		{method: "GET", path: "/m/{name}/app.js", access: accessPublic, ui: true, serve: page(m.serveModelUI)},
		{method: "GET", path: "/m/{name}/app.css", access: accessPublic, ui: true, serve: page(m.serveModelUI)},
		{method: "GET", path: "/m/{name}/openapi.json", access: accessPublic, serve: page(m.serveModelUI)},
		{method: "GET", path: "/m/{name}/{rest...}", access: accessRead, serve: model},
		{method: "POST", path: "/m/{name}/{rest...}", access: accessWrite, serve: model},
		{method: "DELETE", path: "/m/{name}/{rest...}", access: accessWrite, serve: model},
	}
}

// ServeHTTP serves the model list, and each model's API and UI.
func (m *Models) ServeHTTP(w http.ResponseWriter, r *http.Request) { m.front.ServeHTTP(w, r) }

// Close closes every model's handler (ending its GET /events streams)
// and the registries Models opened, and answers later requests for a
// model with 503. Register it with http.Server.RegisterOnShutdown. It
// always returns nil.
func (m *Models) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	var open []*modelEntry
	for name, e := range m.entries {
		open = append(open, e)
		delete(m.entries, name)
	}
	m.mu.Unlock()
	m.front.Close()
	for _, e := range open {
		<-e.ready
		e.close()
	}
	return nil
}

// Opened returns the names of the models whose registry is open now,
// sorted.
func (m *Models) Opened() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var names []string
	for name, e := range m.entries {
		select {
		case <-e.ready:
			if e.err == nil {
				names = append(names, name)
			}
		default:
		}
	}
	slices.Sort(names)
	return names
}

// modelName returns the request's {name}, checked.
func modelName(r *http.Request) (string, error) {
	name := r.PathValue("name")
	if err := registry.ValidateModelName(name); err != nil {
		return "", &statusErr{err: err, status: errBadRequest, msg: err.Error()}
	}
	return name, nil
}

// unknownModel is the error of a request for a model that does not exist.
func unknownModel(name string) error {
	return &statusErr{err: ErrUnknownModel, status: errNoRoute,
		msg: fmt.Sprintf("registryhttp: unknown model %q (an import into it creates it)", name)}
}

// serveModel hands the request to model name's handler, with the
// request's path made relative to /m/{name}.
func (m *Models) serveModel(w http.ResponseWriter, r *http.Request) {
	name, err := modelName(r)
	if err != nil {
		m.front.writeError(w, r, err)
		return
	}
	prefix := "/m/" + name
	rest := strings.TrimPrefix(r.URL.Path, prefix)
	create := r.Method == http.MethodPost && (rest == "/models/import" || strings.HasPrefix(rest, "/staged/"))
	e, fresh, err := m.acquire(r.Context(), name, create)
	if err != nil {
		m.front.writeError(w, r, err)
		return
	}
	defer m.release(e)
	if fresh && create {
		// An import that opened a new name and failed leaves no model:
		// close it again, so that it is not listed or served as one.
		sw := &statusWriter{ResponseWriter: w}
		w = sw
		defer func() {
			if sw.status >= 300 {
				m.discardIfAbsent(context.WithoutCancel(r.Context()), e)
			}
		}()
	}
	r2 := new(http.Request)
	*r2 = *r
	r2.URL = new(url.URL)
	*r2.URL = *r.URL
	r2.URL.Path = rest
	if r.URL.RawPath != "" {
		r2.URL.RawPath = strings.TrimPrefix(r.URL.RawPath, prefix)
	}
	e.h.ServeHTTP(w, r2)
}

// acquire returns model name's open entry, opening it if needed (fresh);
// release it after use. Unless create is set, a model the store does not
// hold is ErrUnknownModel.
func (m *Models) acquire(ctx context.Context, name string, create bool) (e *modelEntry, fresh bool, err error) {
	for {
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return nil, false, errClosed
		}
		var ok bool
		e, ok = m.entries[name]
		if ok {
			e.refs++
			m.tick++
			e.used = m.tick
			m.mu.Unlock()
			select {
			case <-e.ready:
			case <-ctx.Done():
				m.release(e)
				return nil, false, ctx.Err()
			}
			if e.err != nil {
				m.release(e)
				return nil, false, e.err
			}
			return e, false, nil
		}
		m.mu.Unlock()
		if !create {
			exists, err := m.exists(ctx, name)
			if err != nil {
				return nil, false, err
			}
			if !exists {
				return nil, false, unknownModel(name)
			}
		}
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return nil, false, errClosed
		}
		if _, ok := m.entries[name]; ok {
			m.mu.Unlock()
			continue // another request opened it meanwhile
		}
		victim, ok := m.evictLocked()
		if !ok {
			m.mu.Unlock()
			return nil, false, fmt.Errorf("%w: %d models are open and busy", errBusy, m.opts.MaxOpen)
		}
		m.tick++
		e = &modelEntry{name: name, ready: make(chan struct{}), refs: 1, used: m.tick}
		m.entries[name] = e
		m.mu.Unlock()
		if victim != nil {
			victim.close()
		}
		// Opening outlives the request that asked for it: others may be
		// waiting for the same model.
		e.err = m.open(context.WithoutCancel(ctx), e)
		close(e.ready)
		if e.err != nil {
			m.mu.Lock()
			if m.entries[name] == e {
				delete(m.entries, name)
			}
			m.mu.Unlock()
			m.release(e)
			return nil, false, e.err
		}
		return e, true, nil
	}
}

// evictLocked makes room for one more entry: it removes the least
// recently used idle entry when the cache is full, and returns it to be
// closed. ok is false when every entry is busy.
func (m *Models) evictLocked() (victim *modelEntry, ok bool) {
	if len(m.entries) < m.opts.MaxOpen {
		return nil, true
	}
	for _, e := range m.entries {
		if e.refs > 0 {
			continue
		}
		if victim == nil || e.used < victim.used {
			victim = e
		}
	}
	if victim == nil {
		return nil, false
	}
	delete(m.entries, victim.name)
	return victim, true
}

// release ends a use of e. An entry that Close or an eviction removed is
// closed by them; one that failed to open has nothing to close.
func (m *Models) release(e *modelEntry) {
	m.mu.Lock()
	e.refs--
	m.mu.Unlock()
}

// discardIfAbsent closes e, opened for an import that failed, unless the
// store holds its model after all (another import won) or another
// request uses it.
func (m *Models) discardIfAbsent(ctx context.Context, e *modelEntry) {
	if exists, err := m.exists(ctx, e.name); err != nil || exists {
		return
	}
	m.mu.Lock()
	if m.entries[e.name] != e || e.refs > 1 {
		m.mu.Unlock()
		return
	}
	delete(m.entries, e.name)
	m.mu.Unlock()
	e.close()
}

// statusWriter records the status of an answer.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// open opens e's registry and handler.
func (m *Models) open(ctx context.Context, e *modelEntry) error {
	var err error
	if m.opts.Open != nil {
		e.reg, err = m.opts.Open(ctx, e.name)
		if err == nil && e.reg == nil {
			err = fmt.Errorf("registryhttp: ModelsOptions.Open returned no registry for %q", e.name)
		}
	} else if m.store == nil {
		err = errors.New("registryhttp: NewModels was given no store")
	} else {
		e.reg, err = registry.OpenModel(ctx, m.store, e.name, m.opts.Registry)
		e.owned = err == nil
	}
	if err != nil {
		return fmt.Errorf("open model %q: %w", e.name, err)
	}
	h := New(e.reg, &m.opts.Options)
	// One spool budget for every model: MaxUploads and MaxSpoolBytes
	// bound the server, not each model.
	h.gate = m.front.gate
	h.stage.gate = m.front.gate
	h.streams = m.front.streams // and one cap on event streams
	e.h = h
	return nil
}

// close closes e's handler and, when Models opened it, its registry. It
// waits for no request: requests still using e see the registry closed.
func (e *modelEntry) close() {
	if e.err != nil || e.h == nil {
		return
	}
	e.h.Close()
	if e.owned {
		e.reg.Close()
	}
}

// exists reports whether the store holds a key under models/{name}/.
func (m *Models) exists(ctx context.Context, name string) (bool, error) {
	if m.store == nil {
		return false, nil
	}
	opts := &storage.ListOptions{Prefix: registry.ModelsDir + "/" + name + "/", PageSize: 1}
	for page, err := range storage.Pages(ctx, m.store, opts) {
		if err != nil {
			return false, fmt.Errorf("registryhttp: looking up model %q: %w", name, err)
		}
		if len(page.Objects) > 0 || len(page.Prefixes) > 0 {
			return true, nil
		}
	}
	return false, nil
}

// ModelSummary is one model of GET /models-index.
type ModelSummary struct {
	// Name is the model's name (its prefix models/{name}/).
	Name string `json:"name"`
	// Versions counts its registered versions.
	Versions int `json:"versions"`
	// Deployed is its deployed version ("" when none).
	Deployed string `json:"deployed"`
	// ModelType is metadata.model_type (the estimator's class) of the
	// deployed version, else of the newest; "" when it has none.
	ModelType string `json:"model_type,omitempty"`
	// Error is the code of the error that kept the model from being read;
	// the other fields are then empty.
	Error string `json:"error,omitempty"`
}

type modelsIndexResponse struct {
	Models []ModelSummary `json:"models"`
}

// serveIndex answers GET /models-index: every model of the store, with
// its deployed version.
func (m *Models) serveIndex(w http.ResponseWriter, r *http.Request) {
	names, err := m.names(r.Context())
	if err != nil {
		m.front.writeError(w, r, err)
		return
	}
	out := modelsIndexResponse{Models: make([]ModelSummary, 0, len(names))}
	for _, name := range names {
		if err := r.Context().Err(); err != nil {
			m.front.writeError(w, r, err)
			return
		}
		out.Models = append(out.Models, m.summary(r.Context(), name))
	}
	writeJSON(w, http.StatusOK, out)
}

// names lists the models the store holds.
func (m *Models) names(ctx context.Context) ([]string, error) {
	if m.store == nil {
		return nil, nil
	}
	return registry.Models(ctx, m.store)
}

// summary describes one model for the index.
func (m *Models) summary(ctx context.Context, name string) ModelSummary {
	s := ModelSummary{Name: name}
	reg, done, err := m.peek(ctx, name)
	if err != nil {
		s.Error = modelpkg.Code(err)
		if s.Error == "" {
			s.Error = "internal"
		}
		return s
	}
	defer done()
	vs := reg.List(nil)
	s.Versions = len(vs)
	var typed *registry.Version
	for _, v := range vs {
		if v.Deployed {
			s.Deployed = v.Version
			typed = v
		}
	}
	if typed == nil && len(vs) > 0 {
		typed = vs[0]
	}
	if typed != nil {
		s.ModelType = typed.ModelType
	}
	return s
}

// peek returns model name's registry for one read: the open one, or one
// opened through the cache while it has room, or else one opened for
// this read only (without the scan), so that listing many models does
// not close the ones in use.
func (m *Models) peek(ctx context.Context, name string) (*registry.Registry, func(), error) {
	m.mu.Lock()
	_, open := m.entries[name]
	full := len(m.entries) >= m.opts.MaxOpen
	m.mu.Unlock()
	if open || !full {
		e, _, err := m.acquire(ctx, name, false)
		if err != nil {
			return nil, nil, err
		}
		return e.reg, func() { m.release(e) }, nil
	}
	if m.opts.Open != nil {
		reg, err := m.opts.Open(ctx, name)
		return reg, func() {}, err
	}
	var o registry.Options
	if m.opts.Registry != nil {
		o = *m.opts.Registry
	}
	o.SkipOpenScan = true
	reg, err := registry.OpenModel(ctx, m.store, name, &o)
	if err != nil {
		return nil, nil, err
	}
	return reg, func() { reg.Close() }, nil
}

// modelsUI holds the model list page and its script.
//
//go:embed ui/models.html ui/models.js
var modelsUI embed.FS

// serveUI serves the model list page and its script.
func (m *Models) serveUI(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, ".js") {
		m.serveBytes(w, r, modelsUI, "ui/models.js", "text/javascript; charset=utf-8", nil)
		return
	}
	m.serveBytes(w, r, modelsUI, "ui/models.html", "text/html; charset=utf-8", nil)
}

// serveModelUI serves a model's UI page (which then shows a model
// switcher), its assets and the OpenAPI document, without opening the
// model: they hold no registry data, and serving them for any valid name
// reveals nothing about which models exist.
func (m *Models) serveModelUI(w http.ResponseWriter, r *http.Request) {
	name, err := modelName(r)
	if err != nil {
		m.front.writeError(w, r, err)
		return
	}
	switch {
	case !strings.HasPrefix(r.URL.Path, "/m/"+name+"/"):
		// A relative redirect keeps whatever prefix the host mounted
		// the handler under.
		// (http.Redirect would make it absolute from the stripped path).
		w.Header().Set("Location", name+"/")
		w.WriteHeader(http.StatusMovedPermanently)
	case strings.HasSuffix(r.URL.Path, "/openapi.json"):
		m.front.serveOpenAPI(w, r, "")
	case strings.HasSuffix(r.URL.Path, "/app.js"):
		m.serveBytes(w, r, ui, "ui/app.js", "text/javascript; charset=utf-8", nil)
	case strings.HasSuffix(r.URL.Path, "/app.css"):
		m.serveBytes(w, r, ui, "ui/app.css", "text/css; charset=utf-8", nil)
	default:
		// The page learns its model (and so shows the switcher) from
		// its body's data-model attribute; the name is [a-z0-9._-].
		m.serveBytes(w, r, ui, "ui/index.html", "text/html; charset=utf-8", func(b []byte) []byte {
			return bytes.Replace(b, []byte("<body>"), []byte(`<body data-model="`+html.EscapeString(name)+`">`), 1)
		})
	}
}

func (m *Models) serveBytes(w http.ResponseWriter, r *http.Request, fsys embed.FS, name, ctype string, edit func([]byte) []byte) {
	data, err := fsys.ReadFile(name)
	if err != nil {
		m.front.writeError(w, r, errNoRoute)
		return
	}
	if edit != nil {
		data = edit(data)
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(data)
}
