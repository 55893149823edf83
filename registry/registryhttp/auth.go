package registryhttp

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"

	"github.com/modelvault/modelvault/modelpkg"
)

// Authorization errors. An [Authorizer] returns one of them (possibly
// wrapped); any other error is treated like [ErrUnauthenticated].
var (
	// ErrUnauthenticated: the request carries no credentials, or wrong
	// ones. The handler answers 401 with a WWW-Authenticate challenge.
	ErrUnauthenticated = modelpkg.NewError("unauthenticated", "registryhttp: missing or invalid credentials")
	// ErrForbidden: the credentials are valid but do not allow this
	// request. The handler answers 403.
	ErrForbidden = modelpkg.NewError("forbidden", "registryhttp: not allowed")
)

// Authorizer decides whether a request may proceed. It returns the actor
// recorded in the registry's history for the request's changes (e.g.
// "token:1a2b3c4d"), or an error: one matching [ErrUnauthenticated] (401)
// or [ErrForbidden] (403). r.Method tells reads (GET) from changes.
// Authorize must be safe for concurrent use and must not read the body.
type Authorizer interface {
	Authorize(r *http.Request) (actor string, err error)
}

// AuthorizerFunc adapts a function to [Authorizer].
type AuthorizerFunc func(r *http.Request) (actor string, err error)

// Authorize calls f(r).
func (f AuthorizerFunc) Authorize(r *http.Request) (string, error) { return f(r) }

// BearerTokens returns an [Authorizer] that accepts requests carrying
// "Authorization: Bearer T" for any of tokens. Tokens are compared in
// constant time (through their SHA-256 digests, so neither content nor
// length leaks through timing); empty tokens are ignored, so with none the
// authorizer refuses everything. The actor it reports is "token:" and the
// first 8 hex digits of the token's SHA-256, which identifies the token in
// history without revealing it.
func BearerTokens(tokens ...string) Authorizer {
	var digests [][sha256.Size]byte
	for _, t := range tokens {
		if t != "" {
			digests = append(digests, sha256.Sum256([]byte(t)))
		}
	}
	return AuthorizerFunc(func(r *http.Request) (string, error) {
		h := r.Header.Get("Authorization")
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
			return "", ErrUnauthenticated
		}
		got := sha256.Sum256([]byte(strings.TrimSpace(tok)))
		match := 0
		for i := range digests {
			match |= subtle.ConstantTimeCompare(got[:], digests[i][:])
		}
		if match != 1 {
			return "", ErrUnauthenticated
		}
		return TokenActor(strings.TrimSpace(tok)), nil
	})
}

// TokenActor is the actor [BearerTokens] records for token: "token:" and
// the first 8 hex digits of its SHA-256.
func TokenActor(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "token:" + hex.EncodeToString(sum[:4])
}

// actorHeader lets a client name the person behind a token; it is
// recorded next to the authenticated actor, never instead of it.
const actorHeader = "X-Modelvault-Actor"

// actorFor combines the authorizer's actor with the client's
// X-Modelvault-Actor header, if any. Without an authenticated actor
// (AllowUnauthenticated) the claim is recorded as "NAME (unauthenticated)",
// so it never passes for an authenticated one. A claimed actor that is too
// long or holds control characters is refused (400), never stored.
func actorFor(r *http.Request, authActor string) (string, error) {
	claimed := strings.TrimSpace(r.Header.Get(actorHeader))
	if err := validText(actorHeader, claimed, maxActor); err != nil {
		return "", err
	}
	switch {
	case claimed == "":
		return authActor, nil
	case authActor == "":
		return claimed + " (unauthenticated)", nil
	}
	return claimed + " (" + authActor + ")", nil
}

// maxActor bounds the X-Modelvault-Actor header, in bytes.
const maxActor = 128

// errNoAuthorizer is returned for requests that need authorisation when
// no authorizer is configured and AllowUnauthenticated is not set.
var errNoAuthorizer = modelpkg.NewError("no_authorizer",
	"registryhttp: no authorizer is configured, so requests that need authorisation are refused (set Options.Authorizer, or Options.AllowUnauthenticated to opt out)")

// authorize runs the configured authorizer and returns the actor.
func (h *Handler) authorize(r *http.Request) (string, error) {
	if h.opts.Authorizer != nil {
		actor, err := h.opts.Authorizer.Authorize(r)
		if err != nil {
			if !errors.Is(err, ErrForbidden) && !errors.Is(err, ErrUnauthenticated) {
				h.log.Warn("registryhttp: authorizer error", "err", err)
				err = ErrUnauthenticated
			}
			return "", err
		}
		return actor, nil
	}
	if h.opts.AllowUnauthenticated {
		return "", nil
	}
	return "", errNoAuthorizer
}
