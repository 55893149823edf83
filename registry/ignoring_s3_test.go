package registry_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/internal/testservers"
	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/storage/blobstore"
)

// ignoringProxy forwards to an S3 server and answers every conditional
// PUT that the server refused (412, or 409) with 200, as an S3-compatible
// server that does not implement If-None-Match does.
type ignoringProxy struct {
	target  *url.URL
	ignored atomic.Int32
}

func (p *ignoringProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	conditional := r.Method == http.MethodPut && r.Header.Get("If-None-Match") != ""
	out := r.Clone(r.Context())
	out.URL.Scheme, out.URL.Host = p.target.Scheme, p.target.Host
	out.RequestURI = ""
	out.Host = r.Host // SigV4 signed the proxy's host
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	if conditional && (resp.StatusCode == http.StatusPreconditionFailed || resp.StatusCode == http.StatusConflict) {
		p.ignored.Add(1)
		w.Header().Set("ETag", `"0"`)
		w.WriteHeader(http.StatusOK)
		return
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// Item 10 of issue #11: Open detects an S3-compatible server that ignores
// If-None-Match (end to end, through the AWS SDK), and refuses it.
func TestOpenRefusesS3IgnoringIfNoneMatch(t *testing.T) {
	srv := testservers.StartVersityGW(t)
	srv.Setenv(t)
	target, err := url.Parse("http://" + srv.Addr)
	require.NoError(t, err)
	proxy := &ignoringProxy{target: target}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hs := &http.Server{Handler: proxy}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	bucket := srv.NewBucket(t)
	ctx := context.Background()

	direct, err := blobstore.Open(ctx, bucket, nil)
	require.NoError(t, err)
	defer direct.Close()
	r, err := registry.Open(ctx, direct, &registry.Options{SkipOpenScan: true})
	require.NoError(t, err, "the server itself honours If-None-Match")
	require.NoError(t, r.Close())

	proxied, err := blobstore.Open(ctx, strings.Replace(bucket, "http://"+srv.Addr, "http://"+ln.Addr().String(), 1), nil)
	require.NoError(t, err)
	defer proxied.Close()
	_, err = registry.Open(ctx, proxied, &registry.Options{SkipOpenScan: true})
	require.ErrorIs(t, err, storage.ErrNoConditionalCreate)
	assert.Positive(t, proxy.ignored.Load(), "the probe's second create reached the server and was answered 200")
}
