package registryhttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"testing/fstest"

	"github.com/spf13/afero"

	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/registry/registryhttp"
	"github.com/modelvault/modelvault/storage/aferostore"
)

// ExampleNew mounts the API under /registry/ and drives it as a client
// would: upload a package, deploy it, list the versions.
func ExampleNew() {
	ctx := context.Background()
	reg, err := registry.Open(ctx, aferostore.New(afero.NewMemMapFs(), nil), nil)
	if err != nil {
		panic(err)
	}
	defer reg.Close()

	h := registryhttp.New(reg, &registryhttp.Options{
		Authorizer: registryhttp.BearerTokens("let-me-in"),
	})
	defer h.Close()
	mux := http.NewServeMux()
	mux.Handle("/registry/", http.StripPrefix("/registry", h))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	send := func(method, path, ctype string, body io.Reader) string {
		req, _ := http.NewRequest(method, srv.URL+"/registry"+path, body)
		req.Header.Set("Authorization", "Bearer let-me-in")
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		var out struct {
			Version  *registry.Version   `json:"version"`
			Versions []*registry.Version `json:"versions"`
			Event    *registry.Event     `json:"event"`
			Error    *struct{ Code string }
		}
		_ = json.NewDecoder(resp.Body).Decode(&out)
		switch {
		case out.Error != nil:
			return fmt.Sprintf("%d %s", resp.StatusCode, out.Error.Code)
		case out.Event != nil:
			return fmt.Sprintf("%d %s %s", resp.StatusCode, out.Event.Type, out.Event.To)
		case out.Versions != nil:
			s := fmt.Sprint(resp.StatusCode)
			for _, v := range out.Versions {
				s += fmt.Sprintf(" %s:%s", v.Version, v.Status)
			}
			return s
		}
		return fmt.Sprintf("%d %s %s", resp.StatusCode, out.Version.Version, out.Version.Status)
	}

	// A package, built the way a training pipeline would.
	var pkg bytes.Buffer
	if _, err := modelpkg.Build(ctx, &pkg, examplePackage("1.0"), nil); err != nil {
		panic(err)
	}
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	fw, _ := mw.CreateFormFile("file", "model_1.0_deployment.zip")
	fw.Write(pkg.Bytes())
	mw.Close()

	fmt.Println(send("POST", "/models/import", mw.FormDataContentType(), &form))
	fmt.Println(send("POST", "/models/1.0/deploy?reason=launch", "", nil))
	fmt.Println(send("GET", "/models", "", nil))
	fmt.Println(send("DELETE", "/models/1.0", "", nil))
	// Output:
	// 201 1.0 available
	// 200 deployed 1.0
	// 200 1.0:deployed
	// 409 in_use
}

// examplePackage is a minimal valid package (the test fixture's files).
func examplePackage(version string) fstest.MapFS { return pkgFiles(version, "") }
