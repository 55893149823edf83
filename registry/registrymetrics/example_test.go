package registrymetrics_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/spf13/afero"

	"github.com/modelvault/modelvault/internal/pkgtest"
	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/registry/registrymetrics"
	"github.com/modelvault/modelvault/storage/aferostore"
)

// A host wires the metrics with one call on the registry's options, then
// serves them.
func Example() {
	ctx := context.Background()
	m, err := registrymetrics.New(nil)
	if err != nil {
		panic(err)
	}
	opts := &registry.Options{}
	m.Instrument(opts)
	reg, err := registry.Open(ctx, aferostore.New(afero.NewMemMapFs(), nil), opts)
	if err != nil {
		panic(err)
	}
	defer reg.Close()
	var pkg bytes.Buffer
	if _, err := modelpkg.Build(ctx, &pkg, pkgtest.Files("1.0"), nil); err != nil {
		panic(err)
	}
	if _, err := reg.Import(ctx, "model_1.0_deployment.zip", &pkg, nil); err != nil {
		panic(err)
	}

	rec := httptest.NewRecorder()
	m.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil)) // mux.Handle("GET /metrics", m)
	for line := range strings.Lines(rec.Body.String()) {
		if strings.HasPrefix(line, "modelvault_events_total") {
			fmt.Print(line)
		}
	}
	// Output:
	// modelvault_events_total{type="imported"} 1
}
