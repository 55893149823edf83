package validate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/modelvault/modelvault/internal/pickle"
	"github.com/modelvault/modelvault/modelpkg"
)

// Sentinels of the pickle/joblib safety scan ([PickleScan]).
var (
	// ErrUnsafeModel: loading a model file with joblib.load or
	// pickle.load could run code, crash or exhaust resources: a Python
	// global outside the policy (the finding's message names its module
	// and name), a call or a BUILD that breaks its schema, or a size
	// beyond the scan's budget. The message names the node of the parsed
	// graph and the rule.
	ErrUnsafeModel = modelpkg.NewError("unsafe_model", "validate: unsafe model")
	// ErrInvalidModel: a model file is not a pickle or joblib file the
	// scanner can parse: not a pickle, truncated, trailing data, a
	// malformed opcode, a root object that is not a model, or an
	// unsupported format.
	ErrInvalidModel = modelpkg.NewError("invalid_model", "validate: invalid model")
)

// PickleGlobal names a Python global, such as
// {Module: "sklearn.linear_model._logistic", Name: "LogisticRegression"}.
type PickleGlobal struct {
	Module string
	Name   string
}

// PickleOptions configures [PickleScan]. The zero value (or nil) uses the
// built-in allowlist and limits.
type PickleOptions struct {
	// Allow lists the exact (module, name) pairs of classes a host allows
	// on top of the built-in policy (the scikit-learn estimators and their
	// helpers, numpy arrays, dtypes and scalars, joblib's array wrapper).
	// An instance of one of them may be a file's root object; it is made
	// with NEWOBJ and no arguments, and its state is a dict whose keys name
	// no method or dunder. Matching is exact: a module prefix allows
	// nothing, and a name with a dot is always rejected.
	Allow []PickleGlobal
	// MaxDecompressedSize bounds the decompressed size of a compressed
	// joblib file (0: 4 GiB).
	MaxDecompressedSize int64
}

// scanOptions are the pickle machine's options PickleScan uses for opts.
func scanOptions(opts *PickleOptions) *pickle.Options {
	var o PickleOptions
	if opts != nil {
		o = *opts
	}
	so := &pickle.Options{MaxDecompressedSize: o.MaxDecompressedSize}
	for _, g := range o.Allow {
		so.Allow = append(so.Allow, pickle.Global{Module: g.Module, Name: g.Name})
	}
	return so
}

// pickleExts are the extensions of the files PickleScan scans, besides the
// layout's model file.
var pickleExts = map[string]bool{".joblib": true, ".pkl": true, ".pickle": true, ".jbl": true}

// torchExts are PyTorch checkpoints (ZIP files holding data.pkl), which
// the scanner does not support yet.
var torchExts = map[string]bool{".pt": true, ".pth": true}

// PickleScan returns a validator that statically scans the layout's model
// file and every other *.joblib, *.pkl, *.pickle and *.jbl file of the
// package, without executing or unpickling anything. Each file is parsed
// by the project's restricted pickle machine into an inert value graph
// (every opcode, the memo and the stack followed as CPython does; joblib's
// containers decompressed with a bound; joblib's raw array data skipped
// exactly as joblib reads it) and a policy decides on the graph: exact
// globals, a schema per callable and per class state (the attributes
// scikit-learn writes, at most one BUILD), joblib's array wrapper as a
// fixed grammar, one budget for everything a loader would allocate, and a
// root that is an instance of a model class. A file must be safe both as
// joblib.load and as pickle.load read it, whatever its name.
//
// Findings: unsafe_model ([ErrUnsafeModel]) for anything that could run
// code, crash or exceed a limit; invalid_model ([ErrInvalidModel]) for a
// file that is not a well-formed pickle or joblib file, has trailing
// data, declares lengths beyond its end, or whose root is not a model.
// PyTorch checkpoints (*.pt, *.pth) are reported as invalid_model: they
// cannot be scanned yet. A missing model file is left to [RequiredFiles].
func PickleScan(opts *PickleOptions) Validator {
	so := scanOptions(opts)
	return Func(func(ctx context.Context, pkg *Package, r *Report) {
		layout := pkg.Layout
		if layout == nil {
			layout = modelpkg.DefaultLayout()
		}
		files, err := pickleFiles(pkg.FS, layout.ModelFile)
		if err != nil {
			r.Errorf(ErrInvalidModel, "", "pickle scan: list files: %v", err)
			return
		}
		for _, name := range files {
			if err := ctx.Err(); err != nil {
				r.Add(Finding{Severity: SeverityError, Code: "canceled", Message: err.Error(), Err: err})
				return
			}
			if torchExts[strings.ToLower(path.Ext(name))] {
				r.Errorf(ErrInvalidModel, name, "%s: PyTorch checkpoints cannot be scanned yet", name)
				continue
			}
			if name == layout.ModelFile && pkg.shared.serves(name, so, true) {
				// Standard's test load uses the same joblib reading.
				_, _, err := pkg.shared.load(ctx, pkg.FS)
				if err == nil {
					err = pickle.ScanPlain(ctx, opener(pkg.FS, name), so)
				}
				pickleFinding(ctx, name, err, r)
				continue
			}
			scanPickleFile(ctx, pkg.FS, name, so, r)
		}
	})
}

// pickleFiles returns the model file (if present) and the other
// pickle-like files of fsys, sorted by path, each once.
func pickleFiles(fsys fs.FS, model string) ([]string, error) {
	var files []string
	if model != "" {
		if st, err := fs.Stat(fsys, model); err == nil && st.Mode().IsRegular() {
			files = append(files, model)
		}
	}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() || p == model {
			return nil
		}
		ext := strings.ToLower(path.Ext(p))
		if pickleExts[ext] || torchExts[ext] {
			files = append(files, p)
		}
		return nil
	})
	return files, err
}

func scanPickleFile(ctx context.Context, fsys fs.FS, name string, opts *pickle.Options, r *Report) {
	open := opener(fsys, name)
	f, err := open()
	if err != nil {
		r.Errorf(ErrInvalidModel, name, "%s: open: %v", name, err)
		return
	}
	f.Close()
	_, err = pickle.ScanAll(ctx, open, opts)
	pickleFinding(ctx, name, err, r)
}

// pickleFinding records the scan's verdict on file name.
func pickleFinding(ctx context.Context, name string, err error, r *Report) {
	var se *pickle.Error
	switch {
	case err == nil:
	case archiveFailure(r, name, err):
	case errors.As(err, &se) && (se.Kind == pickle.KindUnsafe || se.Kind == pickle.KindLimit):
		r.Add(Finding{Severity: SeverityError, Path: name, Message: fmt.Sprintf("%s: %s", name, strings.TrimPrefix(se.Error(), "pickle: ")),
			Err: fmt.Errorf("%w: %w", ErrUnsafeModel, err)})
	case errors.As(err, &se):
		r.Add(Finding{Severity: SeverityError, Path: name, Message: fmt.Sprintf("%s: %s", name, strings.TrimPrefix(se.Error(), "pickle: ")),
			Err: fmt.Errorf("%w: %w", ErrInvalidModel, err)})
	case ctx.Err() != nil:
		r.Add(Finding{Severity: SeverityError, Code: "canceled", Path: name, Message: ctx.Err().Error(), Err: ctx.Err()})
	default:
		r.Errorf(ErrInvalidModel, name, "%s: read: %v", name, err)
	}
}
