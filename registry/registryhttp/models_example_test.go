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

	"github.com/spf13/afero"

	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/registry/registryhttp"
	"github.com/modelvault/modelvault/storage/aferostore"
)

// ExampleNewModels serves a store that holds several models: each
// model's API lives under /m/{name}/, an import into a new name creates
// the model, and /models-index lists the models with their deployed
// versions.
func ExampleNewModels() {
	ctx := context.Background()
	store := aferostore.New(afero.NewMemMapFs(), nil)
	h := registryhttp.NewModels(store, &registryhttp.ModelsOptions{
		Options: registryhttp.Options{Authorizer: registryhttp.BearerTokens("let-me-in")},
	})
	defer h.Close()
	mux := http.NewServeMux()
	mux.Handle("/registry/", http.StripPrefix("/registry", h))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	send := func(method, path, ctype string, body io.Reader) (int, []byte) {
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
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, data
	}
	importInto := func(model, version string) int {
		var pkg bytes.Buffer
		if _, err := modelpkg.Build(ctx, &pkg, examplePackage(version), nil); err != nil {
			panic(err)
		}
		var form bytes.Buffer
		mw := multipart.NewWriter(&form)
		fw, _ := mw.CreateFormFile("file", modelpkg.FileName(version))
		fw.Write(pkg.Bytes())
		mw.Close()
		code, _ := send("POST", "/m/"+model+"/models/import", mw.FormDataContentType(), &form)
		return code
	}

	fmt.Println(importInto("fraud", "1.0"), importInto("fraud", "1.1"), importInto("churn", "3.2"))
	code, _ := send("POST", "/m/fraud/models/1.1/deploy", "", nil)
	fmt.Println(code)
	code, body := send("GET", "/m/pricing/models", "", nil)
	var failed struct{ Error struct{ Code string } }
	_ = json.Unmarshal(body, &failed)
	fmt.Println(code, failed.Error.Code)

	_, body = send("GET", "/models-index", "", nil)
	var index struct{ Models []registryhttp.ModelSummary }
	if err := json.Unmarshal(body, &index); err != nil {
		panic(err)
	}
	for _, m := range index.Models {
		fmt.Printf("%s: %d versions, deployed %q\n", m.Name, m.Versions, m.Deployed)
	}
	// Output:
	// 201 201 201
	// 200
	// 404 unknown_model
	// churn: 1 versions, deployed ""
	// fraud: 2 versions, deployed "1.1"
}
