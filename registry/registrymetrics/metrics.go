package registrymetrics

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/modelvault/modelvault/registry"
)

// Options configures [New]. A nil *Options means the defaults.
type Options struct {
	// Registerer receives the collectors. Nil means a new
	// prometheus.Registry owned by the Metrics, which its ServeHTTP
	// serves; with a host's Registerer, serve the host's Gatherer.
	Registerer prometheus.Registerer
	// Gatherer is what ServeHTTP serves when Registerer is set (default
	// prometheus.DefaultGatherer).
	Gatherer prometheus.Gatherer
}

// Metrics holds the collectors. Create one with [New].
type Metrics struct {
	handler http.Handler

	events       *prometheus.CounterVec
	rejections   *prometheus.CounterVec
	importBytes  prometheus.Counter
	importTime   prometheus.Histogram
	loadTime     *prometheus.HistogramVec
	loadFailures prometheus.Counter
	verifyFails  prometheus.Counter
	scanRejects  prometheus.Counter
	swaps        prometheus.Counter
	served       *prometheus.GaugeVec
	leases       prometheus.Gauge

	mu      sync.Mutex
	serving map[string]string // model -> version in served
}

// New creates the metrics and registers them. It fails only when the
// Registerer refuses them (already registered).
func New(opts *Options) (*Metrics, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	reg, gath := o.Registerer, o.Gatherer
	if reg == nil {
		r := prometheus.NewRegistry()
		reg, gath = r, r
	} else if gath == nil {
		gath = prometheus.DefaultGatherer
	}
	const ns = "modelvault"
	m := &Metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "events_total",
			Help: "Registry events observed, by type."}, []string{"type"}),
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "import_rejections_total",
			Help: "Uploads refused, by error code."}, []string{"code"}),
		importBytes: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "import_bytes_total",
			Help: "Bytes of accepted uploads."}),
		importTime: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "import_duration_seconds",
			Help: "Time to receive and import an accepted upload.", Buckets: prometheus.ExponentialBuckets(0.01, 4, 9)}),
		loadTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "load_duration_seconds",
			Help: "Model load time through an instrumented Loader, by result.", Buckets: prometheus.ExponentialBuckets(0.001, 4, 10)}, []string{"result"}),
		loadFailures: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "load_failures_total",
			Help: "Model loads or warm-ups that failed."}),
		verifyFails: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "verification_failures_total",
			Help: "Stored versions whose files no longer match their digests."}),
		scanRejects: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "scan_rejections_total",
			Help: "Placed packages a scan found invalid."}),
		swaps: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "swaps_total",
			Help: "Models swapped in by a Live."}),
		served: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "served_version",
			Help: "1 for the version each model serves in this process."}, []string{"model", "version"}),
		leases: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "leases_in_flight",
			Help: "Model leases held."}),
		serving: map[string]string{},
	}
	for _, c := range []prometheus.Collector{m.events, m.rejections, m.importBytes, m.importTime, m.loadTime,
		m.loadFailures, m.verifyFails, m.scanRejects, m.swaps, m.served, m.leases} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	m.handler = promhttp.HandlerFor(gath, promhttp.HandlerOpts{})
	return m, nil
}

// ServeHTTP serves the metrics in the Prometheus exposition format.
func (m *Metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) { m.handler.ServeHTTP(w, r) }

// Instrument makes opts.Notify feed the metrics, calling the Notify
// already set (if any) first.
func (m *Metrics) Instrument(opts *registry.Options) {
	prev := opts.Notify
	opts.Notify = func(n registry.Notice) {
		if prev != nil {
			prev(n)
		}
		m.Notify(n)
	}
}

// Notify records a registry notice; it is a registry.Options.Notify.
func (m *Metrics) Notify(n registry.Notice) {
	switch n.Kind {
	case registry.NoticeEvent:
		if n.Event != nil {
			m.events.WithLabelValues(string(n.Event.Type)).Inc()
		}
	case registry.NoticeVerificationFailed:
		m.verifyFails.Inc()
	case registry.NoticeScanRejected:
		m.scanRejects.Inc()
	case registry.NoticeLoadFailed:
		m.loadFailures.Inc()
	case registry.NoticeLoaded:
		m.swaps.Inc()
		m.SetServing(n.Model, n.Version)
	}
}

// SetServing sets the served-version gauge of model (the registry's
// Options.Name; "" for an unnamed one) to version ("" when
// it serves nothing).
func (m *Metrics) SetServing(model, version string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.serving[model]; ok {
		m.served.DeleteLabelValues(model, old)
	}
	if version == "" {
		delete(m.serving, model)
		return
	}
	m.serving[model] = version
	m.served.WithLabelValues(model, version).Set(1)
}

// ObserveImport records an upload's outcome: code is "" for an accepted
// one, else the error code it was refused with. It makes *Metrics a
// registryhttp Observer.
func (m *Metrics) ObserveImport(code string, size int64, took time.Duration) {
	if code != "" {
		m.rejections.WithLabelValues(code).Inc()
		return
	}
	m.importBytes.Add(float64(size))
	m.importTime.Observe(took.Seconds())
}

// Lease records a model lease taken; call the returned function when it
// is released.
func (m *Metrics) Lease() (release func()) {
	m.leases.Inc()
	var once sync.Once
	return func() { once.Do(m.leases.Dec) }
}

// Loader wraps l so that every load's duration and outcome are recorded.
func Loader[M any](m *Metrics, l registry.Loader[M]) registry.Loader[M] {
	return registry.LoaderFunc[M](func(ctx context.Context, pkg *registry.Package) (M, error) {
		start := time.Now()
		model, err := l.Load(ctx, pkg)
		result := "ok"
		if err != nil {
			result = "error"
		}
		m.loadTime.WithLabelValues(result).Observe(time.Since(start).Seconds())
		return model, err
	})
}
