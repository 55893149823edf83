package registryhttp

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/modelvault/modelvault/modelpkg"
)

// Defaults for the limits in [Options].
const (
	// DefaultMaxUploads is how many uploads may be spooled at once.
	DefaultMaxUploads = 4
	// DefaultMinUploadRate is the slowest an upload may arrive, in bytes
	// per second, averaged from its start (after DefaultUploadGrace).
	DefaultMinUploadRate = 64 << 10
	// DefaultUploadGrace is the time an upload gets before the minimum
	// rate applies.
	DefaultUploadGrace = 10 * time.Second
	// DefaultMaxEventStreams is how many GET /events streams may be open
	// at once.
	DefaultMaxEventStreams = 64
	// DefaultMaxResume is how many events a GET /events client may ask to
	// replay with Last-Event-ID; one further behind gets a "reset" event
	// and should reload.
	DefaultMaxResume = 1000
	// DefaultWriteTimeout bounds every write of a GET /events stream: a
	// client that does not read for this long is disconnected.
	DefaultWriteTimeout = 10 * time.Second
	// maxFreeText bounds a reason or an actor, in bytes.
	maxFreeText = 1024
	// maxModelName bounds a ?model= parameter, in bytes.
	maxModelName = 128
)

// Errors of the limits.
var (
	errBusy = modelpkg.NewError("busy", "registryhttp: too many uploads or streams in progress; retry later")
	errSlow = modelpkg.NewError("too_slow", "registryhttp: the upload arrived too slowly")
	errHost = modelpkg.NewError("misdirected_host", "registryhttp: the Host header names a host this server does not serve")
)

// retryAfter is the Retry-After value, in seconds, of a busy answer.
const retryAfter = "5"

// spoolGate bounds the uploads in progress and the bytes they (and the
// staged packages) may hold on disk.
type spoolGate struct {
	mu         sync.Mutex
	uploads    int
	maxUploads int
	bytes      int64
	maxBytes   int64
}

// acquire reserves one upload of at most n bytes; ok is false when the
// gate is full.
func (g *spoolGate) acquire(n int64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.uploads >= g.maxUploads || g.bytes+n > g.maxBytes {
		return false
	}
	g.uploads++
	g.bytes += n
	return true
}

// releaseUpload ends an upload, keeping keep of its n reserved bytes
// (a staged package) and returning the rest.
func (g *spoolGate) releaseUpload(n, keep int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.uploads--
	g.bytes -= n - keep
}

// releaseBytes returns n bytes a staged package held.
func (g *spoolGate) releaseBytes(n int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.bytes -= n
}

// rateReader reads a request body with a moving read deadline: the whole
// body must arrive at minRate bytes per second on average, after grace.
// A client trickling its upload is cut off when the deadline passes.
type rateReader struct {
	r       io.Reader
	rc      *http.ResponseController
	start   time.Time
	grace   time.Duration
	minRate int64
	n       int64
	expired bool
}

func (rr *rateReader) deadline() time.Time {
	return rr.start.Add(rr.grace + time.Duration(float64(rr.n)/float64(rr.minRate)*float64(time.Second)))
}

func (rr *rateReader) Read(p []byte) (int, error) {
	d := rr.deadline()
	if time.Now().After(d) {
		rr.expired = true
		return 0, errSlow
	}
	_ = rr.rc.SetReadDeadline(d) // not supported by every ResponseWriter
	n, err := rr.r.Read(p)
	rr.n += int64(n)
	if err != nil && isTimeout(err) {
		rr.expired = true
		return n, errSlow
	}
	return n, err
}

// isTimeout reports whether err is a network timeout.
func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	if ok && ne.Timeout() {
		return true
	}
	return strings.Contains(err.Error(), "i/o timeout")
}

// checkHost refuses requests whose Host is not one of Options.AllowedHosts
// (when the host lists some): a page served by a rebinding DNS name
// cannot reach the API even when its Origin matches its Host.
func (h *Handler) checkHost(r *http.Request) error {
	if len(h.hosts) == 0 {
		return nil
	}
	host := strings.ToLower(r.Host)
	if _, ok := h.hosts[host]; ok {
		return nil
	}
	if name, _, err := net.SplitHostPort(host); err == nil {
		if _, ok := h.hosts[name]; ok {
			return nil
		}
	}
	return errHost
}

// validText checks a free-text parameter (a reason, an actor, a model
// name): at most max bytes of valid UTF-8 without control characters.
func validText(field, s string, max int) error {
	if len(s) > max {
		return badRequest(field + " is longer than " + strconv.Itoa(max) + " bytes")
	}
	if !utf8.ValidString(s) {
		return badRequest(field + " is not valid UTF-8")
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == '\u2028' || c == '\u2029' || (c >= '\u202a' && c <= '\u202e') || (c >= '\u2066' && c <= '\u2069') {
			return badRequest(field + " contains a control character")
		}
	}
	return nil
}

// badRequest is a 400 with msg.
func badRequest(msg string) error { return fmt.Errorf("%w: %s", errBadRequest, msg) }
