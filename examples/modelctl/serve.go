package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/net/netutil"

	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/registry/registryhttp"
)

// shutdownGrace is how long a stopping server waits for requests in
// flight (uploads, say) before closing their connections.
const shutdownGrace = 10 * time.Second

func cmdServe() *command {
	return &command{
		name: "serve", maxArgs: 0,
		summary: "serve the REST API and web UI",
		help: `Serves the registry's REST API and web UI (registry/registryhttp) over the
store, at the root of --addr, until interrupted; then it stops gracefully.
The store is scanned for placed packages first.

Every request except the UI's own files needs "Authorization: Bearer TOKEN".
The token is --token, or $MODELVAULT_TOKEN, or else a random one that is
printed at start. Uploads are limited to 100 MiB. Requests naming another
Host than --addr's (or --allowed-hosts) are refused (DNS rebinding); at
most 256 connections are served at once. A failed scan is reported, and
serving goes on. Serve on loopback, or
behind a TLS proxy: the token is a credential.`,
		flags: func(fs *flag.FlagSet, o *cmdOpts) {
			fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to listen on")
			fs.StringVar(&o.token, "token", "", "bearer token (default $MODELVAULT_TOKEN, or a generated one)")
			fs.StringVar(&o.hosts, "allowed-hosts", "", "comma-separated Host names to answer (default: the --addr host, and localhost for a loopback one)")
		},
		run: runServe,
	}
}

func runServe(e *env, o *cmdOpts, _ []string) error {
	token, generated := o.token, false
	if token == "" {
		token = os.Getenv("MODELVAULT_TOKEN")
	}
	if token == "" {
		token, generated = rand.Text(), true
	}
	reg, done, err := e.openRegistry(nil)
	if err != nil {
		return err
	}
	defer done()
	logger := slog.New(slog.NewTextHandler(e.stderr, nil))
	// A bad placement in the store is the scan's business (a finding on
	// that version), never a reason not to start: a failed scan is
	// reported and serving goes on.
	res, err := reg.Scan(e.ctx, e.caller())
	if err != nil {
		if e.ctx.Err() != nil {
			return err
		}
		logger.Warn("modelctl: the scan of the store failed; serving what is registered", "err", err)
		res = &registry.ScanResult{}
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	h := registryhttp.New(reg, &registryhttp.Options{
		Authorizer:   registryhttp.BearerTokens(token),
		AllowedHosts: serveHosts(o.hosts, ln.Addr()),
		Logger:       logger,
	})
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	srv.RegisterOnShutdown(func() { h.Close() })

	url := "http://" + ln.Addr().String() + "/"
	if e.json {
		out := map[string]any{"ok": true, "url": url, "addr": ln.Addr().String(), "registered": len(res.Registered)}
		if generated {
			out["token"] = token
		}
		writeJSON(e.stdout, out)
	} else {
		fmt.Fprintf(e.stdout, "modelctl: serving %s on %s\n", e.store, url)
		if len(res.Registered) > 0 {
			fmt.Fprintf(e.stdout, "modelctl: the scan registered %d placed package(s)\n", len(res.Registered))
		}
		if generated {
			fmt.Fprintf(e.stdout, "modelctl: token (enter it in the UI, or send \"Authorization: Bearer TOKEN\"):\n%s\n", token)
		}
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(netutil.LimitListener(ln, serveMaxConns)) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-e.ctx.Done():
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(e.ctx), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		srv.Close()
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	if !e.json {
		fmt.Fprintln(e.stdout, "modelctl: stopped")
	}
	return nil
}

// serveMaxConns bounds the connections modelctl serve serves at once.
const serveMaxConns = 256

// serveHosts returns the Host names serve answers to: those of flagValue,
// or else the listen address's (with localhost and the loopback addresses
// for a loopback or unspecified one, and the machine's name for the
// latter).
func serveHosts(flagValue string, addr net.Addr) []string {
	var out []string
	for _, h := range strings.Split(flagValue, ",") {
		if h = strings.TrimSpace(h); h != "" {
			out = append(out, h)
		}
	}
	if len(out) > 0 {
		return out
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return nil
	}
	out = append(out, host)
	if ip := net.ParseIP(host); ip != nil && (ip.IsLoopback() || ip.IsUnspecified()) {
		out = append(out, "localhost", "127.0.0.1", "::1", "[::1]")
		if name, err := os.Hostname(); err == nil && ip.IsUnspecified() {
			out = append(out, name)
		}
	}
	return out
}
