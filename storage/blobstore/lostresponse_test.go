package blobstore_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/internal/testservers"
	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/storage/blobstore"
)

// lossyProxy lets the server commit the first conditional PUT of each
// key, then drops the response by closing the client's connection: the
// AWS SDK retries the PUT and gets 412 for the caller's own object
// (scenario 1 of issue #11, end to end).
type lossyProxy struct {
	mu     sync.Mutex
	lost   map[string]bool
	drops  int
	refuse int // conditional PUTs answered 412
}

func (p *lossyProxy) intercept(w http.ResponseWriter, r *http.Request, resp *http.Response) bool {
	conditional := r.Method == http.MethodPut && r.Header.Get("If-None-Match") != ""
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
	}
	return drop
}

func TestOwnWriteAfterLostResponseS3(t *testing.T) {
	srv := testservers.StartVersityGW(t)
	srv.Setenv(t)
	proxy := &lossyProxy{lost: map[string]bool{}}
	bucketURL := srv.StartProxy(t, proxy.intercept).URL(srv.NewBucket(t))
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
