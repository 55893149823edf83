package blobstore_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/internal/testservers"
	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/storage/blobstore"
)

// lossyProxy forwards to an S3 server and, for the first conditional PUT
// of each key, lets the server commit, then drops the response by
// closing the client's connection: the AWS SDK retries the PUT and gets
// 412 for the caller's own object (scenario 1 of issue #11, end to end).
type lossyProxy struct {
	target *url.URL
	mu     sync.Mutex
	lost   map[string]bool
	drops  int
	refuse int // conditional PUTs answered 412
}

func (p *lossyProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
	p.mu.Lock()
	drop := conditional && resp.StatusCode == http.StatusOK && !p.lost[r.URL.Path]
	if drop {
		p.lost[r.URL.Path] = true
		p.drops++
	}
	if conditional && resp.StatusCode == http.StatusPreconditionFailed {
		p.refuse++
	}
	p.mu.Unlock()
	if drop {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close() // committed; the answer is lost
		}
		return
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

func TestOwnWriteAfterLostResponseS3(t *testing.T) {
	srv := testservers.StartVersityGW(t)
	srv.Setenv(t)
	target, err := url.Parse("http://" + srv.Addr)
	require.NoError(t, err)
	proxy := &lossyProxy{target: target, lost: map[string]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hs := &http.Server{Handler: proxy}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })

	bucketURL := strings.Replace(srv.NewBucket(t), "http://"+srv.Addr, "http://"+ln.Addr().String(), 1)
	s, err := blobstore.Open(t.Context(), bucketURL, nil)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()

	const n = 5
	for i := range n {
		key := fmt.Sprintf("_registry/log/%08d", i)
		data := []byte(fmt.Sprintf(`{"seq":%d,"id":"e-%d"}`, i, i))
		require.NoError(t, storage.WriteAll(ctx, s, key, data, &storage.PutOptions{IfNotExist: true}),
			"own write answered 412 after a lost response is a success")
		got, err := storage.ReadAll(ctx, s, key)
		require.NoError(t, err)
		require.Equal(t, data, got)
	}
	proxy.mu.Lock()
	drops, refuse := proxy.drops, proxy.refuse
	proxy.mu.Unlock()
	require.Equal(t, n, drops, "every first response was lost")
	require.GreaterOrEqual(t, refuse, n, "the SDK retried and was refused for its own object")

	// Another writer's object is still a lost race.
	err = storage.WriteAll(ctx, s, "_registry/log/00000000", []byte(`{"seq":0,"id":"other"}`), &storage.PutOptions{IfNotExist: true})
	require.ErrorIs(t, err, storage.ErrExist)
}
