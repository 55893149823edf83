package registry

// Test-only views of unexported counters, for tests in registry_test.

// LiveIterations returns how often l's follow loop woke up.
func LiveIterations[M any](l *Live[M]) int64 { return l.iterations.Load() }

// LivePublishes returns how often l published its state.
func LivePublishes[M any](l *Live[M]) int64 { return l.publishes.Load() }

// Polls returns how many polls r's poller finished.
func Polls(r *Registry) int64 { return r.hub.polls.Load() }

// Subscribers returns how many subscribers r's fan-out has.
func Subscribers(r *Registry) int {
	r.hub.mu.Lock()
	defer r.hub.mu.Unlock()
	return len(r.hub.subs)
}

// WatchBuffer is a watcher's buffer size.
const WatchBuffer = watchBuffer

// ErrLeaseReleased is what a second Lease.Release panics with.
var ErrLeaseReleased = errLeaseReleased
