package picklescan

import "strings"

// Global names a Python global that a pickle looks up with GLOBAL,
// STACK_GLOBAL or INST: the module to import and the attribute to take from
// it. Scan compares both parts exactly; it never matches by prefix.
type Global struct {
	Module string
	Name   string
}

// String returns "module.name".
func (g Global) String() string { return g.Module + "." + g.Name }

// allowed is one entry of the built-in allowlist. Root says whether an
// instance of it may be the root object of a model file (an estimator),
// as opposed to a helper such as numpy.dtype.
type allowed struct {
	g    Global
	root bool
}

// defaultAllow is the built-in allowlist: the exact (module, name) pairs
// that scikit-learn, numpy and joblib write when a common estimator is
// pickled. Module paths are the ones the classes report in __module__
// (scikit-learn >= 0.22 names its modules with a leading underscore).
var defaultAllow = []allowed{
	// scikit-learn estimators.
	{Global{"sklearn.linear_model._logistic", "LogisticRegression"}, true},
	{Global{"sklearn.linear_model._logistic", "LogisticRegressionCV"}, true},
	{Global{"sklearn.linear_model._base", "LinearRegression"}, true},
	{Global{"sklearn.linear_model._ridge", "Ridge"}, true},
	{Global{"sklearn.linear_model._ridge", "RidgeClassifier"}, true},
	{Global{"sklearn.linear_model._coordinate_descent", "Lasso"}, true},
	{Global{"sklearn.linear_model._coordinate_descent", "ElasticNet"}, true},
	{Global{"sklearn.linear_model._stochastic_gradient", "SGDClassifier"}, true},
	{Global{"sklearn.linear_model._stochastic_gradient", "SGDRegressor"}, true},
	{Global{"sklearn.linear_model._perceptron", "Perceptron"}, true},
	{Global{"sklearn.tree._classes", "DecisionTreeClassifier"}, true},
	{Global{"sklearn.tree._classes", "DecisionTreeRegressor"}, true},
	{Global{"sklearn.tree._classes", "ExtraTreeClassifier"}, true},
	{Global{"sklearn.tree._classes", "ExtraTreeRegressor"}, true},
	{Global{"sklearn.tree._tree", "Tree"}, false},
	{Global{"sklearn.ensemble._forest", "RandomForestClassifier"}, true},
	{Global{"sklearn.ensemble._forest", "RandomForestRegressor"}, true},
	{Global{"sklearn.ensemble._forest", "ExtraTreesClassifier"}, true},
	{Global{"sklearn.ensemble._forest", "ExtraTreesRegressor"}, true},
	{Global{"sklearn.ensemble._gb", "GradientBoostingClassifier"}, true},
	{Global{"sklearn.ensemble._gb", "GradientBoostingRegressor"}, true},
	{Global{"sklearn.ensemble._gb_losses", "BinomialDeviance"}, false},
	{Global{"sklearn.ensemble._gb_losses", "MultinomialDeviance"}, false},
	{Global{"sklearn.ensemble._gb_losses", "LeastSquaresError"}, false},
	{Global{"sklearn.dummy", "DummyClassifier"}, true},
	{Global{"sklearn.dummy", "DummyRegressor"}, true},
	{Global{"sklearn.preprocessing._data", "StandardScaler"}, true},
	{Global{"sklearn.preprocessing._data", "MinMaxScaler"}, true},
	{Global{"sklearn.preprocessing._data", "MaxAbsScaler"}, true},
	{Global{"sklearn.preprocessing._data", "RobustScaler"}, true},
	{Global{"sklearn.preprocessing._data", "Normalizer"}, true},
	{Global{"sklearn.preprocessing._encoders", "OneHotEncoder"}, true},
	{Global{"sklearn.preprocessing._encoders", "OrdinalEncoder"}, true},
	{Global{"sklearn.preprocessing._label", "LabelEncoder"}, true},
	{Global{"sklearn.preprocessing._label", "LabelBinarizer"}, true},
	{Global{"sklearn.preprocessing._polynomial", "PolynomialFeatures"}, true},
	{Global{"sklearn.pipeline", "Pipeline"}, true},
	{Global{"sklearn.pipeline", "FeatureUnion"}, true},
	{Global{"sklearn.impute._base", "SimpleImputer"}, true},
	{Global{"sklearn.decomposition._pca", "PCA"}, true},
	{Global{"sklearn.decomposition._truncated_svd", "TruncatedSVD"}, true},
	{Global{"sklearn.svm._classes", "SVC"}, true},
	{Global{"sklearn.svm._classes", "SVR"}, true},
	{Global{"sklearn.svm._classes", "LinearSVC"}, true},
	{Global{"sklearn.svm._classes", "LinearSVR"}, true},
	{Global{"sklearn.naive_bayes", "GaussianNB"}, true},
	{Global{"sklearn.naive_bayes", "MultinomialNB"}, true},
	{Global{"sklearn.naive_bayes", "BernoulliNB"}, true},
	{Global{"sklearn.cluster._kmeans", "KMeans"}, true},

	// numpy arrays, dtypes and scalars, numpy 1 and numpy 2 spellings.
	{gNDArray, false},
	{gDtype, false},
	{Global{"numpy", "memmap"}, false},
	{gReconstruct1, false},
	{gReconstruct2, false},
	{gScalar1, false},
	{gScalar2, false},
	{Global{"numpy", "float64"}, false},
	{Global{"numpy", "float32"}, false},
	{Global{"numpy", "int64"}, false},
	{Global{"numpy", "int32"}, false},
	{Global{"numpy", "int8"}, false},
	{Global{"numpy", "uint8"}, false},
	{Global{"numpy", "bool_"}, false},
	{Global{"numpy", "str_"}, false},
	{Global{"numpy", "object_"}, false},
	{gRandomStateCtor, false},
	{gBitGeneratorCtor, false},
	{gGeneratorCtor, false},
	{Global{"numpy.random.mtrand", "RandomState"}, false},
	{Global{"numpy.random._mt19937", "MT19937"}, false},
	{Global{"numpy.random._pcg64", "PCG64"}, false},
	{Global{"numpy.random._pcg64", "PCG64DXSM"}, false},
	{Global{"numpy.random._philox", "Philox"}, false},
	{Global{"numpy.random._sfc64", "SFC64"}, false},

	// joblib's array placeholder, and the bytes constructor protocol 2 uses.
	{gArrayWrapper, false},
	{gCodecsEncode, false},

	// Built-in data types that protocols 0-3 write with REDUCE (b"" and
	// sets before protocol 4, slices in ColumnTransformer); bytes and
	// bytearray never with an int argument (a size).
	{gBytes, false},
	{gBytearray, false},
	{Global{"builtins", "set"}, false},
	{Global{"builtins", "frozenset"}, false},
	{Global{"builtins", "slice"}, false},
	{Global{"builtins", "complex"}, false},
}

// Globals with special meaning to the scanner.
var (
	gNDArray        = Global{"numpy", "ndarray"}
	gDtype          = Global{"numpy", "dtype"}
	gReconstruct1   = Global{"numpy.core.multiarray", "_reconstruct"}
	gReconstruct2   = Global{"numpy._core.multiarray", "_reconstruct"}
	gScalar1        = Global{"numpy.core.multiarray", "scalar"}
	gScalar2        = Global{"numpy._core.multiarray", "scalar"}
	gArrayWrapper   = Global{"joblib.numpy_pickle", "NumpyArrayWrapper"}
	gCodecsEncode   = Global{"_codecs", "encode"}
	gNDArrayCompat  = Global{"joblib.numpy_pickle_compat", "NDArrayWrapper"}
	gZNDArrayCompat = Global{"joblib.numpy_pickle_compat", "ZNDArrayWrapper"}

	gBytes     = Global{"builtins", "bytes"}
	gBytearray = Global{"builtins", "bytearray"}

	gRandomStateCtor  = Global{"numpy.random._pickle", "__randomstate_ctor"}
	gBitGeneratorCtor = Global{"numpy.random._pickle", "__bit_generator_ctor"}
	gGeneratorCtor    = Global{"numpy.random._pickle", "__generator_ctor"}
)

// bitGenerators are numpy's BitGenerator classes, which numpy 2 passes to
// its random state constructors.
var bitGenerators = map[Global]bool{
	{"numpy.random._mt19937", "MT19937"}: true,
	{"numpy.random._pcg64", "PCG64"}:     true,
	{"numpy.random._pcg64", "PCG64DXSM"}: true,
	{"numpy.random._philox", "Philox"}:   true,
	{"numpy.random._sfc64", "SFC64"}:     true,
}

// DefaultAllowlist returns the built-in allowlist as a fresh slice: common
// scikit-learn estimators and their trees and losses (with the module paths
// scikit-learn pickles, such as sklearn.linear_model._logistic), numpy's
// array, dtype and scalar reconstructors in both the numpy.core and numpy 2
// numpy._core spellings, numpy's random state constructors and bit
// generators, joblib.numpy_pickle.NumpyArrayWrapper, _codecs.encode, and the
// built-in data types old protocols build with REDUCE (bytes, bytearray,
// set, frozenset, slice, complex). Only the estimators may be a file's
// root object.
func DefaultAllowlist() []Global {
	out := make([]Global, len(defaultAllow))
	for i, a := range defaultAllow {
		out[i] = a.g
	}
	return out
}

// blocked explains why well-known dangerous globals are rejected. It only
// improves messages: anything not on the allowlist is rejected anyway.
var blockedModules = map[string]string{
	"os":         "runs operating system commands",
	"posix":      "runs operating system commands",
	"nt":         "runs operating system commands",
	"subprocess": "runs processes",
	"pty":        "runs processes",
	"runpy":      "runs Python code",
	"code":       "runs Python code",
	"importlib":  "imports arbitrary modules",
	"pkgutil":    "resolves arbitrary names",
	"pickle":     "loads nested pickles",
	"_pickle":    "loads nested pickles",
	"marshal":    "loads code objects",
	"shutil":     "touches files",
	"socket":     "opens network connections",
	"webbrowser": "opens URLs",
	"ctypes":     "calls native code",
	"sys":        "changes the interpreter",
	"types":      "builds code and functions",
	"operator":   "gets arbitrary attributes",
	"functools":  "composes arbitrary calls",
	"torch":      "not a scikit-learn model",
}

var blockedGlobals = map[Global]string{
	{"builtins", "eval"}:                          "evaluates Python code",
	{"builtins", "exec"}:                          "executes Python code",
	{"builtins", "compile"}:                       "compiles Python code",
	{"builtins", "getattr"}:                       "gets arbitrary attributes",
	{"builtins", "setattr"}:                       "sets arbitrary attributes",
	{"builtins", "__import__"}:                    "imports arbitrary modules",
	{"builtins", "open"}:                          "opens files",
	{"builtins", "breakpoint"}:                    "starts a debugger",
	{"numpy", "load"}:                             "loads files, pickles included",
	{"numpy.lib.npyio", "load"}:                   "loads files, pickles included",
	{"numpy", "loads"}:                            "loads pickles",
	{"numpy.testing._private.utils", "runstring"}: "executes Python code",
	{"joblib", "load"}:                            "loads pickles",
	{"joblib.numpy_pickle", "load"}:               "loads pickles",
	{"pkgutil", "resolve_name"}:                   "resolves arbitrary names",
	{"builtins", "apply"}:                         "calls arbitrary functions",
}

// whyBlocked returns a reason when g is known to be dangerous.
func whyBlocked(g Global) string {
	if r, ok := blockedGlobals[g]; ok {
		return r
	}
	m := g.Module
	if i := strings.IndexByte(m, '.'); i >= 0 {
		m = m[:i]
	}
	return blockedModules[m]
}
