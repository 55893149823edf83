package registryhttp

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/modelvault/modelvault/internal/spoolfile"
	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/registry"
)

// Defaults for staged uploads.
const (
	// DefaultStageTTL is how long a dry run's staged package waits for
	// its confirmation.
	DefaultStageTTL = 15 * time.Minute
	// DefaultMaxStaged is how many staged packages a handler keeps; a
	// new one beyond it replaces the oldest.
	DefaultMaxStaged = 8
)

// Errors of staged uploads.
var (
	errUnknownToken = modelpkg.NewError("unknown_token",
		"registryhttp: no staged upload has this token (it was used, replaced, or never issued); upload the package again")
	errTokenExpired = modelpkg.NewError("token_expired",
		"registryhttp: the staged upload expired; upload the package again")
	errTokenInUse = modelpkg.NewError("token_in_use",
		"registryhttp: the staged upload is being imported by another request; retry to learn its outcome")
)

// File name patterns in TempDir. Staged packages are open spools now;
// stagedPattern names the files earlier releases renamed them to, which
// removeLeftovers still sweeps.
const (
	spoolPattern  = "modelvault-upload-*.zip"
	stagedPattern = "modelvault-staged-*.zip"
)

// staged is a dry run's verified package kept for its confirmation: its
// spool, still open.
type staged struct {
	spool    *spoolfile.File
	name     string
	size     int64
	actor    string
	validate bool
	expires  time.Time
	timer    *time.Timer
	busy     bool // a confirmation is importing it
	dropped  bool // removed by closeAll while busy: done closes the spool
}

// stager keeps staged packages, bounded in number and age.
type stager struct {
	mu      sync.Mutex
	entries map[string]*staged
	expired map[string]time.Time // tokens that expired, until twice their TTL
	ttl     time.Duration
	max     int
	gate    *spoolGate
}

func newToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// validToken reports whether s looks like a token newToken made.
func validToken(s string) bool {
	if len(s) != 32 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

// add keeps s under a new token. The caller has reserved s.size bytes in
// the gate; they are returned when the entry goes.
func (st *stager) add(s *staged) string {
	tok := newToken()
	st.mu.Lock()
	defer st.mu.Unlock()
	st.sweepLocked()
	for len(st.entries) >= st.max {
		var oldest string
		for t, e := range st.entries {
			if !e.busy && (oldest == "" || e.expires.Before(st.entries[oldest].expires)) {
				oldest = t
			}
		}
		if oldest == "" {
			break // all are being imported; they go when that ends
		}
		st.dropLocked(oldest, false)
	}
	s.expires = time.Now().Add(st.ttl)
	s.timer = time.AfterFunc(st.ttl, func() {
		st.mu.Lock()
		defer st.mu.Unlock()
		st.sweepLocked()
	})
	st.entries[tok] = s
	return tok
}

// take returns the entry of tok for actor and marks it busy: it stays
// staged (neither expired nor replaced) until [stager.done] says whether
// the import consumed it. A second take meanwhile is errTokenInUse.
func (st *stager) take(tok, actor string) (*staged, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.sweepLocked()
	s, ok := st.entries[tok]
	if !ok {
		if _, gone := st.expired[tok]; gone {
			return nil, errTokenExpired
		}
		return nil, errUnknownToken
	}
	if s.actor != actor {
		return nil, errUnknownToken
	}
	if s.busy {
		return nil, errTokenInUse
	}
	s.busy = true
	return s, nil
}

// done ends the import of tok's entry that take started. A consumed
// entry (the import committed, or refused the package for good) goes with
// its file and gate bytes; any other stays staged under the same token
// until it expires, so that the client can confirm again without a new
// upload. An entry that expired or was closed meanwhile goes now.
func (st *stager) done(tok string, s *staged, consumed bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	s.busy = false
	if s.dropped {
		// Removed by closeAll meanwhile: its file and bytes go now.
		s.spool.Close()
		st.gate.releaseBytes(s.size)
		return
	}
	switch {
	case consumed:
		st.dropLocked(tok, false)
	case !time.Now().Before(s.expires):
		st.dropLocked(tok, true)
	}
}

// sweepLocked drops expired entries and old tombstones. An entry being
// imported stays until the import ends ([stager.done]).
func (st *stager) sweepLocked() {
	now := time.Now()
	for tok, s := range st.entries {
		if !s.busy && !now.Before(s.expires) {
			st.dropLocked(tok, true)
		}
	}
	for tok, at := range st.expired {
		if now.Sub(at) > max(st.ttl, time.Hour) {
			delete(st.expired, tok)
		}
	}
}

// dropLocked removes tok's entry, closes its spool and returns its bytes
// to the gate (or leaves both to done, if a confirmation is reading it:
// the bytes stay counted while the file holds them), remembering it as
// expired.
func (st *stager) dropLocked(tok string, expired bool) {
	s := st.entries[tok]
	delete(st.entries, tok)
	s.timer.Stop()
	if s.busy {
		s.dropped = true
	} else {
		s.spool.Close()
		st.gate.releaseBytes(s.size)
	}
	if expired && len(st.expired) < 4*st.max {
		st.expired[tok] = time.Now()
	}
}

// closeAll removes every staged package.
func (st *stager) closeAll() {
	st.mu.Lock()
	defer st.mu.Unlock()
	for tok := range st.entries {
		st.dropLocked(tok, false)
	}
}

// removeLeftovers removes spool and staged files older than the TTL that
// a previous process left in dir (it cannot have confirmed them): named
// spools where an open file cannot be unlinked (Windows), and the files
// of earlier releases.
func removeLeftovers(dir string, ttl time.Duration) {
	if dir == "" {
		dir = os.TempDir()
	}
	for _, pat := range []string{spoolPattern, stagedPattern} {
		names, _ := filepath.Glob(filepath.Join(dir, pat))
		for _, n := range names {
			if fi, err := os.Lstat(n); err == nil && fi.Mode().IsRegular() && time.Since(fi.ModTime()) > ttl {
				os.Remove(n)
			}
		}
	}
}

// stagedJSON tells a dry run's client how to confirm it.
type stagedJSON struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// serveCommit imports the package a dry run staged under {token}.
func (h *Handler) serveCommit(rw http.ResponseWriter, r *http.Request, actor string) {
	w := h.observe(rw)
	defer w.done()
	tok := r.PathValue("token")
	if !validToken(tok) {
		h.writeError(w, r, errUnknownToken)
		return
	}
	s, err := h.stage.take(tok, actor)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	opts := &registry.ImportOptions{
		Caller:         caller(r, actor),
		SkipValidation: !s.validate,
		TempDir:        h.opts.TempDir,
	}
	err = h.importSpooled(w, r, s.spool.File, s.name, s.size, opts)
	h.stage.done(tok, s, consumes(err))
}

// consumes reports whether an import's outcome uses up its staged
// package: it committed (err is nil), or the package itself was refused,
// which a retry cannot change. A conflict, a store fault, a closed
// registry or a cancelled request leave the token valid for a retry.
func consumes(err error) bool {
	return err == nil || statusOf(err) == http.StatusUnprocessableEntity
}
