package registryhttp

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/modelvault/modelvault/registry"
)

// serveEvents streams registry events as server-sent events: one
// "event: <type>" message per event, with the sequence number as its id
// and the event (without its version record) as JSON data. A client that
// reconnects with Last-Event-ID (or ?after=N) first gets the events it
// missed. Comment lines are written every Heartbeat. The stream ends when
// the client goes away, the registry is closed or [Handler.Close] is
// called.
func (h *Handler) serveEvents(w http.ResponseWriter, r *http.Request, _ string) {
	select {
	case <-h.done:
		h.writeError(w, r, errClosed)
		return
	default:
	}
	after := r.Header.Get("Last-Event-ID")
	if after == "" {
		after = r.URL.Query().Get("after")
	}
	last, err := intParam(after)
	if err != nil {
		h.writeError(w, r, fmt.Errorf("%w: after: %w", errBadRequest, err))
		return
	}
	ctx := r.Context()
	// Watch before reading the backlog, so nothing falls in between;
	// duplicates are dropped by sequence number.
	events := h.reg.Watch(ctx)
	var backlog []*registry.Event
	if last > 0 {
		if backlog, err = h.reg.History(ctx, &registry.HistoryOptions{After: last}); err != nil {
			h.writeError(w, r, err)
			return
		}
	}

	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives a server's WriteTimeout
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprint(w, ": modelvault events\nretry: 2000\n\n"); err != nil {
		return
	}
	send := func(e *registry.Event) error {
		if e.Seq <= last {
			return nil
		}
		last = e.Seq
		data, err := json.Marshal(eventJSON(e))
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "id: %s\nevent: %s\ndata: %s\n\n", strconv.FormatInt(e.Seq, 10), e.Type, data)
		return err
	}
	for _, e := range backlog {
		if send(e) != nil {
			return
		}
	}
	if rc.Flush() != nil {
		return
	}
	heartbeat := time.NewTicker(h.opts.Heartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.done:
			return
		case <-heartbeat.C:
			if _, err := fmt.Fprint(w, ": heartbeat\n\n"); err != nil {
				return
			}
		case e, ok := <-events:
			if !ok {
				return
			}
			if send(e) != nil {
				return
			}
		}
		if rc.Flush() != nil {
			return
		}
	}
}
