package registry

import (
	"context"
	"time"
)

// Watch returns a channel of the events appended to the log after the
// call, by this process or any other sharing the store, in log order
// without gaps. Events from other processes arrive within
// [Options.PollInterval]; this process's own arrive at once. The channel is
// closed when ctx is done or the registry is closed. A slow reader delays
// only its own channel.
func (r *Registry) Watch(ctx context.Context) <-chan *Event {
	out := make(chan *Event, 16)
	wake := make(chan struct{}, 1)
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		close(out)
		return out
	}
	r.subs[wake] = struct{}{}
	last := r.st.Seq
	r.mu.Unlock()

	go func() {
		defer close(out)
		defer func() {
			r.mu.Lock()
			if r.subs != nil {
				delete(r.subs, wake)
			}
			r.mu.Unlock()
		}()
		t := time.NewTicker(r.opts.PollInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-wake:
				if !ok {
					return
				}
			case <-t.C:
				if _, err := r.refresh(ctx); err != nil && ctx.Err() == nil {
					r.logger.Warn("registry: watch: read log", "err", err)
				}
			}
			events, err := r.History(ctx, &HistoryOptions{After: last})
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				r.logger.Warn("registry: watch: read log", "err", err)
				continue
			}
			for _, e := range events {
				select {
				case out <- e:
					last = e.Seq
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}
