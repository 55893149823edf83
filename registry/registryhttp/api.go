package registryhttp

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/validate"
)

// Response bodies. Versions and events use the registry's own JSON form
// (events without the embedded version record).

type versionResponse struct {
	Version *registry.Version `json:"version"`
	DryRun  bool              `json:"dry_run,omitempty"`
	// Staged is set on a dry run whose package the handler keeps: POST
	// /staged/{token} imports it without a second upload.
	Staged *stagedJSON `json:"staged,omitempty"`
}

type versionsResponse struct {
	Versions []*registry.Version `json:"versions"`
}

type eventResponse struct {
	// Event is null when the operation had nothing to do (deploying the
	// deployed version); NoOp then says so.
	Event   *registry.Event   `json:"event"`
	NoOp    bool              `json:"no_op,omitempty"`
	Version *registry.Version `json:"version,omitempty"`
}

type eventsResponse struct {
	Events []*registry.Event `json:"events"`
}

type validateResponse struct {
	Version  *registry.Version  `json:"version"`
	Valid    bool               `json:"valid"`
	Findings []validate.Finding `json:"findings"`
}

type scanResponse struct {
	Registered []*registry.Version `json:"registered"`
	Invalid    []*registry.Version `json:"invalid"`
	Skipped    map[string]string   `json:"skipped"`
}

// versionJSON prepares a version for a response: findings are never null.
func versionJSON(v *registry.Version) *registry.Version {
	if v != nil && v.Findings == nil {
		v.Findings = []validate.Finding{}
	}
	return v
}

func versionsJSON(vs []*registry.Version) []*registry.Version {
	if vs == nil {
		vs = []*registry.Version{}
	}
	for _, v := range vs {
		versionJSON(v)
	}
	return vs
}

// eventJSON is an event without its embedded version record.
func eventJSON(e *registry.Event) *registry.Event {
	if e == nil || e.NoOp {
		return nil
	}
	c := *e
	c.Record = nil
	return &c
}

// caller builds the registry caller of a request: the actor from
// authorisation, the reason from the "reason" query parameter.
func caller(r *http.Request, actor string) registry.Caller {
	return registry.Caller{Actor: actor, Reason: strings.TrimSpace(r.URL.Query().Get("reason"))}
}

func (h *Handler) serveList(w http.ResponseWriter, r *http.Request, _ string) {
	if err := h.reg.Sync(r.Context()); err != nil {
		h.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	opts := &registry.ListOptions{Status: registry.Status(q.Get("status"))}
	switch opts.Status {
	case "", registry.StatusAvailable, registry.StatusDeployed, registry.StatusInvalid:
	default:
		h.writeError(w, r, fmt.Errorf("%w: status must be available, deployed or invalid", errBadRequest))
		return
	}
	writeJSON(w, http.StatusOK, versionsResponse{Versions: versionsJSON(h.reg.List(opts))})
}

func (h *Handler) serveGet(w http.ResponseWriter, r *http.Request, _ string) {
	if err := h.reg.Sync(r.Context()); err != nil {
		h.writeError(w, r, err)
		return
	}
	v, err := h.reg.Get(r.PathValue("version"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, versionResponse{Version: versionJSON(v)})
}

func (h *Handler) serveValidate(w http.ResponseWriter, r *http.Request, actor string) {
	version := r.PathValue("version")
	c := caller(r, actor)
	report, err := h.reg.Validate(r.Context(), version, &c)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	v, err := h.reg.Get(version)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	findings := report.Findings
	if findings == nil {
		findings = []validate.Finding{}
	}
	h.log.Info("registryhttp: validated", "version", version, "valid", report.Valid(), "actor", actor)
	writeJSON(w, http.StatusOK, validateResponse{Version: versionJSON(v), Valid: report.Valid(), Findings: findings})
}

func (h *Handler) serveDeploy(w http.ResponseWriter, r *http.Request, actor string) {
	version := r.PathValue("version")
	c := caller(r, actor)
	e, err := h.reg.Deploy(r.Context(), version, &c)
	h.writeEvent(w, r, "deployed", version, e, err)
}

func (h *Handler) serveRollbackTo(w http.ResponseWriter, r *http.Request, actor string) {
	version := r.PathValue("version")
	e, err := h.reg.Rollback(r.Context(), &registry.RollbackOptions{Caller: caller(r, actor), To: version})
	h.writeEvent(w, r, "rolled back", version, e, err)
}

func (h *Handler) serveRollback(w http.ResponseWriter, r *http.Request, actor string) {
	e, err := h.reg.Rollback(r.Context(), &registry.RollbackOptions{Caller: caller(r, actor)})
	version := ""
	if e != nil {
		version = e.To
	}
	h.writeEvent(w, r, "rolled back", version, e, err)
}

func (h *Handler) serveDelete(w http.ResponseWriter, r *http.Request, actor string) {
	version := r.PathValue("version")
	c := caller(r, actor)
	e, err := h.reg.Delete(r.Context(), version, &c)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.log.Info("registryhttp: deleted", "version", version, "actor", actor)
	writeJSON(w, http.StatusOK, eventResponse{Event: eventJSON(e)})
}

// writeEvent answers a deploy or rollback with its event and the version
// now deployed.
func (h *Handler) writeEvent(w http.ResponseWriter, r *http.Request, verb, version string, e *registry.Event, err error) {
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	resp := eventResponse{Event: eventJSON(e), NoOp: e != nil && e.NoOp}
	if version != "" {
		if v, err := h.reg.Get(version); err == nil {
			resp.Version = versionJSON(v)
		}
	}
	h.log.Info("registryhttp: "+verb, "version", version, "noop", e == nil || e.NoOp, "actor", actorOf(e))
	writeJSON(w, http.StatusOK, resp)
}

func actorOf(e *registry.Event) string {
	if e == nil {
		return ""
	}
	return e.Actor
}

func (h *Handler) serveScan(w http.ResponseWriter, r *http.Request, actor string) {
	c := caller(r, actor)
	res, err := h.reg.Scan(r.Context(), &c)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	for _, v := range res.Invalid {
		if v.Status == "" {
			v.Status = registry.StatusInvalid // the OpenAPI enum; the record may leave it unset
		}
	}
	resp := scanResponse{Registered: versionsJSON(res.Registered), Invalid: versionsJSON(res.Invalid), Skipped: res.Skipped}
	if resp.Skipped == nil {
		resp.Skipped = map[string]string{}
	}
	h.log.Info("registryhttp: scanned", "registered", len(res.Registered), "invalid", len(res.Invalid), "actor", actor)
	writeJSON(w, http.StatusOK, resp)
}

func (h *Handler) serveHistory(w http.ResponseWriter, r *http.Request, _ string) {
	q := r.URL.Query()
	opts := &registry.HistoryOptions{Version: q.Get("version")}
	var err error
	if opts.After, err = intParam(q.Get("after")); err != nil {
		h.writeError(w, r, fmt.Errorf("%w: after: %w", errBadRequest, err))
		return
	}
	limit, err := intParam(q.Get("limit"))
	if err != nil {
		h.writeError(w, r, fmt.Errorf("%w: limit: %w", errBadRequest, err))
		return
	}
	opts.Limit = int(limit)
	events, err := h.reg.History(r.Context(), opts)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out := make([]*registry.Event, len(events))
	for i, e := range events {
		out[i] = eventJSON(e)
	}
	writeJSON(w, http.StatusOK, eventsResponse{Events: out})
}

// intParam parses a non-negative integer query parameter ("" is 0).
func intParam(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > 1<<31 {
		return 0, errors.New("want a non-negative integer")
	}
	return n, nil
}

// boolParam parses a boolean query parameter with a default.
func boolParam(s string, def bool) (bool, error) {
	if s == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return def, errors.New("want true or false")
	}
	return b, nil
}
