package registryhttp_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/registry/registryhttp"
)

// TestBrowserModels drives the UI of a store of several models in
// headless Chromium: the model list with each deployed version, a model's
// page with its switcher, switching, and the page of a model that does
// not exist yet.
func TestBrowserModels(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	ctx := browser(t, 60*time.Second)
	store := memStore()
	bg := context.Background()
	for model, version := range map[string]string{"fraud": "1.0", "churn": "2.0"} {
		reg, err := registry.OpenModel(bg, store, model, &registry.Options{SkipOpenScan: true})
		require.NoError(t, err)
		_, err = reg.Import(bg, modelpkg.FileName(version), bytes.NewReader(validZip(t, version)), nil)
		require.NoError(t, err)
		if model == "fraud" {
			_, err = reg.Deploy(bg, version, nil)
			require.NoError(t, err)
		}
		reg.Close()
	}
	h := registryhttp.NewModels(store, &registryhttp.ModelsOptions{
		Options:  registryhttp.Options{Authorizer: registryhttp.BearerTokens(testToken), TempDir: t.TempDir()},
		Registry: &registry.Options{SkipOpenScan: true, PollInterval: 20 * time.Millisecond},
	})
	mux := http.NewServeMux()
	mux.Handle("/registry/", http.StripPrefix("/registry", h))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { h.Close() }) // first: it ends the pages' event streams

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
	p0 := &page{t: t, ctx: ctx, dir: artifacts(t), shot: new(int)}

	t.Run("model list", func(t *testing.T) {
		p := p0.on(t)
		p.do("open the model list", chromedp.Navigate(srv.URL+"/registry/"))
		p.wait("the page script", `document.body.dataset.ready === 'true'`)
		p.wait("the token prompt", visible("#token"))
		p.do("enter the token",
			chromedp.SendKeys(chromedp.CSS("#token"), testToken),
			chromedp.Click(chromedp.CSS("#token-save")))
		p.wait("the list", exists(`#model-list-body tr[data-model="churn"]`))
		p.screenshot("models")
		assert.Equal(t, "1.0", p.text(`#model-list-body tr[data-model="fraud"] td[data-label="Deployed"]`))
		assert.Equal(t, "none", p.text(`#model-list-body tr[data-model="churn"] td[data-label="Deployed"]`))
		assert.Equal(t, "RandomForestClassifier", p.text(`#model-list-body tr[data-model="fraud"] td[data-label="Estimator"]`))
	})
	t.Run("a model's page and its switcher", func(t *testing.T) {
		p := p0.on(t)
		p.click("open fraud", `#model-list-body tr[data-model="fraud"] a`)
		p.waitNav("fraud's versions", exists(row("1.0", "deployed")))
		p.wait("the switcher", visible("#model-switch"))
		p.screenshot("fraud")
		assert.Equal(t, "fraud (1.0)", p.text(`#model-switch option[value="fraud"]`))
		assert.Equal(t, "churn", p.text(`#model-switch option[value="churn"]`))
		assert.Equal(t, "Model registry: fraud", p.text(".bar h1"))
		p.do("switch to churn", chromedp.Evaluate[chromedp.Void](`(() => {
			const s = document.getElementById('model-switch');
			s.value = 'churn';
			s.dispatchEvent(new Event('change'));
		})()`))
		p.waitNav("churn's versions", `location.pathname === '/registry/m/churn/' && `+exists(row("2.0", "available")))
		assert.False(t, p.has(row("1.0", "")), "fraud's version is not churn's")
	})
	t.Run("a model that does not exist yet", func(t *testing.T) {
		p := p0.on(t)
		p.do("open a new name", chromedp.Navigate(srv.URL+"/registry/m/pricing/"))
		p.wait("the page script", `document.body.dataset.ready === 'true'`)
		p.wait("the empty listing", visible("#versions-empty"))
		assert.Contains(t, p.text("#versions-empty"), "pricing does not exist yet")
		assert.True(t, p.toastHidden(), "no error for a model about to be created")
		p.click("all models", "#all-models")
		p.waitNav("the model list", exists(`#model-list-body tr[data-model="fraud"]`))
	})
	mu.Lock()
	defer mu.Unlock()
	assert.Empty(t, problems, "exceptions or CSP violations in the page")
}

// has reports whether an element matches sel.
func (p *page) has(sel string) bool {
	p.t.Helper()
	found, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](exists(sel)))
	require.NoError(p.t, err)
	return found
}

// toastHidden reports whether no message is shown.
func (p *page) toastHidden() bool {
	p.t.Helper()
	hidden, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](`document.getElementById('toast').hidden`))
	require.NoError(p.t, err)
	return hidden
}

// waitNav waits until the JavaScript expression is truthy across a
// navigation the page started itself (a link, a script), during which
// the page's execution context goes away.
func (p *page) waitNav(what, expr string) {
	p.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		var ok bool
		ok, err = chromedp.Run(p.ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	p.screenshot("failed-" + strings.ReplaceAll(what, " ", "-"))
	p.t.Fatalf("waiting for %s (%s): last error %v", what, expr, err)
}
