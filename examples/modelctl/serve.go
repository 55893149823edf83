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

A store that holds several models (under models/NAME/, see 'modelctl
models') is served whole, with registryhttp.NewModels: the model list at
/, each model's API and UI under /m/NAME/, an import into a new name
creating it; each model's registry is opened (and scanned) on first use.
--all-models serves a store that way even before it holds any model;
--model NAME serves that one model's registry at the root instead.

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
			fs.BoolVar(&o.allModels, "all-models", false, "serve every model of the store under /m/NAME/ (the default when the store holds models/; not with --model)")
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
	if o.allModels && e.model != "" {
		return usagef("--all-models serves every model; --model serves one: not both")
	}
	logger := slog.New(slog.NewTextHandler(e.stderr, nil))
	var (
		h interface {
			http.Handler
			Close() error
		}
		res    = &registry.ScanResult{}
		models []string
		hopts  = func(ln net.Listener) registryhttp.Options {
			return registryhttp.Options{
				Authorizer:   registryhttp.BearerTokens(token),
				AllowedHosts: serveHosts(o.hosts, ln.Addr()),
				Logger:       logger,
			}
		}
	)
	store, closeStore, err := openStore(e.ctx, e.store)
	if err != nil {
		return err
	}
	defer closeStore()
	multi := o.allModels
	if !multi && e.model == "" {
		if models, err = registry.Models(e.ctx, store); err != nil {
			return err
		}
		multi = len(models) > 0
	}
	var reg *registry.Registry
	if !multi {
		if reg, err = e.openRegistryIn(store, nil); err != nil {
			return err
		}
		defer reg.Close()
		// A bad placement in the store is the scan's business (a finding
		// on that version), never a reason not to start: a failed scan is
		// reported and serving goes on.
		if res, err = reg.Scan(e.ctx, e.caller()); err != nil {
			if e.ctx.Err() != nil {
				return err
			}
			logger.Warn("modelctl: the scan of the store failed; serving what is registered", "err", err)
			res = &registry.ScanResult{}
		}
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if multi {
		policy, err := e.trustPolicy()
		if err != nil {
			ln.Close()
			return err
		}
		h = registryhttp.NewModels(store, &registryhttp.ModelsOptions{
			Options:  hopts(ln),
			Registry: &registry.Options{Signers: policy, Logger: logger},
		})
	} else {
		h = registryhttp.New(reg, ptr(hopts(ln)))
	}
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
		if multi {
			out["models"] = nonNil(models)
		}
		if generated {
			out["token"] = token
		}
		writeJSON(e.stdout, out)
	} else {
		fmt.Fprintf(e.stdout, "modelctl: serving %s on %s\n", e.store, url)
		if multi {
			fmt.Fprintf(e.stdout, "modelctl: %d model(s), each under %sm/NAME/\n", len(models), url)
		}
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

// ptr returns a pointer to a copy of v.
func ptr[T any](v T) *T { return &v }
