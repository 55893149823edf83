// Package registrymetrics exports a modelvault registry's activity as
// Prometheus metrics (github.com/prometheus/client_golang).
//
// One call wires a host: [Metrics.Instrument] sets the registry's
// Options.Notify (keeping one already set), and the returned value is
// the HTTP handler's Options.Observer and the /metrics handler:
//
//	m, err := registrymetrics.New(nil) // its own prometheus.Registry
//	regOpts := &registry.Options{}
//	m.Instrument(regOpts)
//	reg, err := registry.Open(ctx, store, regOpts)
//	api := registryhttp.New(reg, &registryhttp.Options{Observer: m})
//	mux.Handle("GET /metrics", m)
//
// The metrics, all prefixed modelvault_:
//
//	events_total{type}                     events observed: imported, invalid, deployed, rolled_back, deleted
//	import_rejections_total{code}          uploads refused, by error code (too_large, hash_mismatch, ...)
//	import_bytes_total                     bytes of uploads accepted
//	import_duration_seconds                upload and import time of accepted uploads
//	load_duration_seconds{result}          model loads through an instrumented Loader
//	load_failures_total                    loads (or warm-ups) that failed
//	verification_failures_total            stored files that no longer match their digests
//	scan_rejections_total                  placed packages a scan found invalid
//	swaps_total                            models swapped in by a Live
//	served_version{model,version}          1 for the version each model serves in this process
//	leases_in_flight                       model leases held (requests using a model)
//
// # Concurrency
//
// A [Metrics] is safe for concurrent use.
package registrymetrics
