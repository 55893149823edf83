// Command server is a model-serving service that embeds modelvault: the
// registry on a store chosen by URL or directory, the REST API and web UI
// mounted at /registry/, and a Live model answering POST /predict that
// follows every deploy and rollback without dropping a request. Models run
// in pure Go (modelpkg/sklearn), and the Open Inference Protocol (KServe
// v2) is served under /v2/, so KServe, Triton and MLServer clients work
// unchanged.
//
//	go run ./examples/server -store ./models -addr 127.0.0.1:8080
//
// Open http://127.0.0.1:8080/registry/ to upload a package
// (model_{version}_deployment.zip) and deploy it; then
//
//	curl -d '{"features":[5.1,3.5,1.4,0.2]}' http://127.0.0.1:8080/predict
//	curl -d '{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP64","data":[5.1,3.5,1.4,0.2]}]}' \
//	  http://127.0.0.1:8080/v2/models/LogisticRegression/infer
//
// A store that holds several models, each under models/NAME/ (see
// registry.OpenModel; -all-models serves a store so before it holds any),
// gets one registry and one Live per model: the registry API serves them
// all (registryhttp.NewModels: the model list at /registry/, each model
// under /registry/m/NAME/, an import into a new name creating it), the
// Open Inference Protocol addresses each by its name
// (/v2/models/NAME/infer), and POST /predict?model=NAME picks one (the
// parameter may be left out while one model is served). A model another
// process creates is opened on its first request. For a store of one
// model, /v2/models/{name} is called by the estimator class
// (metadata.model_type), as above.
//
// GET /metrics serves Prometheus metrics (registry/registrymetrics).
// GET /healthz answers while the process is up; GET /readyz answers 200
// once a deployed model is loaded (503 before, with the last load error;
// with several models, once every model's deployed version is loaded).
// Without -token, a token is generated into -token-file (mode 0600; the
// token is never logged).
//
// Running as a service: headers must arrive within 10 s, idle keep-alive
// connections close after 60 s, at most -max-conns connections are served
// at once, requests naming another Host than the listen address's (or
// -allowed-hosts) are refused with 421 (DNS rebinding), and every error is
// the registry API's JSON shape. Uploads are bounded by the registry
// handler (rate, count, spooled bytes).
//
// The store may be a directory or a URL: s3://bucket?region=..., gs://bucket,
// azblob://container, mem://. The cloud drivers are linked in by the blank
// imports below; a service that needs only one imports only that one.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	_ "gocloud.dev/blob/azureblob" // azblob:// stores
	_ "gocloud.dev/blob/gcsblob"   // gs:// stores
	_ "gocloud.dev/blob/s3blob"    // s3:// stores

	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/registry/registryhttp"
	"github.com/modelvault/modelvault/registry/registrymetrics"
	"github.com/modelvault/modelvault/storage/storeurl"
)

func main() {
	store := flag.String("store", "./models", "store: a directory or a URL (s3://, gs://, azblob://, mem://)")
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	token := flag.String("token", os.Getenv("MODELVAULT_TOKEN"), "bearer token for the registry API (default: generated into -token-file)")
	tokenFile := flag.String("token-file", filepath.Join(os.TempDir(), "modelvault-server.token"), "where a generated token is written (mode 0600)")
	hosts := flag.String("allowed-hosts", "", "comma-separated Host names to answer (default: the listen address's, and localhost for a loopback one)")
	maxConns := flag.Int("max-conns", defaultMaxConns, "connections served at once")
	allModels := flag.Bool("all-models", false, "serve the store as one of several models (models/NAME/) even while it holds none")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if *token == "" {
		*token = newToken()
		if err := writeTokenFile(*tokenFile, *token); err != nil {
			logger.Error("write the generated token", "err", err)
			os.Exit(1)
		}
		// The token itself is never logged: logs are often readable by
		// more people than the registry should be writable by.
		logger.Info("generated a registry token; pass the file's content as 'Authorization: Bearer ...'", "token_file", *tokenFile)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		logger.Error("listen", "err", err)
		os.Exit(1)
	}
	logger.Info("serving", "ui", "http://"+ln.Addr().String()+"/registry/", "predict", "POST http://"+ln.Addr().String()+"/predict")
	cfg := &config{store: *store, token: *token, hosts: allowedHosts(*hosts, ln.Addr()), maxConns: *maxConns, allModels: *allModels, logger: logger}
	if err := run(ctx, ln, cfg); err != nil {
		logger.Error("server", "err", err)
		os.Exit(1)
	}
}

func newToken() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// config is the service's configuration.
type config struct {
	store    string        // a directory or a store URL
	token    string        // the registry API's bearer token
	hosts    []string      // Host names answered; nil: those of the listener
	maxConns int           // connections served at once; 0: defaultMaxConns
	idle     time.Duration // idle keep-alive timeout; 0: idleTimeout
	logger   *slog.Logger
	// allModels serves the store as one of several models (each under
	// models/NAME/) even before it holds any; a store that holds some
	// is served so anyway.
	allModels bool
}

// run runs the service on ln until ctx is done.
func run(ctx context.Context, ln net.Listener, cfg *config) error {
	logger := cfg.logger
	if cfg.hosts == nil {
		cfg.hosts = allowedHosts("", ln.Addr())
	}
	store, err := storeurl.Open(ctx, cfg.store, nil)
	if err != nil {
		return err
	}
	defer store.Close()
	metrics, err := registrymetrics.New(nil)
	if err != nil {
		return err
	}
	// A store that holds models under models/NAME/ (or any store with
	// -all-models) is served as a store of several models.
	multi := cfg.allModels
	if !multi {
		names, err := registry.Models(ctx, store)
		if err != nil {
			return err
		}
		multi = len(names) > 0
	}
	models := &fleet{
		store:  store,
		multi:  multi,
		logger: logger,
		loader: func(name string) registry.Loader[*servedModel] {
			return registrymetrics.Loader[*servedModel](metrics, modelLoader(name))
		},
	}
	models.regOpt = func(name string) *registry.Options {
		opts := &registry.Options{
			Logger: logger,
			Loader: registry.AnyLoader[*servedModel](models.loader(name)),
			Notify: func(n registry.Notice) {
				if n.Kind != registry.NoticeEvent {
					logger.Info("registry", "model", name, "notice", n.Kind, "version", n.Version, "err", n.Err)
				}
			},
		}
		metrics.Instrument(opts)
		return opts
	}
	// Opening a registry replays its log, repairs what a crash left, and
	// registers packages placed in the store by hand; it deploys nothing.
	// Each model's deployed version, if any, is loaded now (the
	// specification's start-up behaviour) and every later deploy is
	// followed.
	if err := openFleet(ctx, models); err != nil {
		return err
	}
	defer models.close()

	apiOpts := registryhttp.Options{
		Authorizer:   registryhttp.BearerTokens(cfg.token),
		AllowedHosts: cfg.hosts,
		Observer:     metrics,
		Logger:       logger,
	}
	var api interface {
		http.Handler
		Close() error
	}
	if multi {
		// The API opens a model through the fleet, so that a model
		// created by an import is served at once.
		api = registryhttp.NewModels(store, &registryhttp.ModelsOptions{Options: apiOpts, Open: models.registry})
	} else {
		e, err := models.get(ctx, "", false)
		if err != nil {
			return err
		}
		api = registryhttp.New(e.reg, &apiOpts)
	}
	defer api.Close()
	mux := http.NewServeMux()
	mux.Handle("/registry/", http.StripPrefix("/registry", api))
	// POST /predict and the KServe v2 protocol (infer.go), each request
	// with a read deadline and counted as a lease in flight.
	registerInference(mux, models, func(h http.HandlerFunc) http.HandlerFunc {
		return withReadDeadline(predictTimeout, countLeases(metrics, h))
	})
	mux.Handle("GET /metrics", metrics)
	healthz, readyz := healthHandlers(models)
	mux.HandleFunc("GET /healthz", healthz)
	mux.HandleFunc("GET /readyz", readyz)
	mux.HandleFunc("/", notFound)

	srv := newHTTPServer(hostCheck(cfg.hosts, mux), logger)
	if cfg.idle > 0 {
		srv.IdleTimeout = cfg.idle
	}
	srv.RegisterOnShutdown(func() { api.Close() })
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(limitListener(ln, cfg.maxConns)) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	if err := shutdown(srv); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
