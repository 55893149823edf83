package registryhttp_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/registry/registryhttp"
)

// chromiumPath finds Chromium: $MODELVAULT_CHROMIUM, /usr/bin/chromium,
// or chromium on PATH. Without one the test is skipped, unless
// MODELVAULT_REQUIRE_BROWSER=1 (as in CI), when it fails.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("MODELVAULT_CHROMIUM"); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	const msg = "Chromium not found: install it with 'apt-get install chromium' or set MODELVAULT_CHROMIUM"
	if os.Getenv("MODELVAULT_REQUIRE_BROWSER") == "1" {
		t.Fatal(msg + " (MODELVAULT_REQUIRE_BROWSER=1)")
	}
	t.Skip(msg)
	return ""
}

// browser starts a headless Chromium with a fresh profile and returns a
// tab's context, bounded by timeout.
func browser(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	tab, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelTab)
	require.NoError(t, chromedp.Do(tab), "start Chromium")
	return tab
}

// artifacts is where screenshots go: $MODELVAULT_ARTIFACTS or a temp dir.
func artifacts(t *testing.T) string {
	if dir := os.Getenv("MODELVAULT_ARTIFACTS"); dir != "" {
		dir = filepath.Join(dir, t.Name())
		require.NoError(t, os.MkdirAll(dir, 0o755))
		return dir
	}
	return t.TempDir()
}

// page drives the UI in one tab, failing the test on any error.
type page struct {
	t    *testing.T
	ctx  context.Context
	dir  string
	shot *int // screenshots taken, shared by subtests
}

// on returns the page driven by (sub)test t.
func (p *page) on(t *testing.T) *page {
	c := *p
	c.t = t
	return &c
}

func (p *page) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.screenshot("failed-" + strings.ReplaceAll(what, " ", "-"))
		p.t.Fatalf("%s: %v", what, err)
	}
}

// wait waits until the JavaScript expression is truthy.
func (p *page) wait(what, expr string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(25*time.Millisecond))); err != nil {
		p.screenshot("failed-" + strings.ReplaceAll(what, " ", "-"))
		text, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.getElementById('toast').innerText`))
		p.t.Fatalf("waiting for %s (%s): %v; toast: %q", what, expr, err, text)
	}
}

// text returns the text of the element sel, read in one step in the page
// (the UI may re-render between a lookup and a read).
func (p *page) text(sel string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[*string](fmt.Sprintf("document.querySelector(%q)?.textContent ?? null", sel)))
	require.NoError(p.t, err, sel)
	require.NotNil(p.t, s, "no element %s", sel)
	return *s
}

// click clicks the element sel with the mouse, retrying when the UI
// replaced it between lookup and click.
func (p *page) click(what, sel string) {
	p.t.Helper()
	var err error
	for range 3 {
		ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
		err = chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel)))
		cancel()
		if err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.screenshot("failed-" + strings.ReplaceAll(what, " ", "-"))
	p.t.Fatalf("%s: %v", what, err)
}

func (p *page) screenshot(name string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
		return
	}
	*p.shot++
	path := filepath.Join(p.dir, fmt.Sprintf("%02d-%s.png", *p.shot, name))
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
		return
	}
	p.t.Logf("screenshot: %s", path)
}

// pick sets the file input to path (which fires its change event).
func (p *page) pick(path string) {
	p.t.Helper()
	p.do("pick "+filepath.Base(path), chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{path}))
}

// row is the selector of a version's row, optionally in a status.
func row(version, status string) string {
	s := fmt.Sprintf(`#versions-body tr[data-version=%q]`, version)
	if status != "" {
		s += fmt.Sprintf(`[data-status=%q]`, status)
	}
	return s
}

func exists(sel string) string {
	return fmt.Sprintf("document.querySelector(%q) !== null", sel)
}

func visible(sel string) string {
	return fmt.Sprintf("(() => { const e = document.querySelector(%q); return !!e && !e.closest('[hidden]') && e.getClientRects().length > 0; })()", sel)
}

// TestBrowser drives the web UI in headless Chromium: sign in, the name
// check, upload with dry run and confirmation, deploy, a second version,
// rollback, validate, and the error toast of a tampered package.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	start := time.Now()
	ctx := browser(t, 90*time.Second) // a bound for slow machines; it takes about 10s

	reg := openReg(t, nil)
	fleet := func(context.Context) ([]registryhttp.Replica, error) {
		return []registryhttp.Replica{
			{Name: "web-1", Model: "iris", Version: "2.0", Want: "2.0"},
			{Name: "web-2", Model: "iris", Version: "2.0", Want: "2.0"},
			{Name: "web-3", Model: "iris", Version: "1.9", Want: "2.0", LastError: "load model.joblib: unsupported estimator", ErrorVersion: "2.0", Failures: 3},
		}, nil
	}
	h := registryhttp.New(reg, &registryhttp.Options{Authorizer: registryhttp.BearerTokens(testToken), TempDir: t.TempDir(), Serving: fleet})
	mux := http.NewServeMux()
	var uploads atomic.Int32 // POST /models/import requests: one per version, the dry run
	mux.Handle("/registry/", http.StripPrefix("/registry", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" && r.URL.Path == "/models/import" {
			uploads.Add(1)
		}
		h.ServeHTTP(w, r)
	}))) // relative URLs must work under a prefix
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { h.Close() })

	// Uncaught exceptions and CSP violations fail the test.
	var (
		mu       sync.Mutex
		problems []string
	)
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			if m.IsException() || strings.Contains(m.Text, "Content Security Policy") {
				mu.Lock()
				problems = append(problems, string(m.Type)+": "+m.Text)
				mu.Unlock()
			}
		}
	}()

	files := t.TempDir()
	write := func(name string, data []byte) string {
		path := filepath.Join(files, name)
		require.NoError(t, os.WriteFile(path, data, 0o644))
		return path
	}
	p0 := &page{t: t, ctx: ctx, dir: artifacts(t), shot: new(int)}
	p := p0

	p.do("open the UI", chromedp.Navigate(srv.URL+"/registry/"))
	p.wait("the page script", `document.body.dataset.ready === 'true'`)

	t.Run("sign in", func(t *testing.T) {
		p := p0.on(t)
		p.wait("the token prompt", visible("#token"))
		p.screenshot("signin")
		p.do("enter the token",
			chromedp.SendKeys(chromedp.CSS("#token"), testToken),
			chromedp.Click(chromedp.CSS("#token-save")))
		p.wait("the app", visible("#upload-form"))
		p.wait("the first listing", `document.body.dataset.loaded !== undefined`)
		p.wait("the live event stream", `document.getElementById('live').dataset.state === 'on'`)
		stored, err := chromedp.Run(ctx, chromedp.Evaluate[string](`sessionStorage.getItem('modelvault.token')`))
		require.NoError(t, err)
		assert.Equal(t, testToken, stored, "the token is kept in session storage")
	})

	t.Run("fleet view", func(t *testing.T) {
		p := p0.on(t)
		p.wait("the serving summary", visible(`#serving li.failed`))
		text := p.text("#serving")
		assert.Contains(t, text, "iris: 2 of 3 replicas serve 2.0 (web-3 serves 1.9)")
		assert.Contains(t, text, "1 replica failed to load 2.0: load model.joblib: unsupported estimator")
	})
	t.Run("a bad name is rejected before upload", func(t *testing.T) {
		p := p0.on(t)
		p.pick(write("model-1.0.zip", validZip(t, "1.0")))
		p.wait("the error toast", visible(`#toast[data-kind="error"]`))
		assert.Contains(t, p.text("#toast-msg"), "must be named model_{version}_deployment.zip")
		disabled, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById('upload').disabled`))
		require.NoError(t, err)
		assert.True(t, disabled, "upload stays disabled")
		p.screenshot("bad-name")
		assert.Empty(t, reg.List(nil))
	})

	upload := func(p *page, version string) {
		t := p.t
		p.pick(write(fmt.Sprintf("model_%s_deployment.zip", version), validZip(t, version)))
		p.wait("the upload button", `!document.getElementById('upload').disabled`)
		p.do("upload", chromedp.Click(chromedp.CSS("#upload")))
		p.wait("the confirmation", visible("#confirm"))
		assert.Equal(t, version, p.text("#confirm-version"))
		meta := p.text("#confirm-meta")
		assert.Contains(t, meta, "RandomForestClassifier")
		assert.Contains(t, meta, "iris", "metadata is shown")
		progress, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.getElementById('progress').value`))
		require.NoError(t, err)
		assert.Equal(t, 100, progress)
		_, err = reg.Get(version)
		require.ErrorIs(t, err, registry.ErrNotFound, "the dry run registers nothing")
		p.screenshot("confirm-" + version)
		before := uploads.Load()
		p.do("confirm with a reason",
			chromedp.SendKeys(chromedp.CSS("#confirm-reason"), "first import of "+version),
			chromedp.Click(chromedp.CSS("#confirm")))
		p.wait("the new row", exists(row(version, "available")))
		_, err = reg.Get(version)
		require.NoError(t, err)
		assert.Equal(t, before, uploads.Load(), "confirming sends no second upload (the dry run staged it)")
		hist, err := reg.History(context.Background(), &registry.HistoryOptions{Version: version})
		require.NoError(t, err)
		require.NotEmpty(t, hist)
		assert.Equal(t, "first import of "+version, hist[len(hist)-1].Reason)
	}
	click := func(p *page, version, action string) {
		p.click(action+" "+version, row(version, "")+fmt.Sprintf(` button[data-action=%q]`, action))
		if action == "validate" {
			return
		}
		p.wait("the confirmation dialog", visible("#action-dialog[open] #action-ok"))
		p.screenshot("ask-" + action + "-" + version)
		p.do("confirm "+action+" with a reason",
			chromedp.SendKeys(chromedp.CSS("#action-reason"), action+" because"),
			chromedp.Click(chromedp.CSS("#action-ok")))
		p.wait("the dialog closed", `!document.getElementById('action-dialog').open`)
	}

	t.Run("upload, confirm, listed", func(t *testing.T) {
		p := p0.on(t)
		upload(p, "1.0")
		cells := p.text(row("1.0", ""))
		assert.Contains(t, cells, "RandomForestClassifier")
		assert.Contains(t, cells, "upload")
		assert.Contains(t, cells, "KiB")
		p.screenshot("listed")
	})
	t.Run("deploy", func(t *testing.T) {
		p := p0.on(t)
		click(p, "1.0", "deploy")
		p.wait("1.0 deployed", exists(row("1.0", "deployed")))
		v, err := reg.Deployed()
		require.NoError(t, err)
		assert.Equal(t, "1.0", v.Version)
		p.wait("the success toast", visible(`#toast[data-kind="success"]`))
		hist, err := reg.History(context.Background(), nil)
		require.NoError(t, err)
		assert.Equal(t, "deploy because", hist[len(hist)-1].Reason, "the dialog's reason is kept in history")
	})
	t.Run("cancelling a confirmation changes nothing", func(t *testing.T) {
		p := p0.on(t)
		p.click("roll back 1.0", row("1.0", "")+` button[data-action="rollback"]`)
		p.wait("the confirmation dialog", visible("#action-dialog[open] #action-cancel"))
		p.do("cancel", chromedp.Click(chromedp.CSS("#action-cancel")))
		p.wait("the dialog closed", `!document.getElementById('action-dialog').open`)
		v, err := reg.Deployed()
		require.NoError(t, err)
		assert.Equal(t, "1.0", v.Version, "still deployed")
	})
	t.Run("version page", func(t *testing.T) {
		p := p0.on(t)
		p.click("the version link", row("1.0", "")+` a`)
		p.wait("the version page", `document.body.dataset.page === 'version:1.0'`)
		loc, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.hash`))
		require.NoError(t, err)
		assert.Equal(t, "#/versions/1.0", loc, "the page is linkable")
		files := p.text("#vp-files-body")
		v, err := reg.Get("1.0")
		require.NoError(t, err)
		for name, f := range v.Files {
			assert.Contains(t, files, name)
			assert.Contains(t, files, f.SHA256)
		}
		assert.Contains(t, p.text("#vp-meta"), "iris")
		assert.Contains(t, p.text("#vp-events-body"), "deploy because")
		p.screenshot("version-page")
		p.do("reload the link", chromedp.Reload())
		p.wait("the version page again", `document.body.dataset.page === 'version:1.0'`)
		p.click("back", "#vp-back")
		p.wait("the list", `document.body.dataset.page === 'list'`)
	})
	t.Run("a second version", func(t *testing.T) {
		p := p0.on(t)
		upload(p, "1.1")
		click(p, "1.1", "deploy")
		p.wait("1.1 deployed", exists(row("1.1", "deployed")))
		p.wait("1.0 available", exists(row("1.0", "available")))
		p.screenshot("two-versions")
	})
	t.Run("roll back", func(t *testing.T) {
		p := p0.on(t)
		click(p, "1.1", "rollback")
		p.wait("1.0 deployed again", exists(row("1.0", "deployed")))
		v, err := reg.Deployed()
		require.NoError(t, err)
		assert.Equal(t, "1.0", v.Version)
		p.wait("the rollback in history", exists(`#history-body tr[data-type="rolled_back"]`))
		p.screenshot("rolled-back")
	})
	t.Run("validate", func(t *testing.T) {
		p := p0.on(t)
		click(p, "1.1", "validate")
		p.wait("the validation toast", `document.getElementById('toast-msg').textContent.includes('1.1 is valid')`)
	})
	t.Run("a tampered package shows the server's findings", func(t *testing.T) {
		p := p0.on(t)
		p.pick(write("model_2.0_deployment.zip", tamperedZip(t, "2.0")))
		p.wait("the upload button", `!document.getElementById('upload').disabled`)
		p.do("upload", chromedp.Click(chromedp.CSS("#upload")))
		p.wait("the error toast", visible(`#toast[data-kind="error"] li[data-code="hash_mismatch"]`))
		assert.Contains(t, p.text("#toast-msg"), "validation failed")
		for _, chain := range []string{"modelpkg:", "registry:", "validate:"} {
			assert.NotContains(t, p.text("#toast-msg"), chain, "a short message; the error chain is under Details")
		}
		p.wait("the progress bar shows the failure", exists(`#progress-wrap[data-state="failed"]`))
		assert.Equal(t, "failed", p.text("#progress-text"))
		overlap, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
			const a = document.getElementById('toast').getBoundingClientRect();
			const b = document.getElementById('versions').getBoundingClientRect();
			return a.bottom > b.top && a.top < b.bottom && a.right > b.left && a.left < b.right; })()`))
		require.NoError(t, err)
		assert.False(t, overlap, "the error toast does not cover the versions table")
		assert.Contains(t, p.text(`#toast li[data-code="hash_mismatch"]`), "README.md")
		hidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById('confirm-panel').hidden`))
		require.NoError(t, err)
		assert.True(t, hidden, "no confirmation for a rejected package")
		p.screenshot("tampered")
		_, err = reg.Get("2.0")
		assert.ErrorIs(t, err, registry.ErrNotFound)
	})
	t.Run("narrow screen", func(t *testing.T) {
		p := p0.on(t)
		p.do("emulate a phone", chromedp.EmulateViewport(375, 740))
		p.wait("a relayout", `window.innerWidth === 375`)
		width, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
		require.NoError(t, err)
		assert.LessOrEqual(t, width, 375, "no horizontal scrolling on a narrow screen")
		p.screenshot("narrow")
	})
	t.Run("a wrong token asks again", func(t *testing.T) {
		p := p0.on(t)
		p.do("emulate a desktop", chromedp.EmulateViewport(1280, 900))
		_, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`sessionStorage.setItem('modelvault.token', 'wrong')`))
		require.NoError(t, err)
		p.do("reload", chromedp.Navigate(srv.URL+"/registry/"))
		p.wait("the token prompt", visible("#token"))
		p.wait("the error toast", visible(`#toast[data-kind="error"]`))
		p.screenshot("wrong-token")
		p.do("sign in again",
			chromedp.SendKeys(chromedp.CSS("#token"), testToken),
			chromedp.Click(chromedp.CSS("#token-save")))
		p.wait("the app", visible("#upload-form"))
		p.wait("the stale message gone", `document.getElementById('toast').hidden`)
	})

	mu.Lock()
	defer mu.Unlock()
	assert.Empty(t, problems, "exceptions or CSP violations in the page")
	t.Logf("browser test took %v", time.Since(start).Round(time.Millisecond))
}
