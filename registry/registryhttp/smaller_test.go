package registryhttp_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/registry/registryhttp"
	"github.com/modelvault/modelvault/storage"
)

// The HTTP side of item 10 of issue #11 ("smaller" findings). The
// registry side is in registry/smaller_test.go.

func TestMissingFileAtDeployIs422(t *testing.T) {
	e := newEnv(t, nil)
	e.mustImport("1.0")
	require.NoError(t, e.store.Delete(context.Background(), "model_1.0/"+modelpkg.DefaultModelFile))
	resp, body := e.call("POST", "/models/1.0/deploy")
	require.Equal(t, 422, resp.StatusCode, "a stored file missing at deploy is a finding, not a server fault: %s", body)
	assert.Contains(t, []string{"missing_file", "hash_mismatch"}, errorOf(t, body).Error.Code, "%s", body)
}

// failFileDeletes fails every Delete of a package file: the version's
// deletion commits (its event is appended) and then its files cannot be
// removed.
type failFileDeletes struct{ storage.Store }

func (s failFileDeletes) Delete(ctx context.Context, key string) error {
	if strings.HasPrefix(key, "model_") {
		return errors.New("injected delete failure")
	}
	return s.Store.Delete(ctx, key)
}

func TestDeleteAfterItsCommitIsNot500(t *testing.T) {
	store := failFileDeletes{memStore()}
	reg := openReg(t, store)
	h := registryhttp.New(reg, &registryhttp.Options{Authorizer: registryhttp.BearerTokens(testToken), TempDir: t.TempDir()})
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		h.Close()
		srv.Close()
	})
	e := &env{t: t, store: store, reg: reg, h: h, srv: srv, token: testToken}
	e.mustImport("1.0")
	resp, body := e.call("DELETE", "/models/1.0")
	require.Equal(t, 200, resp.StatusCode, "the deletion is recorded; its leftover files are Repair's: %s", body)
	resp, body = e.call("GET", "/models/1.0")
	assert.Equal(t, 404, resp.StatusCode, "%s", body)
	resp, body = e.call("DELETE", "/models/1.0")
	assert.Equal(t, 404, resp.StatusCode, "deleted once: %s", body)
}

func TestActorHeaderWithoutAuthentication(t *testing.T) {
	e := newEnv(t, &registryhttp.Options{AllowUnauthenticated: true})
	e.mustImport("1.0")
	resp, body := e.do("POST", "/models/1.0/deploy", nil, map[string]string{"X-Modelvault-Actor": "alice"})
	require.Equal(t, 200, resp.StatusCode, "%s", body)
	actor := decode[eventResp](t, body).Event.Actor
	assert.Contains(t, actor, "alice", "the claimed name is kept")
	assert.NotEqual(t, "alice", actor, "an unauthenticated claim does not pass for an authenticated actor")
	assert.Equal(t, "alice (unauthenticated)", actor)

	resp, body = e.do("POST", "/models/1.0/deploy", nil, nil)
	require.Equal(t, 200, resp.StatusCode, "%s", body)
}
