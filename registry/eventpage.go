package registry

import (
	"context"
	"fmt"
)

// EventsAfter returns, in order, at most limit events of the log with
// sequence numbers greater than after, and the log's last sequence number
// at the time of the call (so a caller can tell a position ahead of the
// log, or how far behind it is). It reads only the events it returns,
// which lets a caller page through a long log in bounded memory. A limit
// of zero or less means 100.
func (r *Registry) EventsAfter(ctx context.Context, after int64, limit int) ([]*Event, int64, error) {
	if err := r.Sync(ctx); err != nil {
		return nil, 0, err
	}
	if limit <= 0 {
		limit = 100
	}
	r.mu.RLock()
	last := r.st.Seq
	r.mu.RUnlock()
	var out []*Event
	for seq := max(after, 0) + 1; seq <= last && len(out) < limit; seq++ {
		e, _, err := r.log.read(ctx, seq)
		if err != nil {
			return nil, last, fmt.Errorf("events after %d: %w", after, err)
		}
		out = append(out, e)
	}
	return out, last, nil
}
