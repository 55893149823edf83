package sklearn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"slices"
	"strings"

	"github.com/modelvault/modelvault/internal/pickle"
)

// Options configures [LoadWith]. The zero value is safe.
type Options struct {
	// Budget bounds, in bytes, what parsing the file may allocate or
	// expand (0: the pickle machine's default).
	Budget int64
	// MaxDecompressedSize bounds the decompressed size of a compressed
	// joblib file (0: the pickle machine's default).
	MaxDecompressedSize int64
}

// Load reads a joblib (or pickle) file holding a supported scikit-learn
// estimator. The file is parsed by the same restricted machine as the
// package scan: nothing in it is executed, and a file the scan would
// refuse is refused (the error wraps ErrUnsafe).
func Load(r io.Reader) (*Model, error) { return LoadWith(context.Background(), r, nil) }

// ErrUnsafe: the pickle machine refused the file (a global outside its
// policy, a malformed stream, a budget exceeded). The wrapped error is the
// machine's, with its details.
var ErrUnsafe = errors.New("sklearn: file refused by the pickle scan")

// LoadWith is [Load] with a context and options (nil: defaults).
func LoadWith(ctx context.Context, r io.Reader, opts *Options) (*Model, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	po := &pickle.Options{}
	if opts != nil {
		po.Budget = opts.Budget
		po.MaxDecompressedSize = opts.MaxDecompressedSize
	}
	v, _, err := pickle.Load(ctx, r, po)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", ErrUnsafe, err)
	}
	return FromValue(v)
}

// LoadFS loads the file name of fsys (model.joblib in a package), for a
// host's registry loader:
//
//	registry.LoaderFunc[*sklearn.Model](func(ctx context.Context, p *registry.Package) (*sklearn.Model, error) {
//		return sklearn.LoadFS(ctx, p.FS, "model.joblib", nil)
//	})
//
// Reading the file to its end through a registry package's FS verifies
// its digest.
func LoadFS(ctx context.Context, fsys fs.FS, name string, opts *Options) (*Model, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := LoadWith(ctx, f, opts)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	// Drain what the parser did not need, so a verifying FS checks the
	// whole file.
	if _, err := io.Copy(io.Discard, f); err != nil {
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	return m, nil
}

// FromValue builds a model from a value graph approved by the pickle
// machine (internal/pickle.Load's result).
func FromValue(v pickle.Value) (*Model, error) {
	root, err := asObj(v, "the file's root")
	if err != nil {
		return nil, err
	}
	m := &Model{}
	if err := m.build(root); err != nil {
		return nil, err
	}
	return m, nil
}

// supported lists the classes the runtime implements.
var supported = []string{
	"ColumnTransformer", "DecisionTreeClassifier", "DecisionTreeRegressor", "ElasticNet",
	"ExtraTreeClassifier", "ExtraTreeRegressor", "ExtraTreesClassifier", "ExtraTreesRegressor",
	"GaussianNB", "GradientBoostingClassifier", "GradientBoostingRegressor",
	"HistGradientBoostingClassifier", "HistGradientBoostingRegressor", "KNeighborsClassifier",
	"KNeighborsRegressor", "Lasso", "LinearRegression", "LinearSVC", "LinearSVR",
	"LogisticRegression", "MLPClassifier", "MLPRegressor", "MaxAbsScaler", "MinMaxScaler", "MissingIndicator",
	"OneHotEncoder", "PCA", "Perceptron", "Pipeline", "PolynomialFeatures", "RandomForestClassifier",
	"RandomForestRegressor", "Ridge", "RidgeClassifier", "RobustScaler", "SGDClassifier",
	"SGDRegressor", "SVC", "SVR", "SimpleImputer", "StandardScaler",
}

// Supported returns the names of the scikit-learn classes the runtime
// loads (as a Pipeline's steps or on their own).
func Supported() []string { return append([]string(nil), supported...) }

func unsupported(o *obj) error {
	return fmt.Errorf("%w: %s (%s); supported: %s", ErrUnsupported, o.name, o.o.Class, strings.Join(supported, ", "))
}

// maxDepth bounds the nesting of pipelines and column transformers (a
// crafted graph may even contain itself).
const maxDepth = 16

// decodeValue decodes one estimator object into a transformer or an
// estimator; depth counts the enclosing composites.
func decodeValue(v pickle.Value, what string, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: %s: composites nested more than %d deep", ErrUnsupported, what, maxDepth)
	}
	o, err := asObj(v, what)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(o.o.Class.Module, "sklearn.") {
		return nil, unsupported(o)
	}
	switch o.name {
	case "LinearRegression", "Ridge", "Lasso", "ElasticNet", "SGDRegressor", "LinearSVR":
		return decodeLinearRegressor(o)
	case "LogisticRegression", "RidgeClassifier", "SGDClassifier", "LinearSVC", "Perceptron":
		return decodeLinearClassifier(o)
	case "DecisionTreeClassifier", "DecisionTreeRegressor", "ExtraTreeClassifier", "ExtraTreeRegressor",
		"RandomForestClassifier", "RandomForestRegressor", "ExtraTreesClassifier", "ExtraTreesRegressor":
		return decodeTreeModel(o)
	case "GradientBoostingClassifier", "GradientBoostingRegressor":
		return decodeGradientBoosting(o)
	case "HistGradientBoostingClassifier", "HistGradientBoostingRegressor":
		return decodeHGB(o)
	case "KNeighborsClassifier", "KNeighborsRegressor":
		return decodeKNN(o)
	case "GaussianNB":
		return decodeGaussianNB(o)
	case "SVC", "SVR":
		return decodeSVM(o)
	case "MLPClassifier", "MLPRegressor":
		return decodeMLP(o)
	case "StandardScaler", "MinMaxScaler", "MaxAbsScaler", "RobustScaler":
		return decodeScaler(o)
	case "SimpleImputer":
		return decodeImputer(o)
	case "MissingIndicator":
		return decodeMissingIndicator(o)
	case "PolynomialFeatures":
		return decodePoly(o)
	case "PCA":
		return decodePCA(o)
	case "OneHotEncoder":
		return decodeOneHot(o)
	case "ColumnTransformer":
		return decodeColumnTransformer(o, depth)
	case "Pipeline":
		steps, err := pipelineSteps(o)
		if err != nil {
			return nil, err
		}
		var chain chainTransformer
		for i, sv := range steps {
			d, err := decodeValue(sv, fmt.Sprintf("%s.steps[%d]", what, i), depth+1)
			if err != nil {
				return nil, err
			}
			tr, ok := d.(transformer)
			if !ok {
				return nil, fmt.Errorf("%w: %s: a nested Pipeline ending in a predictor", ErrUnsupported, what)
			}
			chain = append(chain, tr)
		}
		return chain, nil
	}
	return nil, unsupported(o)
}

// maxSteps bounds a pipeline's length.
const maxSteps = 256

// chainTransformer is a Pipeline of transformers nested in a composite.
type chainTransformer []transformer

func (c chainTransformer) transform(t *table) (*table, error) {
	var err error
	for _, s := range c {
		if t, err = s.transform(t); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// pipelineSteps returns a Pipeline's estimators, skipping None and
// "passthrough".
func pipelineSteps(o *obj) ([]pickle.Value, error) {
	sv, err := o.get("steps")
	if err != nil {
		return nil, err
	}
	list, ok := items(sv)
	if !ok || len(list) == 0 || len(list) > maxSteps {
		return nil, o.errf("steps", "want a list of (name, estimator)")
	}
	var out []pickle.Value
	for i, s := range list {
		tup, ok := items(s)
		if !ok || len(tup) != 2 {
			return nil, o.errf("steps", "step %d is not (name, estimator)", i)
		}
		if tup[1] == nil {
			continue
		}
		if str, ok := tup[1].(string); ok && str == "passthrough" {
			continue
		}
		out = append(out, tup[1])
	}
	if len(out) == 0 {
		return nil, o.errf("steps", "no estimator")
	}
	return out, nil
}

func (m *Model) build(root *obj) error {
	cls, ok := classOf(root.name)
	if !ok {
		return unsupported(root)
	}
	m.class = cls
	stepVals := []pickle.Value{root.o}
	if root.name == "Pipeline" && strings.HasPrefix(root.o.Class.Module, "sklearn.") {
		var err error
		if stepVals, err = pipelineSteps(root); err != nil {
			return err
		}
	}
	var first *obj
	var steps []transformer
	nFeatures, nOutputs := -1, 1
	var outClasses [][]any
	for i, sv := range stepVals {
		d, err := decodeValue(sv, fmt.Sprintf("%s step %d", root.name, i), 1)
		if err != nil {
			return err
		}
		if i == 0 {
			first, _ = asObj(sv, "")
			if n, ok := d.(interface{ nIn() int }); ok {
				nFeatures = n.nIn()
			}
		}
		if i < len(stepVals)-1 {
			tr, ok := d.(transformer)
			if !ok {
				return fmt.Errorf("%w: %s step %d is not a transformer", ErrInvalidModel, root.name, i)
			}
			steps = append(steps, tr)
			continue
		}
		switch e := d.(type) {
		case classifier:
			m.final = e
		case regressor:
			m.final = e
		default:
			return fmt.Errorf("%w: %s ends in a transformer, not a predictor", ErrUnsupported, root.name)
		}
		if r, ok := d.(regressor); ok {
			nOutputs = r.nOut()
		}
		if mc, ok := d.(multiClassifier); ok && mc.outputs() > 1 {
			nOutputs, outClasses = mc.outputs(), mc.outputLabels()
		}
	}
	if nFeatures <= 0 {
		if n, err := first.int("n_features_in_"); err == nil && n > 0 {
			nFeatures = n
		} else {
			return fmt.Errorf("%w: the number of input features is unknown", ErrInvalidModel)
		}
	}
	if nFeatures > math.MaxInt32 {
		return fmt.Errorf("%w: %d input features", ErrInvalidModel, nFeatures)
	}
	m.nFeatures = int32(nFeatures)
	var names []string
	if fv := first.opt("feature_names_in_"); fv != nil {
		var err error
		names, err = strs(fv)
		if err != nil || len(names) != nFeatures {
			return first.errf("feature_names_in_", "want %d names", nFeatures)
		}
	}
	if steps != nil || names != nil || nOutputs != 1 {
		m.extra = &modelExtra{steps: slices.Clip(steps), featureNames: names, nOutputs: nOutputs, outClasses: outClasses}
	}
	return nil
}
