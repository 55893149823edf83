package validate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/modelvault/modelvault/internal/picklescan"
	"github.com/modelvault/modelvault/modelpkg"
)

// Sentinels of the pickle/joblib safety scan ([PickleScan]).
var (
	// ErrUnsafeModel: a model file names a Python global outside the
	// allowlist (the finding's message names its module and name), or
	// uses a construct that runs code by design.
	ErrUnsafeModel = modelpkg.NewError("unsafe_model", "validate: unsafe model")
	// ErrInvalidModel: a model file is not a pickle or joblib file the
	// scanner can prove safe: not a pickle, truncated, trailing data,
	// oversized lengths, a root object that is not a model, a resource
	// limit, or an unsupported format.
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
	// Allow lists the exact (module, name) pairs a host allows on top of
	// the built-in allowlist (common scikit-learn estimators and trees,
	// numpy arrays, dtypes and scalars, joblib's NumpyArrayWrapper and
	// _codecs.encode). An instance of one of them may be a file's root
	// object. Matching is exact: a module prefix allows nothing, and a
	// name with a dot is always rejected.
	Allow []PickleGlobal
	// MaxDecompressedSize bounds the decompressed size of a compressed
	// joblib file (0: 4 GiB).
	MaxDecompressedSize int64
}

// pickleExts are the extensions of the files PickleScan scans, besides the
// layout's model file.
var pickleExts = map[string]bool{".joblib": true, ".pkl": true, ".pickle": true, ".jbl": true}

// torchExts are PyTorch checkpoints (ZIP files holding data.pkl), which
// the scanner does not support yet.
var torchExts = map[string]bool{".pt": true, ".pth": true}

// PickleScan returns a validator that statically scans the layout's model
// file and every other *.joblib, *.pkl, *.pickle and *.jbl file of the
// package, without executing or unpickling anything. It proves that
// joblib.load (which also loads plain pickles) could only import and
// build allow-listed globals: it follows every opcode, the memo and the
// stack, so it knows the exact module and name of every global however
// the strings got there; it decompresses joblib's zlib, gzip, bz2, xz,
// lzma and lz4 containers with a bound; it skips joblib's raw numpy data
// exactly as joblib reads it and walks the nested pickles of object
// arrays; and it requires the root object to be an instance of an
// allow-listed model class.
//
// Findings: unsafe_model ([ErrUnsafeModel]) for a global outside the
// allowlist; invalid_model ([ErrInvalidModel]) for a file that is not a
// well-formed pickle or joblib file, has trailing data, declares lengths
// beyond its end, exceeds a limit, or whose root is not a model. PyTorch
// checkpoints (*.pt, *.pth) are reported as invalid_model: they cannot be
// scanned yet. A missing model file is left to [RequiredFiles].
func PickleScan(opts *PickleOptions) Validator {
	var o PickleOptions
	if opts != nil {
		o = *opts
	}
	so := &picklescan.Options{MaxDecompressedSize: o.MaxDecompressedSize}
	for _, g := range o.Allow {
		so.Allow = append(so.Allow, picklescan.Global{Module: g.Module, Name: g.Name})
	}
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

func scanPickleFile(ctx context.Context, fsys fs.FS, name string, opts *picklescan.Options, r *Report) {
	f, err := fsys.Open(name)
	if err != nil {
		r.Errorf(ErrInvalidModel, name, "%s: open: %v", name, err)
		return
	}
	defer f.Close()
	_, err = picklescan.Scan(ctx, f, opts)
	var se *picklescan.Error
	switch {
	case err == nil:
	case archiveFailure(r, name, err):
	case errors.As(err, &se) && se.Kind == picklescan.KindUnsafe:
		r.Add(Finding{Severity: SeverityError, Path: name, Message: fmt.Sprintf("%s: %s (at offset %d)", name, se.Msg, se.Offset),
			Err: fmt.Errorf("%w: %w", ErrUnsafeModel, err)})
	case errors.As(err, &se):
		r.Add(Finding{Severity: SeverityError, Path: name, Message: fmt.Sprintf("%s: %s (at offset %d)", name, se.Msg, se.Offset),
			Err: fmt.Errorf("%w: %w", ErrInvalidModel, err)})
	case ctx.Err() != nil:
		r.Add(Finding{Severity: SeverityError, Code: "canceled", Path: name, Message: ctx.Err().Error(), Err: ctx.Err()})
	default:
		r.Errorf(ErrInvalidModel, name, "%s: read: %v", name, err)
	}
}
