package registry

import (
	"context"
	"fmt"
	"slices"
)

// HistoryOptions filters [Registry.History].
type HistoryOptions struct {
	// Version keeps events about this version (as Version, From or To).
	Version string
	// After keeps events with a sequence number greater than After.
	After int64
	// Limit keeps at most the last Limit matching events (0: all).
	Limit int
}

func (o *HistoryOptions) match(e *Event) bool {
	if o.Version != "" && e.Version != o.Version && e.From != o.Version && e.To != o.Version {
		return false
	}
	return true
}

// History returns the events of the log in order, read from the store
// (so it includes every process's events up to now).
//
// It reads only what it needs: with a Limit it reads the log backwards
// from its head (which this registry knows) and stops at the Limit-th
// matching event, so the last 50 events cost 50 reads whatever the
// length of the log; without one it reads every event after After.
func (r *Registry) History(ctx context.Context, opts *HistoryOptions) ([]*Event, error) {
	if err := r.Sync(ctx); err != nil {
		return nil, err
	}
	var o HistoryOptions
	if opts != nil {
		o = *opts
	}
	r.mu.RLock()
	head := r.st.Seq
	r.mu.RUnlock()
	var out []*Event
	if o.Limit > 0 {
		for seq := head; seq > o.After && len(out) < o.Limit; seq-- {
			e, _, err := r.log.read(ctx, seq)
			if err != nil {
				return nil, fmt.Errorf("history: %w", err)
			}
			if o.match(e) {
				out = append(out, e)
			}
		}
		slices.Reverse(out)
		return out, nil
	}
	for seq := o.After + 1; seq <= head; seq++ {
		e, _, err := r.log.read(ctx, seq)
		if err != nil {
			return nil, fmt.Errorf("history: %w", err)
		}
		if o.match(e) {
			out = append(out, e)
		}
	}
	return out, nil
}
