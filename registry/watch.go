package registry

import (
	"context"
	"time"
)

// Watch returns a channel of the events appended to the log after the
// call, by this process or any other sharing the store, in log order
// without gaps. Events from other processes arrive within
// [Options.PollInterval]; this process's own arrive at once. The channel is
// closed when ctx is done or the registry is closed.
//
// Every Watch, every [Live] and every event stream of a Registry share
// one poller: the store is read once per poll, whatever the number of
// watchers, and the events are fanned out in memory. Each watcher has a
// bounded buffer and is never waited for, so a slow reader delays only
// itself: when its buffer overflows it stops receiving events from the
// fan-out and, once it reads again, catches up by reading the events it
// missed from the store (a resync), then continues from the fan-out. It
// still sees every event once, in order.
func (r *Registry) Watch(ctx context.Context) <-chan *Event {
	out := make(chan *Event, 16)
	sub, last := r.subscribe(true)
	if sub == nil {
		close(out)
		return out
	}
	go func() {
		defer close(out)
		defer r.unsubscribe(sub)
		send := func(e *Event) bool {
			if e.Seq <= last {
				return true // already sent by a resync
			}
			select {
			case out <- e:
				last = e.Seq
				return true
			case <-ctx.Done():
				return false
			case <-sub.done:
				return false
			}
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-sub.done:
				return
			case e := <-sub.events:
				if !send(e) {
					return
				}
				continue
			case <-sub.wake:
			}
			if !r.hub.resync(sub) {
				continue
			}
			// Events were dropped for this watcher: forward what is
			// buffered, then read the rest from the log. Events
			// published from now on are buffered again and skipped if
			// the resync already sent them.
			for drained := false; !drained; {
				select {
				case e := <-sub.events:
					if !send(e) {
						return
					}
				default:
					drained = true
				}
			}
			if !r.catchUp(ctx, sub, &last, send) {
				return
			}
		}
	}()
	return out
}

// catchUp sends the events after *last up to the registry's head, read
// from the store. A failed read is retried every PollInterval. It
// returns false when ctx is done or the registry closed.
func (r *Registry) catchUp(ctx context.Context, sub *subscription, last *int64, send func(*Event) bool) bool {
	r.mu.RLock()
	head := r.st.Seq
	r.mu.RUnlock()
	for *last < head {
		e, _, err := r.log.read(ctx, *last+1)
		if err != nil {
			if ctx.Err() != nil {
				return false
			}
			r.logger.Warn("registry: watch: resync", "seq", *last+1, "err", err)
			t := time.NewTimer(r.opts.PollInterval)
			select {
			case <-t.C:
				continue
			case <-ctx.Done():
				t.Stop()
				return false
			case <-sub.done:
				t.Stop()
				return false
			}
		}
		if !send(e) {
			return false
		}
	}
	return true
}
