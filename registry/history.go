package registry

import (
	"context"
	"fmt"
)

// HistoryOptions filters [Registry.History].
type HistoryOptions struct {
	// Version keeps events about this version (as Version, From or To).
	Version string
	// Model keeps events about this model name.
	Model string
	// After keeps events with a sequence number greater than After.
	After int64
	// Limit keeps at most the last Limit matching events (0: all).
	Limit int
}

// History returns the events of the log in order, read from the store
// (so it includes every process's events up to now).
func (r *Registry) History(ctx context.Context, opts *HistoryOptions) ([]*Event, error) {
	if err := r.Sync(ctx); err != nil {
		return nil, err
	}
	var o HistoryOptions
	if opts != nil {
		o = *opts
	}
	r.mu.RLock()
	last := r.st.Seq
	r.mu.RUnlock()
	var out []*Event
	for seq := o.After + 1; seq <= last; seq++ {
		e, err := r.log.read(ctx, seq)
		if err != nil {
			return nil, fmt.Errorf("history: %w", err)
		}
		if o.Version != "" && e.Version != o.Version && e.From != o.Version && e.To != o.Version {
			continue
		}
		if o.Model != "" && e.Model != o.Model {
			continue
		}
		out = append(out, e)
		if o.Limit > 0 && len(out) > o.Limit {
			out = out[1:]
		}
	}
	return out, nil
}
