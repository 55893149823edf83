package registrymetrics_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/internal/pkgtest"
	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/registry/registryhttp"
	"github.com/modelvault/modelvault/registry/registrymetrics"
	"github.com/modelvault/modelvault/storage/aferostore"
)

// scrape returns the metrics text.
func scrape(t *testing.T, m *registrymetrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	return rec.Body.String()
}

func TestMetrics(t *testing.T) {
	ctx := context.Background()
	m, err := registrymetrics.New(nil)
	require.NoError(t, err)
	var notified int
	opts := &registry.Options{Name: "iris", Notify: func(registry.Notice) { notified++ }}
	m.Instrument(opts)
	reg, err := registry.Open(ctx, aferostore.New(afero.NewMemMapFs(), nil), opts)
	require.NoError(t, err)
	defer reg.Close()

	api := registryhttp.New(reg, &registryhttp.Options{AllowUnauthenticated: true, Observer: m, MaxUploadSize: 1 << 20, TempDir: t.TempDir()})
	defer api.Close()
	srv := httptest.NewServer(api)
	defer srv.Close()
	upload := func(data []byte) int {
		var body bytes.Buffer
		body.WriteString("--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"model_1.0_deployment.zip\"\r\n\r\n")
		body.Write(data)
		body.WriteString("\r\n--B--\r\n")
		resp, err := http.Post(srv.URL+"/models/import", "multipart/form-data; boundary=B", &body)
		require.NoError(t, err)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusUnprocessableEntity, upload([]byte("not a zip")))
	assert.Equal(t, http.StatusCreated, upload(pkgtest.Zip(t, pkgtest.Files("1.0"))))
	_, err = reg.Deploy(ctx, "1.0", nil)
	require.NoError(t, err)

	live, err := registry.NewLive(ctx, reg, registrymetrics.Loader[string](m, registry.LoaderFunc[string](
		func(ctx context.Context, pkg *registry.Package) (string, error) { return pkg.Version.Version, nil })), nil)
	require.NoError(t, err)
	defer live.Close()
	require.Eventually(t, func() bool { return live.Version() == "1.0" }, 10*time.Second, 5*time.Millisecond)
	release := m.Lease()

	text := scrape(t, m)
	for _, want := range []string{
		`modelvault_events_total{type="imported"} 1`,
		`modelvault_events_total{type="deployed"} 1`,
		`modelvault_import_rejections_total{code="invalid_archive"} 1`,
		`modelvault_import_duration_seconds_count 1`,
		`modelvault_load_duration_seconds_count{result="ok"} 1`,
		`modelvault_swaps_total 1`,
		`modelvault_served_version{model="iris",version="1.0"} 1`,
		`modelvault_leases_in_flight 1`,
	} {
		assert.Contains(t, text, want)
	}
	assert.NotContains(t, text, `modelvault_import_bytes_total 0`)
	release()
	release() // a second release does nothing
	assert.Contains(t, scrape(t, m), "modelvault_leases_in_flight 0")
	assert.Positive(t, notified, "the host's own Notify still runs")

	m.SetServing("iris", "")
	assert.NotContains(t, scrape(t, m), `modelvault_served_version{`)
}

func TestNewRefusesADuplicateRegistration(t *testing.T) {
	r := prometheus.NewRegistry()
	_, err := registrymetrics.New(&registrymetrics.Options{Registerer: r, Gatherer: r})
	require.NoError(t, err)
	_, err = registrymetrics.New(&registrymetrics.Options{Registerer: r, Gatherer: r})
	assert.Error(t, err)
}
