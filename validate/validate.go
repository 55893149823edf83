package validate

import (
	"context"
	"io/fs"

	"golang.org/x/sync/errgroup"

	"github.com/modelvault/modelvault/modelpkg"
)

// Package is what validators look at: the files of one model package,
// seen through an [fs.FS] (an opened ZIP, an extracted directory, a prefix
// of a store), plus what is already known about it.
type Package struct {
	// FS holds the package's files at its root.
	FS fs.FS
	// Version is the version taken from the package's file or directory
	// name, or "" if unknown.
	Version string
	// Layout names the required files and the model file. Nil means
	// modelpkg.DefaultLayout().
	Layout *modelpkg.Layout
	// Digests holds SHA-256 digests (lower-case hex) already computed for
	// files, for example while they were extracted. Validators use them
	// instead of reading the files again. Nil means none are known.
	Digests map[string]string

	// shared is the model file's parse, shared by the scan and the test
	// load of one Standard call (nil: none).
	shared *sharedModel
}

// Validator checks one aspect of a package and records what it finds in r.
// A Validator reports problems as findings, not as a returned error; it
// must stop early when ctx is done (recording ctx.Err() as a finding).
type Validator interface {
	Validate(ctx context.Context, pkg *Package, r *Report)
}

// Func adapts an ordinary function to a [Validator], like http.HandlerFunc.
type Func func(ctx context.Context, pkg *Package, r *Report)

// Validate calls f(ctx, pkg, r).
func (f Func) Validate(ctx context.Context, pkg *Package, r *Report) { f(ctx, pkg, r) }

// DefaultConcurrency bounds how many validators [All] runs at once.
const DefaultConcurrency = 4

// All returns a validator that runs vs concurrently (at most
// [DefaultConcurrency] at a time) and merges their findings in the order
// the validators were given, so the report is the same on every run.
func All(vs ...Validator) Validator {
	return Func(func(ctx context.Context, pkg *Package, r *Report) {
		reports := make([]Report, len(vs))
		var g errgroup.Group
		g.SetLimit(DefaultConcurrency)
		for i, v := range vs {
			g.Go(func() error {
				v.Validate(ctx, pkg, &reports[i])
				return nil
			})
		}
		_ = g.Wait()
		for i := range reports {
			r.Merge(&reports[i])
		}
	})
}
