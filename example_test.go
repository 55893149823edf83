package modelvault_test

import (
	"bytes"
	"context"
	"fmt"
	"os"

	"github.com/modelvault/modelvault/internal/irispkg"
	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/modelpkg/sklearn/sklearnloader"
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
	if _, err := modelpkg.Build(ctx, &pkg, irispkg.PackageFiles("1.0"), nil); err != nil {
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
	// The pure-Go scikit-learn runtime loads model.joblib, verified as it
	// is read.
	live, err := registry.NewLive(ctx, reg, sklearnloader.New(nil), nil)
	if err != nil {
		panic(err)
	}
	defer live.Close()

	lease, err := live.Acquire()
	if err != nil {
		panic(err)
	}
	defer lease.Release()
	labels, _ := lease.Model().Predict([][]float64{{5.1, 3.5, 1.4, 0.2}})
	fmt.Println(v.ModelType, lease.Version(), "predicts", labels[0])
	// Output:
	// LogisticRegression 1.0 predicts setosa
}
