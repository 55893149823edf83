package sklearnloader_test

import (
	"bytes"
	"context"
	"fmt"
	"log"

	"github.com/spf13/afero"

	"github.com/modelvault/modelvault/internal/irispkg"
	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/modelpkg/sklearn"
	"github.com/modelvault/modelvault/modelpkg/sklearn/sklearnloader"
	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/storage/aferostore"
)

// A registry serving the deployed scikit-learn model with the pure-Go
// runtime.
func Example() {
	ctx := context.Background()
	reg, err := registry.Open(ctx, aferostore.New(afero.NewMemMapFs(), nil), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Close()
	var pkg bytes.Buffer
	if _, err := modelpkg.Build(ctx, &pkg, irispkg.PackageFiles("2.0"), nil); err != nil {
		log.Fatal(err)
	}
	if _, err := reg.Import(ctx, "model_2.0_deployment.zip", &pkg, nil); err != nil {
		log.Fatal(err)
	}
	if _, err := reg.Deploy(ctx, "2.0", nil); err != nil {
		log.Fatal(err)
	}
	live, err := registry.NewLive(ctx, reg, sklearnloader.New(nil), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer live.Close()
	err = live.Do(func(m *sklearn.Model) error {
		labels, err := m.Predict([][]float64{{6.3, 3.3, 6.0, 2.5}})
		fmt.Println(m.ClassName(), labels, err)
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// LogisticRegression [virginica] <nil>
}
