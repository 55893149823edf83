package validate

import (
	"context"
	"io"
	"io/fs"
	"slices"
	"sync"

	"github.com/modelvault/modelvault/internal/pickle"
)

// sharedModel is the model file's joblib reading, parsed once per
// [Standard] call and shared by [PickleScan] (which still reads the file
// a second time as pickle.load would) and [ModelLoad] (which builds the
// estimator from the same approved value graph). Standard puts one on its
// copy of the Package and drops it when the call returns, so the graph
// lives no longer than the validators that use it.
type sharedModel struct {
	name string
	opts pickle.Options

	once sync.Once
	done chan struct{}
	v    pickle.Value
	res  *pickle.Result
	err  error
}

func newSharedModel(name string, opts pickle.Options) *sharedModel {
	return &sharedModel{name: name, opts: opts, done: make(chan struct{})}
}

// serves reports whether s holds the reading of file name with the
// limits of opts and, if allow, its allowlist too. The test load takes a
// graph read with a host's allowlist: an allowed host class is not an
// estimator the runtime knows (a load_skipped warning).
func (s *sharedModel) serves(name string, opts *pickle.Options, allow bool) bool {
	return s != nil && s.name == name && s.opts.Budget == opts.Budget &&
		s.opts.MaxDecompressedSize == opts.MaxDecompressedSize && (!allow || slices.Equal(s.opts.Allow, opts.Allow))
}

// load returns the joblib reading of the file: the first caller parses
// it, the others wait for that result (or for ctx).
func (s *sharedModel) load(ctx context.Context, fsys fs.FS) (pickle.Value, *pickle.Result, error) {
	first := false
	s.once.Do(func() { first = true })
	if first {
		func() {
			defer close(s.done) // whatever happens, nobody waits forever
			s.v, s.res, s.err = loadFile(ctx, fsys, s.name, &s.opts)
		}()
	}
	select {
	case <-s.done:
		return s.v, s.res, s.err
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
}

func loadFile(ctx context.Context, fsys fs.FS, name string, opts *pickle.Options) (pickle.Value, *pickle.Result, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	return pickle.Load(ctx, f, opts)
}

// opener returns a function opening name in fsys, for pickle.ScanAll and
// pickle.ScanPlain.
func opener(fsys fs.FS, name string) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return fsys.Open(name) }
}
