package registryhttp_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/registry/registryhttp"
)

// pipeListener hands a server the far ends of in-memory pipes: a
// connection without any buffer, so a client that stops reading blocks
// the server's next write at once (the extreme of a tiny receive window).
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

// dial connects a new pipe to the server.
func (l *pipeListener) dial(t *testing.T) net.Conn {
	t.Helper()
	client, server := net.Pipe()
	select {
	case l.conns <- server:
	case <-time.After(safety):
		t.Fatal("the server does not accept")
	}
	t.Cleanup(func() { client.Close() })
	return client
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// streamEvents opens GET /events over TCP and forwards its events (read
// by a goroutine, so it never stalls) until the stream ends.
func streamEvents(t *testing.T, e *env) <-chan sseEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), safety)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/events", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+e.token)
	resp, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	out := make(chan sseEvent, 64)
	go func() {
		defer close(out)
		defer resp.Body.Close()
		br := bufio.NewReader(resp.Body)
		var ev sseEvent
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\n")
			switch {
			case line == "" && ev.typ != "":
				out <- ev
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.typ = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			}
		}
	}()
	return out
}

// nextEvent returns the next event of typ from events, skipping others.
func nextEvent(t *testing.T, events <-chan sseEvent, typ string) sseEvent {
	t.Helper()
	timeout := time.After(safety)
	for {
		select {
		case ev, ok := <-events:
			require.True(t, ok, "the stream ended before a %s event", typ)
			if ev.typ == typ {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s event", typ)
		}
	}
}

// TestEventsClientThatNeverReads: a GET /events client that stops reading
// is dropped by the write deadline; its stream slot is freed; a client
// that reads, and the registry's poller feeding it, are unaffected.
func TestEventsClientThatNeverReads(t *testing.T) {
	e := newEnv(t, &registryhttp.Options{
		Authorizer:      registryhttp.BearerTokens(testToken),
		MaxEventStreams: 2,
		WriteTimeout:    500 * time.Millisecond,
		Heartbeat:       time.Hour, // only events write
	})
	e.mustImport("1.0")
	pl := newPipeListener()
	srv := &http.Server{Handler: e.h, ReadHeaderTimeout: safety}
	go func() { _ = srv.Serve(pl) }()
	t.Cleanup(func() { srv.Close() })

	reader := streamEvents(t, e)

	// The stalled client reads the answer's head and the stream's opening
	// comment, then never reads again.
	stalled := pl.dial(t)
	require.NoError(t, stalled.SetDeadline(time.Now().Add(safety)))
	_, err := io.WriteString(stalled, "GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "+testToken+"\r\n\r\n")
	require.NoError(t, err)
	sbr := bufio.NewReader(stalled)
	resp, err := http.ReadResponse(sbr, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	opening, err := bufio.NewReader(resp.Body).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, ": modelvault events\n", opening)

	// Both slots are taken.
	busy, body := e.call("GET", "/events")
	require.Equal(t, http.StatusServiceUnavailable, busy.StatusCode, "%s", body)

	// An event: the write to the stalled client blocks until its
	// deadline ends that stream. Meanwhile the reader gets it, and the
	// poller still feeds the reader: a change made by another registry
	// on the same store reaches it too.
	_, err = e.reg.Deploy(context.Background(), "1.0", nil)
	require.NoError(t, err)
	other := openReg(t, e.store)
	_, err = other.Import(context.Background(), modelpkg.FileName("2.0"), bytes.NewReader(validZip(t, "2.0")), nil)
	require.NoError(t, err)
	assert.Equal(t, "deployed", nextEvent(t, reader, "deployed").typ)
	assert.Contains(t, nextEvent(t, reader, "imported").data, `"2.0"`)

	// The write deadline ends the stalled stream and frees its slot: a
	// new stream opens. (The stalled client has read nothing meanwhile;
	// reading would have let the write through.)
	deadline := time.Now().Add(safety)
	for eventsStatus(t, e) == http.StatusServiceUnavailable {
		require.True(t, time.Now().Before(deadline), "the stalled stream's slot is never freed")
		time.Sleep(5 * time.Millisecond)
	}

	// And the server closes the stalled connection: what it had
	// buffered, then EOF.
	_, err = io.Copy(io.Discard, sbr)
	require.NoError(t, err, "the server closes the stalled connection")

	// And the reader still follows.
	_, err = e.reg.Deploy(context.Background(), "2.0", nil)
	require.NoError(t, err)
	assert.Contains(t, nextEvent(t, reader, "deployed").data, `"2.0"`)
}

// eventsStatus opens GET /events, closes it at once and returns the
// status it was answered with.
func eventsStatus(t *testing.T, e *env) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), safety)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/events", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+e.token)
	resp, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}
