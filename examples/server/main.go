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
// The store may be a directory or a URL: s3://bucket?region=..., gs://bucket,
// azblob://container, mem://. The cloud drivers are linked in by the blank
// imports below; a service that needs only one imports only that one.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	_ "gocloud.dev/blob/azureblob" // azblob:// stores
	_ "gocloud.dev/blob/gcsblob"   // gs:// stores
	_ "gocloud.dev/blob/s3blob"    // s3:// stores

	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/registry/registryhttp"
	"github.com/modelvault/modelvault/storage/storeurl"
)

func main() {
	store := flag.String("store", "./models", "store: a directory or a URL (s3://, gs://, azblob://, mem://)")
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	token := flag.String("token", os.Getenv("MODELVAULT_TOKEN"), "bearer token for the registry API (default: generated and printed)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if *token == "" {
		*token = newToken()
		logger.Info("generated a registry token; pass it as 'Authorization: Bearer ...'", "token", *token)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		logger.Error("listen", "err", err)
		os.Exit(1)
	}
	logger.Info("serving", "ui", "http://"+ln.Addr().String()+"/registry/", "predict", "POST http://"+ln.Addr().String()+"/predict")
	if err := serve(ctx, ln, *store, *token, logger); err != nil {
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

// serve runs the service on ln until ctx is done.
func serve(ctx context.Context, ln net.Listener, storeTarget, token string, logger *slog.Logger) error {
	store, err := storeurl.Open(ctx, storeTarget, nil)
	if err != nil {
		return err
	}
	defer store.Close()
	// Open replays the log, repairs what a crash left, and registers
	// packages placed in the store by hand. It deploys nothing.
	reg, err := registry.Open(ctx, store, &registry.Options{
		Logger: logger,
		Loader: registry.AnyLoader[*servedModel](registry.LoaderFunc[*servedModel](loadModel)),
		Notify: func(n registry.Notice) {
			if n.Kind != registry.NoticeEvent {
				logger.Info("registry", "notice", n.Kind, "version", n.Version, "err", n.Err)
			}
		},
	})
	if err != nil {
		return err
	}
	defer reg.Close()
	// The deployed version, if any, is loaded now (the specification's
	// start-up behaviour) and every later deploy is followed.
	live, err := registry.NewLive(ctx, reg, registry.LoaderFunc[*servedModel](loadModel), nil)
	if err != nil {
		return err
	}
	defer live.Close()

	api := registryhttp.New(reg, &registryhttp.Options{
		Authorizer: registryhttp.BearerTokens(token),
		Logger:     logger,
	})
	defer api.Close()
	mux := http.NewServeMux()
	mux.Handle("/registry/", http.StripPrefix("/registry", api))
	registerInference(mux, live) // POST /predict and the KServe v2 protocol (infer.go)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "serving": live.Version()})
	})

	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	srv.RegisterOnShutdown(func() { api.Close() })
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
