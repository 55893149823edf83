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
	"time"

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
printed at start. Uploads are limited to 100 MiB. Serve on loopback, or
behind a TLS proxy: the token is a credential.`,
		flags: func(fs *flag.FlagSet, o *cmdOpts) {
			fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to listen on")
			fs.StringVar(&o.token, "token", "", "bearer token (default $MODELVAULT_TOKEN, or a generated one)")
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
	res, err := reg.Scan(e.ctx, e.caller())
	if err != nil {
		return err
	}

	logger := slog.New(slog.NewTextHandler(e.stderr, nil))
	h := registryhttp.New(reg, &registryhttp.Options{
		Authorizer: registryhttp.BearerTokens(token),
		Logger:     logger,
	})
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
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
	go func() { errc <- srv.Serve(ln) }()
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
