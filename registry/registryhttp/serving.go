package registryhttp

import (
	"context"
	"net/http"
	"time"

	"github.com/modelvault/modelvault/registry"
)

// Replica is what one running process serves, as the host's
// Options.Serving reports it (from the registry's published serving
// states): the GET /serving answer and the UI's fleet view.
type Replica struct {
	// Name identifies the process (a host name, a pod name).
	Name string `json:"name"`
	// Model is the name of the registry it follows (registry.Options.Name).
	Model string `json:"model,omitempty"`
	// Version is the version it serves ("" when none); Since is since
	// when.
	Version string    `json:"version"`
	Since   time.Time `json:"since,omitzero"`
	// Want is the deployed version as the process last read it.
	Want string `json:"want,omitempty"`
	// LastError is its last failed load ("" once a load succeeded), of
	// ErrorVersion, Failures times in a row.
	LastError    string `json:"last_error,omitempty"`
	ErrorVersion string `json:"error_version,omitempty"`
	Failures     int    `json:"failures,omitempty"`
}

// servingResponse is the GET /serving answer.
type servingResponse struct {
	// Available is true when the replicas were read (always, today;
	// kept so that a host without serving states can say so).
	Available bool      `json:"available"`
	Replicas  []Replica `json:"replicas"`
}

// ServingFunc reports what every running process serves; see
// Options.Serving.
type ServingFunc func(ctx context.Context) ([]Replica, error)

func (h *Handler) serveServing(w http.ResponseWriter, r *http.Request, _ string) {
	serving := h.opts.Serving
	if serving == nil {
		serving = registryServing(h.reg)
	}
	reps, err := serving(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if reps == nil {
		reps = []Replica{}
	}
	writeJSON(w, http.StatusOK, servingResponse{Available: true, Replicas: reps})
}

// registryServing reads the serving states every registry.Live sharing
// the store publishes (registry.Registry.Serving).
func registryServing(reg *registry.Registry) ServingFunc {
	return func(ctx context.Context) ([]Replica, error) {
		states, err := reg.Serving(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]Replica, len(states))
		for i, s := range states {
			out[i] = Replica{Name: s.Name, Model: s.Model, Version: s.Version, Since: s.Since, Want: s.Want,
				LastError: s.LastError, ErrorVersion: s.ErrorVersion, Failures: s.Failures}
		}
		return out, nil
	}
}
