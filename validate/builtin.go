package validate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/modelvault/modelvault/internal/ctxio"
	"github.com/modelvault/modelvault/internal/pickle"
	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/modelpkg/sklearn"
)

// Sentinels for findings this package adds to modelpkg's.
var (
	// ErrMissingMetadataField is the code of the warning for an expected
	// metadata field that is absent (the specification makes it a warning).
	ErrMissingMetadataField = modelpkg.NewError("missing_metadata_field", "validate: missing metadata field")
	// ErrUnlistedFile is the code of the warning for a file the manifest
	// does not list, when unlisted files are allowed.
	ErrUnlistedFile = modelpkg.NewError("unlisted_file", "validate: file not in manifest")
	// ErrLoadFailed: the host's load test could not load the model.
	ErrLoadFailed = modelpkg.NewError("load_failed", "validate: model failed to load")
	// ErrLoadSkipped is the code of the warning for a model the pickle
	// scan accepts but the pure-Go runtime does not support: the test
	// load was skipped (a host may still serve it with its own loader).
	ErrLoadSkipped = modelpkg.NewError("load_skipped", "validate: test load skipped")
	// ErrModelTypeMismatch is the code of the warning for a
	// metadata.model_type that is not the loaded model's class.
	ErrModelTypeMismatch = modelpkg.NewError("model_type_mismatch", "validate: model_type disagrees with the model")
	// ErrUnsafeMetadataText is the code of the warning for a metadata
	// field (other than model_type and version, which must be plain text
	// or the metadata is invalid) whose name or text holds control,
	// formatting or bidirectional-override characters: interfaces show
	// such text escaped, and the warning says it is there.
	ErrUnsafeMetadataText = modelpkg.NewError("unsafe_metadata_text", "validate: metadata text with control or formatting characters")
	// ErrScriptFailed: the package's validation script failed.
	ErrScriptFailed = modelpkg.NewError("script_failed", "validate: validation script failed")
)

func layoutOf(pkg *Package) *modelpkg.Layout {
	if pkg.Layout != nil {
		return pkg.Layout
	}
	return modelpkg.DefaultLayout()
}

// ctxDone records ctx's error and reports whether ctx is done.
func ctxDone(ctx context.Context, r *Report) bool {
	if err := ctx.Err(); err != nil {
		r.Add(Finding{Severity: SeverityError, Code: "canceled", Message: err.Error(), Err: err})
		return true
	}
	return false
}

// RequiredFiles reports every file of the layout that the package lacks
// (code missing_file). A nil layout means the package's.
func RequiredFiles(layout *modelpkg.Layout) Validator {
	return Func(func(ctx context.Context, pkg *Package, r *Report) {
		l := layout
		if l == nil {
			l = layoutOf(pkg)
		}
		for _, name := range l.Required {
			fi, err := fs.Stat(pkg.FS, name)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				r.Errorf(modelpkg.ErrMissingFile, name, "required file %s is missing", name)
			case err != nil:
				r.Errorf(modelpkg.ErrMissingFile, name, "required file %s: %v", name, err)
			case !fi.Mode().IsRegular():
				r.Errorf(modelpkg.ErrMissingFile, name, "required file %s is not a regular file", name)
			}
		}
	})
}

// MetadataOptions configures [Metadata].
type MetadataOptions struct {
	// Limits bounds the file's size and nesting (nil: defaults).
	Limits *modelpkg.Limits
}

// Metadata parses the layout's metadata file: malformed JSON, a field of
// the wrong type or null, a bad created_at, and a model_type or version
// that is not one line of plain text (see modelpkg.CheckText: too long,
// control, line-break or bidirectional-override characters) are errors
// (invalid_metadata); a missing field is a warning
// (missing_metadata_field), as the specification asks. Any other field
// whose name, or any string within it, holds such characters (tabs and
// line breaks are fine inside strings) is a warning
// (unsafe_metadata_text), one per field. A missing file is left to
// [RequiredFiles].
func Metadata(opts *MetadataOptions) Validator {
	var lim *modelpkg.Limits
	if opts != nil {
		lim = opts.Limits
	}
	return Func(func(ctx context.Context, pkg *Package, r *Report) {
		name := layoutOf(pkg).MetadataFile
		md, err := readMetadata(pkg, name, lim)
		if errors.Is(err, fs.ErrNotExist) {
			return
		}
		if err != nil {
			r.AddError(name, err)
			return
		}
		for _, field := range md.Missing {
			r.Warnf(ErrMissingMetadataField, name, "%s has no %q field", name, field)
		}
		for _, field := range slices.Sorted(maps.Keys(md.Raw)) {
			if field == "model_type" || field == "version" {
				continue // checked by modelpkg.ParseMetadata
			}
			if err := unsafeText(field, md.Raw[field]); err != nil {
				r.Warnf(ErrUnsafeMetadataText, name, "%s: field %s %v; it is shown escaped", name, modelpkg.Excerpt(field), err)
			}
		}
	})
}

// maxFieldName bounds a metadata field's name, which the UI shows as a
// label.
const maxFieldName = 256

// unsafeText checks a top-level metadata field's name and every string in
// its value (object keys included), and returns the first problem.
func unsafeText(field string, raw json.RawMessage) error {
	if err := modelpkg.CheckText(field, maxFieldName); err != nil {
		return fmt.Errorf("has a name that %v", err)
	}
	if !utf8.Valid(raw) {
		return errors.New("is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // io.EOF; the file parsed as JSON already
		}
		str, ok := tok.(string)
		if !ok {
			continue
		}
		// Multi-line text (a description) is fine; escapes are not.
		plain := strings.Map(func(r rune) rune {
			if r == '\n' || r == '\r' || r == '\t' {
				return ' '
			}
			return r
		}, str)
		if err := modelpkg.CheckText(plain, 0); err != nil {
			return fmt.Errorf("has a string that %v", err)
		}
	}
}

func readMetadata(pkg *Package, name string, lim *modelpkg.Limits) (*modelpkg.Metadata, error) {
	f, err := pkg.FS.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return modelpkg.ParseMetadata(f, lim)
}

// VersionMatch checks that the version in the package's file or directory
// name agrees with metadata.version (invalid_metadata when not). It passes
// when either is unknown.
func VersionMatch() Validator {
	return Func(func(ctx context.Context, pkg *Package, r *Report) {
		if pkg.Version == "" {
			return
		}
		name := layoutOf(pkg).MetadataFile
		md, err := readMetadata(pkg, name, nil)
		if err != nil {
			return // reported by Metadata or RequiredFiles
		}
		if err := modelpkg.CheckVersion(pkg.Version, md); err != nil {
			r.AddError(name, err)
		}
	})
}

// ManifestOptions configures [Manifest] and [SHA256].
type ManifestOptions struct {
	// AllowUnlisted reports files that the manifest does not list as
	// warnings (unlisted_file) instead of errors (invalid_manifest).
	AllowUnlisted bool
	// Limits bounds the manifest's size and nesting (nil: defaults).
	Limits *modelpkg.Limits
	// Rehash makes SHA256 read and hash every file even when
	// Package.Digests already holds its digest.
	Rehash bool
}

// Manifest parses the layout's manifest and checks that it lists exactly
// the package's files: a listed file that is absent is missing_file, an
// unlisted one invalid_manifest (or a warning, see
// [ManifestOptions.AllowUnlisted]); a malformed manifest or a key that is
// not a canonical relative path is invalid_manifest.
func Manifest(opts *ManifestOptions) Validator {
	var o ManifestOptions
	if opts != nil {
		o = *opts
	}
	return Func(func(ctx context.Context, pkg *Package, r *Report) {
		name := layoutOf(pkg).ManifestFile
		m, err := readManifest(pkg, name, o.Limits)
		if errors.Is(err, fs.ErrNotExist) {
			return // reported by RequiredFiles
		}
		if err != nil {
			r.AddError(name, err)
			return
		}
		files, err := regularFiles(pkg.FS)
		if err != nil {
			r.AddError("", fmt.Errorf("%w: list files: %v", modelpkg.ErrInvalidArchive, err))
			return
		}
		present := map[string]bool{}
		for _, f := range files {
			present[f] = true
			if f == name || f == name+modelpkg.SignatureSuffix {
				continue
			}
			if _, ok := m.FileHashes[f]; !ok {
				if o.AllowUnlisted {
					r.Warnf(ErrUnlistedFile, f, "%s is not listed in %s", f, name)
				} else {
					r.Errorf(modelpkg.ErrInvalidManifest, f, "%s is not listed in %s", f, name)
				}
			}
		}
		for _, f := range slices.Sorted(maps.Keys(m.FileHashes)) {
			if !present[f] {
				r.Errorf(modelpkg.ErrMissingFile, f, "%s is listed in %s but missing", f, name)
			}
		}
	})
}

// SHA256 checks every file the manifest lists against its digest
// (hash_mismatch). It uses the digests in Package.Digests, computed while
// the package was extracted, and reads only files without one (or every
// file with [ManifestOptions.Rehash]).
func SHA256(opts *ManifestOptions) Validator {
	var o ManifestOptions
	if opts != nil {
		o = *opts
	}
	return Func(func(ctx context.Context, pkg *Package, r *Report) {
		name := layoutOf(pkg).ManifestFile
		m, err := readManifest(pkg, name, o.Limits)
		if err != nil {
			return // reported by Manifest or RequiredFiles
		}
		for _, f := range slices.Sorted(maps.Keys(m.FileHashes)) {
			if ctxDone(ctx, r) {
				return
			}
			want := m.FileHashes[f]
			got, ok := pkg.Digests[f]
			if !ok || o.Rehash {
				got, err = hashFile(ctx, pkg.FS, f)
				if errors.Is(err, fs.ErrNotExist) {
					continue // reported by Manifest
				}
				if archiveFailure(r, f, err) {
					continue
				}
				if err != nil {
					r.Errorf(modelpkg.ErrHashMismatch, f, "%s: cannot hash: %v", f, err)
					continue
				}
			}
			if got != want {
				r.Errorf(modelpkg.ErrHashMismatch, f, "%s: sha256 is %s, manifest says %s", f, got, want)
			}
		}
	})
}

// archiveFailure reports err under its own code (invalid_archive,
// resource_limit) if reading a file failed because the archive is corrupt
// (a CRC-32 or size that does not match) or a limit was hit, and returns
// true then: such a failure is the same diagnosis an import gives, not a
// finding about the file's content.
func archiveFailure(r *Report, path string, err error) bool {
	if errors.Is(err, modelpkg.ErrInvalidArchive) || errors.Is(err, modelpkg.ErrResourceLimit) {
		r.AddError(path, err)
		return true
	}
	return false
}

func readManifest(pkg *Package, name string, lim *modelpkg.Limits) (*modelpkg.Manifest, error) {
	f, err := pkg.FS.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return modelpkg.ParseManifest(f, lim)
}

func hashFile(ctx context.Context, fsys fs.FS, name string) (string, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, ctxio.Reader(ctx, f)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// regularFiles lists the package's regular files, sorted.
func regularFiles(fsys fs.FS) ([]string, error) {
	var out []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	slices.Sort(out)
	return out, err
}

// LoadTest returns a validator that calls load, the host's own loader,
// on the package; an error is a load_failed finding. It is how the
// specification's "test load" is done without Python: the host loads the
// model the way it will serve it.
func LoadTest(load func(ctx context.Context, pkg *Package) error) Validator {
	return Func(func(ctx context.Context, pkg *Package, r *Report) {
		if err := load(ctx, pkg); err != nil {
			r.Errorf(ErrLoadFailed, layoutOf(pkg).ModelFile, "load test failed: %v", err)
		}
	})
}

// ModelLoadOptions configures [ModelLoad].
type ModelLoadOptions struct {
	// Runtime configures the scikit-learn runtime (nil: defaults).
	Runtime *sklearn.Options
}

// ModelLoad is the specification's test load, done in pure Go: it loads
// the layout's model file with the scikit-learn runtime
// (modelpkg/sklearn), records the loaded class in [Report.ModelType]
// (type(model).__name__), warns when metadata.model_type disagrees
// (model_type_mismatch), and predicts one row of zeros to catch a model
// that loads but cannot run. A model the runtime cannot load is
// load_failed; a supported pickle holding an estimator the runtime does
// not implement is a load_skipped warning. A file the pickle scan refuses
// is left to [PickleScan], a missing one to [RequiredFiles].
func ModelLoad(opts *ModelLoadOptions) Validator {
	var o ModelLoadOptions
	if opts != nil {
		o = *opts
	}
	return Func(func(ctx context.Context, pkg *Package, r *Report) {
		layout := layoutOf(pkg)
		name := layout.ModelFile
		if name == "" {
			return
		}
		var m *sklearn.Model
		var err error
		if po := runtimePickleOptions(o.Runtime); pkg.shared.serves(name, &po, false) {
			// The graph PickleScan approved in this Standard call.
			var v pickle.Value
			if v, _, err = pkg.shared.load(ctx, pkg.FS); err != nil {
				ctxDone(ctx, r)
				return // reported by PickleScan or RequiredFiles
			}
			m, err = sklearn.FromValue(v)
		} else {
			f, oerr := pkg.FS.Open(name)
			if oerr != nil {
				return // reported by RequiredFiles
			}
			defer f.Close()
			m, err = sklearn.LoadWith(ctx, f, o.Runtime)
		}
		switch {
		case ctxDone(ctx, r):
			return
		case errors.Is(err, sklearn.ErrUnsafe):
			return // reported by PickleScan
		case errors.Is(err, sklearn.ErrUnsupported):
			r.Warnf(ErrLoadSkipped, name, "test load skipped: %v", err)
			return
		case err != nil:
			r.Errorf(ErrLoadFailed, name, "test load failed: %v", err)
			return
		}
		r.ModelType = m.ClassName()
		if md, err := readMetadata(pkg, layout.MetadataFile, nil); err == nil && md.ModelType != "" && md.ModelType != m.ClassName() {
			r.Warnf(ErrModelTypeMismatch, layout.MetadataFile, "metadata.model_type is %q, the model is a %s", md.ModelType, m.ClassName())
		}
		if err := predictZeros(m); err != nil {
			r.Errorf(ErrLoadFailed, name, "test prediction on a row of zeros failed: %v", err)
		}
	})
}

// runtimePickleOptions are the pickle machine's options sklearn.LoadWith
// uses for opts.
func runtimePickleOptions(opts *sklearn.Options) pickle.Options {
	var po pickle.Options
	if opts != nil {
		po.Budget, po.MaxDecompressedSize = opts.Budget, opts.MaxDecompressedSize
	}
	return po
}

// predictZeros predicts one row of zeros. Input errors (a string column
// needs a category, not a zero) say nothing about the model and pass.
func predictZeros(m *sklearn.Model) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	row := make([]any, m.NFeatures())
	for i := range row {
		row[i] = 0.0
	}
	_, err = m.PredictRows([][]any{row})
	if errors.Is(err, sklearn.ErrNotNumber) || errors.Is(err, sklearn.ErrUnknownCategory) || errors.Is(err, sklearn.ErrMissingValue) {
		return nil
	}
	return err
}

// Options configures [Standard].
type Options struct {
	// Layout is the package layout (nil: the package's, else the default).
	Layout *modelpkg.Layout
	// Manifest configures the manifest and SHA-256 checks.
	Manifest ManifestOptions
	// Pickle configures the pickle/joblib safety scan.
	Pickle *PickleOptions
	// ModelLoad configures the test load with the scikit-learn runtime.
	ModelLoad *ModelLoadOptions
	// SkipModelLoad leaves the test load out (for hosts that load the
	// model with their own [LoadTest]).
	SkipModelLoad bool
	// Signature configures the signature check: nil verifies a signature
	// when present; a Policy requires a trusted one.
	Signature *SignatureOptions
	// Extra validators run after the standard ones.
	Extra []Validator
}

// Default returns the validators the package specification asks for:
// required files, metadata, version agreement, manifest, SHA-256 of every
// file, the static pickle/joblib safety scan of the model, and the test
// load with the pure-Go scikit-learn runtime ([ModelLoad]). It never
// executes package code.
func Default(layout *modelpkg.Layout) Validator {
	return Standard(&Options{Layout: layout})
}

// Standard is [Default] with options. Within one call, [PickleScan] and
// [ModelLoad] parse the model file once when they read it with the same
// limits: the scan's joblib reading (its value graph) is the test load's
// input, and the graph is dropped when the call returns. The scan still
// reads the file a second time as pickle.load would. A class the host
// allows (PickleOptions.Allow) is then seen by the test load too: a model
// of such a class is a load_skipped warning.
func Standard(opts *Options) Validator {
	var o Options
	if opts != nil {
		o = *opts
	}
	vs := []Validator{
		RequiredFiles(o.Layout),
		Manifest(&o.Manifest),
		SHA256(&o.Manifest),
		Metadata(&MetadataOptions{Limits: o.Manifest.Limits}),
		VersionMatch(),
		PickleScan(o.Pickle),
		Signature(o.Signature),
	}
	if !o.SkipModelLoad {
		vs = append(vs, ModelLoad(o.ModelLoad))
	}
	vs = append(vs, o.Extra...)
	inner := All(vs...)
	share := !o.SkipModelLoad && sharedOptions(o.Pickle, o.ModelLoad)
	if o.Layout == nil && !share {
		return inner
	}
	return Func(func(ctx context.Context, pkg *Package, r *Report) {
		p := *pkg
		if o.Layout != nil {
			p.Layout = o.Layout
		}
		if share {
			// The scan and the test load parse the model file once; the
			// graph goes when this call returns.
			p.shared = newSharedModel(layoutOf(&p).ModelFile, *scanOptions(o.Pickle))
		}
		inner.Validate(ctx, &p, r)
	})
}

// sharedOptions reports whether the scan and the test load read the model
// file with the same limits, so that one parse serves both.
func sharedOptions(scan *PickleOptions, load *ModelLoadOptions) bool {
	var rt *sklearn.Options
	if load != nil {
		rt = load.Runtime
	}
	so, lo := scanOptions(scan), runtimePickleOptions(rt)
	return so.Budget == lo.Budget && so.MaxDecompressedSize == lo.MaxDecompressedSize
}
