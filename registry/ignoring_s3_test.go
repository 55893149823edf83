package registry_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/internal/testservers"
	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/storage/blobstore"
)

// ignoringProxy answers every conditional PUT that the server refused
// (412, or 409) with 200, as an S3-compatible server that does not
// implement If-None-Match does.
type ignoringProxy struct {
	ignored atomic.Int32
}

func (p *ignoringProxy) intercept(w http.ResponseWriter, r *http.Request, resp *http.Response) bool {
	conditional := r.Method == http.MethodPut && r.Header.Get("If-None-Match") != ""
	if conditional && (resp.StatusCode == http.StatusPreconditionFailed || resp.StatusCode == http.StatusConflict) {
		p.ignored.Add(1)
		w.Header().Set("ETag", `"0"`)
		w.WriteHeader(http.StatusOK)
		return true
	}
	return false
}

// Item 10 of issue #11: Open detects an S3-compatible server that ignores
// If-None-Match (end to end, through the AWS SDK), and refuses it.
func TestOpenRefusesS3IgnoringIfNoneMatch(t *testing.T) {
	srv := testservers.StartVersityGW(t)
	srv.Setenv(t)
	proxy := &ignoringProxy{}
	px := srv.StartProxy(t, proxy.intercept)
	bucket := srv.NewBucket(t)
	ctx := context.Background()

	direct, err := blobstore.Open(ctx, bucket, nil)
	require.NoError(t, err)
	defer direct.Close()
	r, err := registry.Open(ctx, direct, &registry.Options{SkipOpenScan: true})
	require.NoError(t, err, "the server itself honours If-None-Match")
	require.NoError(t, r.Close())

	proxied, err := blobstore.Open(ctx, px.URL(bucket), nil)
	require.NoError(t, err)
	defer proxied.Close()
	_, err = registry.Open(ctx, proxied, &registry.Options{SkipOpenScan: true})
	require.ErrorIs(t, err, storage.ErrNoConditionalCreate)
	assert.Positive(t, proxy.ignored.Load(), "the probe's second create reached the server and was answered 200")
}
