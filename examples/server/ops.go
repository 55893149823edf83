package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/net/netutil"

	"github.com/modelvault/modelvault/internal/httpguard"
	"github.com/modelvault/modelvault/registry/registrymetrics"
)

// Server limits. The registry handler bounds uploads by rate and GET
// /events by a deadline per write, so the server sets no ReadTimeout or
// WriteTimeout (either would cut off a large upload or a stream).
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 60 * time.Second
	maxHeaderBytes    = 64 << 10
	// predictTimeout bounds reading a /predict request's body.
	predictTimeout = 10 * time.Second
	// defaultMaxConns is the default of -max-conns: beyond it new
	// connections wait in the kernel's backlog instead of exhausting the
	// process's file descriptors.
	defaultMaxConns = 512
)

// newHTTPServer returns the server with its timeouts, answering every
// error in JSON (see jsonErrors).
func newHTTPServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           jsonErrors(h, logger),
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
}

// limitListener bounds the connections served at once.
func limitListener(ln net.Listener, n int) net.Listener {
	if n <= 0 {
		n = defaultMaxConns
	}
	return netutil.LimitListener(ln, n)
}

// allowedHosts returns the Host names the service answers to: those
// given, or else those of the listen address (for a loopback or
// unspecified address, also localhost and the loopback addresses).
func allowedHosts(flagValue string, addr net.Addr) []string {
	if flagValue != "" {
		var out []string
		for _, h := range strings.Split(flagValue, ",") {
			if h = strings.TrimSpace(h); h != "" {
				out = append(out, h)
			}
		}
		return out
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return nil
	}
	out := []string{host}
	if ip := net.ParseIP(host); ip != nil && (ip.IsLoopback() || ip.IsUnspecified()) {
		out = append(out, "localhost", "127.0.0.1", "::1", "[::1]")
		if ip.IsUnspecified() {
			if name, err := os.Hostname(); err == nil {
				out = append(out, name)
			}
		}
	}
	return out
}

// hostCheck refuses requests naming another Host (DNS rebinding) with
// 421, except the health probes, which orchestrators send to a pod's
// address.
func hostCheck(hosts []string, next http.Handler) http.Handler {
	allowed := map[string]bool{}
	for _, h := range hosts {
		allowed[strings.ToLower(h)] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := strings.ToLower(r.Host)
		if name, _, err := net.SplitHostPort(host); err == nil {
			host = name
		}
		if !allowed[host] && !allowed[strings.ToLower(r.Host)] && r.URL.Path != "/healthz" && r.URL.Path != "/readyz" {
			writeError(w, r, http.StatusMisdirectedRequest, "misdirected_host", "this server does not serve the host "+r.Host)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// errorJSON is the registry API's error shape, used for the service's own
// errors too.
type errorJSON struct {
	Error struct {
		Code     string `json:"code"`
		Message  string `json:"message"`
		Findings []any  `json:"findings"`
	} `json:"error"`
}

// writeError answers with the registry API's JSON error shape; a request
// with a body that was not read is answered with Connection: close.
func writeError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	var e errorJSON
	e.Error.Code, e.Error.Message, e.Error.Findings = code, msg, []any{}
	if r != nil && r.ContentLength != 0 {
		// The body is not read: close, and let Go's server not wait to
		// drain it either.
		w.Header().Set("Connection", "close")
		_ = http.NewResponseController(w).SetReadDeadline(time.Now())
	}
	writeJSON(w, status, e)
}

// writeJSON encodes v before writing anything, so that a value that cannot
// be encoded is a 500 with a JSON body, never a status without one.
func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		data = []byte(`{"error":{"code":"internal","message":"internal server error","findings":[]}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}

// registryMount is where the registry API and UI are mounted (with a
// trailing slash).
const registryMount = "/registry"

// jsonErrors keeps Go's own plain-text and HTML answers out of the
// service: a path that is not canonical (an empty, "." or ".." segment,
// or no leading slash, such as CONNECT's host:port) is a JSON 404 where
// http.ServeMux would redirect with an HTML body; the UI's mount without
// its slash is redirected with no body; and a panic is logged with its
// stack and answered with the JSON 500 (or, once the answer has begun,
// cut off as net/http does).
func jsonErrors(next http.Handler, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w := httpguard.NewWriter(rw)
		defer httpguard.Recover(w, r, logger, func() {
			writeError(w, r, http.StatusInternalServerError, "internal", "internal server error")
		})
		p := r.URL.EscapedPath()
		if p == registryMount && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			u := *r.URL
			u.Path, u.RawPath = registryMount+"/", ""
			w.Header().Set("Location", u.RequestURI())
			w.WriteHeader(http.StatusPermanentRedirect)
			return
		}
		if !httpguard.CanonicalPath(p) {
			writeError(w, r, http.StatusNotFound, "not_found", "no such endpoint (the path must be canonical: no empty, \".\" or \"..\" segments)")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// notFound answers every path nothing else serves, in JSON.
func notFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, r, http.StatusNotFound, "not_found", "no such endpoint")
}

// readiness reports whether the service can answer /predict: the registry
// is open (it is, once serve runs) and a deployed model is loaded.
type readiness interface {
	Version() string
	Err() error
}

// healthHandlers returns /healthz (the process is up) and /readyz (a model
// is loaded and served).
func healthHandlers(live readiness) (healthz, readyz http.HandlerFunc) {
	healthz = func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	}
	readyz = func(w http.ResponseWriter, r *http.Request) {
		v := live.Version()
		if v == "" {
			body := map[string]any{"ready": false, "reason": "no model is loaded (nothing deployed yet, or the deployed version failed to load)"}
			if err := live.Err(); err != nil {
				body["last_error"] = err.Error()
			}
			writeJSON(w, http.StatusServiceUnavailable, body)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"ready": true, "serving": v})
	}
	return healthz, readyz
}

// withReadDeadline bounds the time to read a request's body.
func withReadDeadline(d time.Duration, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(d))
		next(w, r)
	}
}

// writeTokenFile stores a generated token in a file only its owner can
// read, so that it never appears in the logs.
func writeTokenFile(path, token string) error {
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		return err
	}
	return os.Chmod(path, 0o600) // an existing file keeps its mode otherwise
}

// shutdownTimeout bounds a graceful shutdown.
const shutdownTimeout = 10 * time.Second

// shutdown stops srv gracefully within shutdownTimeout.
func shutdown(srv *http.Server) error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	return srv.Shutdown(ctx)
}

// countLeases counts the requests using a model in the metrics' leases in
// flight.
func countLeases(m *registrymetrics.Metrics, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		defer m.Lease()()
		next(w, r)
	}
}
