package registryhttp_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/internal/pkgtest"
	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/registry/registryhttp"
	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/validate"
)

// putFaultStore fails the Puts of a version's files while fail is set,
// and holds the next Put until its context ends while block is set: a
// double for fault injection.
type putFaultStore struct {
	storage.Store
	fail    atomic.Bool
	block   atomic.Bool
	blocked chan struct{} // receives once a Put is held
}

func (s *putFaultStore) Put(ctx context.Context, key string, r io.Reader, opts *storage.PutOptions) error {
	if s.fail.Load() && strings.HasPrefix(key, modelpkg.DirName("")) {
		return errors.New("store unreachable")
	}
	if s.block.CompareAndSwap(true, false) {
		s.blocked <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	}
	return s.Store.Put(ctx, key, r, opts)
}

// stageEnv serves a registry on a putFaultStore whose validator refuses
// every package while refuse is set.
type stageEnv struct {
	*env
	faults *putFaultStore
	refuse *atomic.Bool
}

func newStageEnv(t *testing.T) *stageEnv {
	t.Helper()
	faults := &putFaultStore{Store: memStore(), blocked: make(chan struct{}, 1)}
	refuse := new(atomic.Bool)
	reg, err := registry.Open(context.Background(), faults, &registry.Options{
		PollInterval: 20 * time.Millisecond,
		Validator: validate.All(validate.Default(nil), validate.Func(func(ctx context.Context, pkg *validate.Package, r *validate.Report) {
			if refuse.Load() {
				r.Errorf(validate.ErrScriptFailed, "", "refused by the test's policy")
			}
		})),
	})
	require.NoError(t, err)
	t.Cleanup(func() { reg.Close() })
	e := &env{t: t, store: faults, reg: reg, token: testToken, tmp: t.TempDir()}
	e.h = registryhttp.New(reg, &registryhttp.Options{Authorizer: registryhttp.BearerTokens(testToken), TempDir: e.tmp})
	e.srv = httptest.NewServer(e.h)
	t.Cleanup(func() {
		e.h.Close()
		e.srv.Close()
	})
	return &stageEnv{env: e, faults: faults, refuse: refuse}
}

// stage dry-runs data as version's package and returns its token.
func (e *stageEnv) stage(version string, data []byte) string {
	e.t.Helper()
	resp, body := e.upload("?dry_run=true", modelpkg.FileName(version), data)
	require.Equal(e.t, http.StatusOK, resp.StatusCode, "%s", body)
	tok := string(bytes.Trim(extract(e.t, body, "staged", "token"), `"`))
	require.Len(e.t, tok, 32)
	return tok
}

// staged returns how many staged packages the handler keeps, after
// checking that none has a name in its TempDir (Unix): a staged package
// is an open, unlinked spool file.
func (e *stageEnv) staged() int {
	e.t.Helper()
	if runtime.GOOS != "windows" {
		assert.Empty(e.t, dirEntries(e.t, e.env), "spool files have no name")
	}
	return registryhttp.StagedCount(e.h)
}

func TestStagedTokenSurvivesRetryableFailures(t *testing.T) {
	t.Run("store fault", func(t *testing.T) {
		e := newStageEnv(t)
		tok := e.stage("1.0", validZip(t, "1.0"))
		e.faults.fail.Store(true)
		resp, body := e.call("POST", "/staged/"+tok)
		require.Equal(t, http.StatusInternalServerError, resp.StatusCode, "%s", body)
		assert.Equal(t, 1, e.staged(), "the staged package is kept")

		e.faults.fail.Store(false)
		resp, body = e.call("POST", "/staged/"+tok)
		require.Equal(t, http.StatusCreated, resp.StatusCode, "the same token imports once the store is back: %s", body)
		assert.Zero(t, e.staged())
		resp, _ = e.call("POST", "/staged/"+tok)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, "and is used up then")
	})
	t.Run("conflict", func(t *testing.T) {
		e := newStageEnv(t)
		tok := e.stage("1.0", validZip(t, "1.0"))
		// Another package takes the version meanwhile.
		other := pkgFiles("1.0", "")
		other["README.md"].Data = []byte("another package of the same version\n")
		_, err := e.reg.Import(context.Background(), modelpkg.FileName("1.0"), bytes.NewReader(pkgtest.Zip(t, other)), nil)
		require.NoError(t, err)
		resp, body := e.call("POST", "/staged/"+tok)
		require.Equal(t, http.StatusConflict, resp.StatusCode, "%s", body)
		assert.Equal(t, "version_exists", errorOf(t, body).Error.Code)
		assert.Equal(t, 1, e.staged())

		_, err = e.reg.Delete(context.Background(), "1.0", nil)
		require.NoError(t, err)
		resp, body = e.call("POST", "/staged/"+tok)
		require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
		assert.Zero(t, e.staged())
	})
	t.Run("cancelled request", func(t *testing.T) {
		e := newStageEnv(t)
		tok := e.stage("1.0", validZip(t, "1.0"))
		e.faults.block.Store(true)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, "POST", e.srv.URL+"/staged/"+tok, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+testToken)
		errc := make(chan error, 1)
		go func() {
			resp, err := e.srv.Client().Do(req)
			if err == nil {
				resp.Body.Close()
			}
			errc <- err
		}()
		select {
		case <-e.faults.blocked:
		case <-time.After(safety):
			t.Fatal("the import never reached the store")
		}
		// While the first confirmation imports, a second one waits its
		// turn instead of importing the same file again.
		resp, body := e.call("POST", "/staged/"+tok)
		require.Equal(t, http.StatusConflict, resp.StatusCode, "%s", body)
		assert.Equal(t, "token_in_use", errorOf(t, body).Error.Code)

		cancel() // the client goes away mid-import
		require.ErrorIs(t, <-errc, context.Canceled)
		// Once the handler has seen the cancellation, the token imports.
		deadline := time.Now().Add(safety)
		for {
			resp, body = e.call("POST", "/staged/"+tok)
			if resp.StatusCode != http.StatusConflict || time.Now().After(deadline) {
				break
			}
			require.Equal(t, "token_in_use", errorOf(t, body).Error.Code)
			time.Sleep(5 * time.Millisecond)
		}
		require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
		assert.Zero(t, e.staged())
	})
}

func TestStagedTokenDocumented(t *testing.T) {
	e := newEnv(t, nil)
	resp, body := e.call("GET", "/openapi.json")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	desc := string(extract(t, body, "paths", "/staged/{token}", "post", "description"))
	assert.Contains(t, desc, "token_in_use")
	assert.Contains(t, desc, "stays valid")
	assert.Contains(t, string(extract(t, body, "components", "responses", "Conflict", "description")), "token_in_use")
}

func TestStagedTokenUsedUpByRefusal(t *testing.T) {
	e := newStageEnv(t)
	tok := e.stage("1.0", validZip(t, "1.0"))
	e.refuse.Store(true) // the policy changed between the dry run and the confirmation
	resp, body := e.call("POST", "/staged/"+tok)
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "%s", body)
	assert.Equal(t, "validation_failed", errorOf(t, body).Error.Code)
	assert.Zero(t, e.staged(), "a refused package is not kept")

	e.refuse.Store(false)
	resp, body = e.call("POST", "/staged/"+tok)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "%s", body)
	assert.Equal(t, "unknown_token", errorOf(t, body).Error.Code)
	_, err := e.reg.Get("1.0")
	assert.ErrorIs(t, err, registry.ErrNotFound)
}
