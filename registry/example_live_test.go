package registry_test

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/afero"

	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/storage/aferostore"
)

// A host deploys a version and waits until this process serves it, then
// shows what every Live sharing the store serves (the fleet view).
func ExampleLive_WaitFor() {
	ctx := context.Background()
	reg, _ := registry.Open(ctx, aferostore.New(afero.NewMemMapFs(), nil), nil)
	defer reg.Close()
	for _, v := range []string{"1.0", "1.1"} {
		if _, err := reg.Import(ctx, "model_"+v+"_deployment.zip", packageZip(v), nil); err != nil {
			panic(err)
		}
	}
	if _, err := reg.Deploy(ctx, "1.0", nil); err != nil {
		panic(err)
	}
	loader := registry.LoaderFunc[*model](func(ctx context.Context, pkg *registry.Package) (*model, error) {
		return &model{version: pkg.Version.Version}, nil
	})
	live, err := registry.NewLive(ctx, reg, loader, &registry.LiveOptions[*model]{Name: "web-1"})
	if err != nil {
		panic(err)
	}
	defer live.Close()

	e, err := reg.Deploy(ctx, "1.1", &registry.Caller{Actor: "ci"})
	if err != nil {
		panic(err)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := live.WaitFor(wctx, e.To); err != nil {
		panic(err) // not served in time; the error says why (the last load error)
	}
	fmt.Println("serving", live.Version())

	// The published state reaches the store asynchronously.
	for {
		fleet, err := reg.Serving(ctx)
		if err != nil {
			panic(err)
		}
		if len(fleet) == 1 && fleet[0].Converged() && fleet[0].Version == "1.1" {
			fmt.Printf("%s serves %s (deployed: %s)\n", fleet[0].Name, fleet[0].Version, fleet[0].Want)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Output:
	// serving 1.1
	// web-1 serves 1.1 (deployed: 1.1)
}
