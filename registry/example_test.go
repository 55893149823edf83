package registry_test

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/spf13/afero"

	"github.com/modelvault/modelvault/internal/pkgtest"
	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/storage/aferostore"
)

// packageZip builds a valid package for the examples, as a producer
// would: modelpkg.Build writes the manifest with every file's digest.
func packageZip(version string) *bytes.Reader {
	var buf bytes.Buffer
	if _, err := modelpkg.Build(context.Background(), &buf, pkgtest.Files(version), nil); err != nil {
		panic(err)
	}
	return bytes.NewReader(buf.Bytes())
}

func ExampleRegistry_Import() {
	ctx := context.Background()
	store := aferostore.New(afero.NewMemMapFs(), nil)
	reg, err := registry.Open(ctx, store, nil)
	if err != nil {
		panic(err)
	}
	v, err := reg.Import(ctx, "model_1.0.0_deployment.zip", packageZip("1.0.0"),
		&registry.ImportOptions{Caller: registry.Caller{Actor: "alice"}})
	if err != nil {
		panic(err)
	}
	fmt.Println(v.Version, v.ModelType, v.Status, v.ImportMethod, len(v.Files), "files")

	// Importing the same content again is a no-op; other content under the
	// same version is refused.
	_, err = reg.Import(ctx, "model_1.0.0_deployment.zip", packageZip("1.0.0"), nil)
	fmt.Println("again:", err)
	// Output:
	// 1.0.0 RandomForestClassifier available zip_upload 7 files
	// again: <nil>
}

func ExampleRegistry_Rollback() {
	ctx := context.Background()
	reg, _ := registry.Open(ctx, aferostore.New(afero.NewMemMapFs(), nil), nil)
	for _, v := range []string{"1.0", "1.1"} {
		if _, err := reg.Import(ctx, "model_"+v+"_deployment.zip", packageZip(v), nil); err != nil {
			panic(err)
		}
		if _, err := reg.Deploy(ctx, v, &registry.Caller{Actor: "ci"}); err != nil {
			panic(err)
		}
	}
	e, err := reg.Rollback(ctx, &registry.RollbackOptions{Caller: registry.Caller{Actor: "oncall", Reason: "latency"}})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s %s -> %s by %s (%s)\n", e.Type, e.From, e.To, e.Actor, e.Reason)
	history, _ := reg.History(ctx, nil)
	for _, e := range history {
		fmt.Println(e.Seq, e.Type, e.Version)
	}
	// Output:
	// rolled_back 1.1 -> 1.0 by oncall (latency)
	// 1 imported 1.0
	// 2 deployed 1.0
	// 3 imported 1.1
	// 4 deployed 1.1
	// 5 rolled_back 1.0
}

// model is a host's model type; Close is called when it is retired.
type model struct{ version string }

func (m *model) Predict() string { return "prediction from " + m.version }
func (m *model) Close() error    { return nil }

func ExampleLive() {
	ctx := context.Background()
	reg, _ := registry.Open(ctx, aferostore.New(afero.NewMemMapFs(), nil), nil)
	if _, err := reg.Import(ctx, "model_1.0_deployment.zip", packageZip("1.0"), nil); err != nil {
		panic(err)
	}
	if _, err := reg.Deploy(ctx, "1.0", nil); err != nil {
		panic(err)
	}

	// The host's loader reads the model through a view that verifies each
	// file's SHA-256 as it is read.
	loader := registry.LoaderFunc[*model](func(ctx context.Context, pkg *registry.Package) (*model, error) {
		f, err := pkg.FS.Open("model.joblib")
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if _, err := io.Copy(io.Discard, f); err != nil {
			return nil, err // a tampered file fails here
		}
		return &model{version: pkg.Version.Version}, nil
	})
	live, err := registry.NewLive(ctx, reg, loader, nil)
	if err != nil {
		panic(err)
	}
	defer live.Close()

	// Per request: a lease on the current model, released when done.
	lease, err := live.Acquire()
	if err != nil {
		panic(err)
	}
	fmt.Println(lease.Model().Predict())
	lease.Release()
	// Output:
	// prediction from 1.0
}
