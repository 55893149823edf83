// Package sklearnloader is the registry.Loader for scikit-learn models:
// it loads a deployed package's model.joblib with the pure-Go runtime
// (modelpkg/sklearn), reading it through the package's verifying FS. It
// is a package of its own because the registry imports the runtime (its
// validators test-load models), so the runtime cannot import the
// registry.
//
// # Errors
//
// The loader returns the runtime's errors (sklearn.ErrUnsafe,
// sklearn.ErrUnsupported, sklearn.ErrInvalidModel), wrapped with the file
// name, or the FS's (a digest mismatch matches modelpkg.ErrHashMismatch).
//
// # Concurrency
//
// The loader and the models it returns are safe for concurrent use.
package sklearnloader

import (
	"context"

	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/modelpkg/sklearn"
	"github.com/modelvault/modelvault/registry"
)

// New returns a loader of the layout's default model file
// (model.joblib); opts configures the runtime (nil: defaults).
func New(opts *sklearn.Options) registry.LoaderFunc[*sklearn.Model] {
	return func(ctx context.Context, pkg *registry.Package) (*sklearn.Model, error) {
		return sklearn.LoadFS(ctx, pkg.FS, modelpkg.DefaultModelFile, opts)
	}
}
