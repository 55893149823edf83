package testservers

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// Intercept sees each of a proxy's requests with the server's response
// before it is relayed, and returns true when it has answered (or
// dropped) the request itself; the response body is closed afterwards.
type Intercept func(w http.ResponseWriter, r *http.Request, resp *http.Response) bool

// Proxy is a reverse proxy in front of a Server, on 127.0.0.1, that can
// rewrite or drop the server's answers: a lost response, a server that
// ignores a header. The Host header is passed on unchanged, since S3
// clients sign it.
type Proxy struct {
	// Addr is the proxy's host:port.
	Addr string
	srv  *Server
}

// StartProxy starts a proxy to s, stopped when the test ends.
func (s *Server) StartProxy(t testing.TB, intercept Intercept) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := r.Clone(r.Context())
		out.URL.Scheme, out.URL.Host = "http", s.Addr
		out.RequestURI = ""
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		if intercept != nil && intercept(w, r, resp) {
			return
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	})}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return &Proxy{Addr: ln.Addr().String(), srv: s}
}

// URL returns a bucket URL of the server (see Server.NewBucket) that
// goes through the proxy.
func (p *Proxy) URL(bucketURL string) string {
	return strings.Replace(bucketURL, "http://"+p.srv.Addr, "http://"+p.Addr, 1)
}
