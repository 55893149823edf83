package registry

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// watchBuffer is how many events a subscription holds for a reader that
// has not caught up. A reader further behind is not waited for: it is
// marked as having a gap and catches up from the log on its own (see
// [Registry.Watch]).
const watchBuffer = 64

// hub fans the events this registry applies out to its subscribers
// (watchers, Lives, SSE streams through Watch) and runs the one poller
// that reads other processes' events from the store. The poller runs
// while there is at least one subscriber.
//
// Lock order: Registry.mu, then hub.mu. publish is called with
// Registry.mu held, so subscribers see events in log order.
type hub struct {
	mu     sync.Mutex
	subs   map[*subscription]struct{}
	closed bool
	// stop ends the running poller (nil when none runs); pollers counts
	// running pollers so Close can wait for them.
	stop    context.CancelFunc
	pollers sync.WaitGroup
	// polls counts finished polls (for tests and diagnostics).
	polls atomic.Int64
}

// subscription is one subscriber's view of the fan-out.
type subscription struct {
	// events receives applied events in log order (nil for wake-only
	// subscribers). It is never blocked on: when it is full the
	// subscription is marked as having a gap instead.
	events chan *Event
	// wake is signalled (without blocking, coalescing) whenever events
	// are applied, and when a gap starts.
	wake chan struct{}
	// done is closed when the registry closes.
	done chan struct{}
	// gap is set when an event could not be buffered; until the reader
	// clears it (resync), no events are buffered for it. Guarded by hub.mu.
	gap bool
}

func (s *subscription) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// subscribe registers a subscriber and returns it with the sequence
// number of the last event it will not receive; nil when the registry is
// closed. withEvents says whether it buffers events or only gets woken.
func (r *Registry) subscribe(withEvents bool) (*subscription, int64) {
	s := &subscription{wake: make(chan struct{}, 1), done: make(chan struct{})}
	if withEvents {
		s.events = make(chan *Event, watchBuffer)
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	h := &r.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, 0
	}
	if h.subs == nil {
		h.subs = map[*subscription]struct{}{}
	}
	h.subs[s] = struct{}{}
	if h.stop == nil {
		ctx, cancel := context.WithCancel(context.Background())
		h.stop = cancel
		h.pollers.Add(1)
		go r.poll(ctx)
	}
	return s, r.st.Seq
}

// unsubscribe removes s; the poller stops with the last subscriber.
func (r *Registry) unsubscribe(s *subscription) {
	h := &r.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, s)
	if len(h.subs) == 0 && h.stop != nil {
		h.stop()
		h.stop = nil
	}
}

// publish hands applied events to every subscriber without blocking.
// The caller holds r.mu (write), so calls are in log order.
func (h *hub) publish(events []*Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if s.events != nil && !s.gap {
			for _, e := range events {
				select {
				case s.events <- e:
					continue
				default:
				}
				s.gap = true
				break
			}
		}
		s.signal()
	}
}

// close ends every subscription and the poller, and waits for it.
func (h *hub) close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	for s := range h.subs {
		close(s.done)
	}
	h.subs = nil
	if h.stop != nil {
		h.stop()
		h.stop = nil
	}
	h.mu.Unlock()
	h.pollers.Wait()
}

// resync clears s's gap, so events are buffered again, and reports
// whether there was one.
func (h *hub) resync(s *subscription) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	g := s.gap
	s.gap = false
	return g
}

// poll is the registry's one poller: every PollInterval it reads the
// events other processes appended (one read of the next log slot when
// there are none) and folds them in, which publishes them.
func (r *Registry) poll(ctx context.Context) {
	defer r.hub.pollers.Done()
	t := time.NewTicker(r.opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := r.refresh(ctx); err != nil && ctx.Err() == nil {
			r.logger.Warn("registry: poll: read log", "err", err)
		}
		r.hub.polls.Add(1)
	}
}
