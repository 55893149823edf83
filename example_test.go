package modelvault_test

import (
	"bytes"
	"context"
	"fmt"
	"os"

	"github.com/modelvault/modelvault/internal/irismodel"
	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/storage/diskstore"
)

// The whole story: a store, a registry, an import, a deploy, and a Live
// model answering requests. The model is a real scikit-learn
// LogisticRegression read by a Go loader, so no Python runs.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "modelvault-example-*")
	defer os.RemoveAll(dir)

	store, err := diskstore.Open(dir, nil)
	if err != nil {
		panic(err)
	}
	defer store.Close()
	reg, err := registry.Open(ctx, store, nil)
	if err != nil {
		panic(err)
	}
	defer reg.Close()

	// A producer builds model_1.0_deployment.zip; the service imports it.
	var pkg bytes.Buffer
	if _, err := modelpkg.Build(ctx, &pkg, irismodel.PackageFiles("1.0"), nil); err != nil {
		panic(err)
	}
	v, err := reg.Import(ctx, "model_1.0_deployment.zip", &pkg, nil)
	if err != nil {
		panic(err)
	}
	if _, err := reg.Deploy(ctx, v.Version, &registry.Caller{Actor: "alice", Reason: "first release"}); err != nil {
		panic(err)
	}

	// The service serves the deployed version, and would follow deploys.
	live, err := registry.NewLive(ctx, reg, registry.LoaderFunc[*irismodel.Model](
		func(ctx context.Context, p *registry.Package) (*irismodel.Model, error) {
			f, err := p.FS.Open("model.joblib") // verified as it is read
			if err != nil {
				return nil, err
			}
			defer f.Close()
			return irismodel.Load(f)
		}), nil)
	if err != nil {
		panic(err)
	}
	defer live.Close()

	lease, err := live.Acquire()
	if err != nil {
		panic(err)
	}
	defer lease.Release()
	label, _, _ := lease.Model().Predict([]float64{5.1, 3.5, 1.4, 0.2})
	fmt.Println(v.Model, lease.Version(), "predicts", label)
	// Output:
	// LogisticRegression 1.0 predicts setosa
}
