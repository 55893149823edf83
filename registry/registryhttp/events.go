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
// missed, read a page at a time; one more than MaxResume events behind,
// or ahead of the log, gets a "reset" event (id: the log's head) telling
// it to reload, and follows from the head. Comment lines are written
// every Heartbeat; every write must finish within WriteTimeout. At most
// MaxEventStreams streams are open at once (then 503). The stream ends when
// the client goes away, the registry is closed or [Handler.Close] is
// called.
func (h *Handler) serveEvents(w http.ResponseWriter, r *http.Request, _ string) {
	select {
	case <-h.done:
		h.writeError(w, r, errClosed)
		return
	default:
	}
	select {
	case h.streams <- struct{}{}:
		defer func() { <-h.streams }()
	default:
		h.writeError(w, r, errBusy)
		return
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
	_, head, err := h.reg.EventsAfter(ctx, 0, 1)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	// A client ahead of the log (another registry's ids, a restored
	// store) or too far behind to replay is told to reload, and follows
	// from the head; otherwise it would miss every event up to its id.
	reset := ""
	switch {
	case last > head:
		reset = "ahead"
	case after != "" && head-last > int64(h.opts.MaxResume):
		reset = "behind"
	}
	if reset != "" || after == "" {
		last = head
	}

	rc := http.NewResponseController(w)
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Accel-Buffering", "no")
	// Every write has its own deadline: a client that stops reading is
	// dropped instead of holding the stream (and its memory) forever.
	write := func(format string, args ...any) error {
		_ = rc.SetWriteDeadline(time.Now().Add(h.opts.WriteTimeout))
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return err
		}
		return rc.Flush()
	}
	w.WriteHeader(http.StatusOK)
	if write(": modelvault events\nretry: 2000\n\n") != nil {
		return
	}
	if reset != "" {
		if write("id: %d\nevent: reset\ndata: {\"reason\":%q,\"head\":%d}\n\n", head, reset, head) != nil {
			return
		}
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
		return write("id: %s\nevent: %s\ndata: %s\n\n", strconv.FormatInt(e.Seq, 10), e.Type, data)
	}
	// The backlog, a page at a time.
	for last < head {
		page, _, err := h.reg.EventsAfter(ctx, last, backlogPage)
		if err != nil || len(page) == 0 {
			return
		}
		for _, e := range page {
			if send(e) != nil {
				return
			}
		}
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
			if write(": heartbeat\n\n") != nil {
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
	}
}

// backlogPage is how many missed events a stream reads at a time.
const backlogPage = 100
