package pickle

import "strings"

// classSchema is the BUILD schema of an instantiable class: its
// attribute names, and whether an instance may be a file's root.
type classSchema struct {
	root bool
	keys map[string]bool
	any  bool // a host class (Options.Allow): any non-method, non-dunder key
}

func (c *classSchema) has(k string) bool { return c.any || c.keys[k] }

// hostClass is the schema of a class the host allowed.
var hostClass = classSchema{root: true, any: true}

// reducedSchema is a class scikit-learn pickles with __reduce__ (a
// Cython extension type): called by REDUCE with a fixed argument shape,
// then optionally given a dict state.
type reducedSchema struct {
	desc string
	args func([]Value) bool
	// class, for reconstructors that make an instance of a class passed
	// as an argument (newObj(KDTree)), checks the arguments and returns
	// the class.
	class func([]Value) (Global, bool)
	// state lists the keys of a dict state, tuple checks a tuple state;
	// neither: no BUILD.
	state map[string]bool
	tuple func(*Tuple) bool
}

func keySet(s string) map[string]bool {
	out := make(map[string]bool)
	for _, k := range strings.Fields(s) {
		out[k] = true
	}
	return out
}

func isInt(v Value) bool   { _, ok := v.(int64); return ok }
func isFloat(v Value) bool { _, ok := v.(float64); return ok }
func isArray(v Value) bool { _, ok := v.(*Array); return ok }

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

// classes maps every instantiable class to its BUILD schema.
var classes = func() map[Global]*classSchema {
	out := make(map[Global]*classSchema, len(sklearnClasses))
	for _, c := range sklearnClasses {
		keys := keySet(c.keys)
		if keys["_sklearn_version"] {
			// Every BaseEstimator: attributes fit and set_output add to
			// any estimator (feature_names_in_ when fitted on named
			// columns, _sklearn_output_config since 1.2).
			for k := range keySet(estimatorKeys) {
				keys[k] = true
			}
		}
		out[c.g] = &classSchema{root: c.root, keys: keys}
	}
	return out
}()

// estimatorKeys are attributes any scikit-learn estimator may have.
const estimatorKeys = "_sklearn_version feature_names_in_ n_features_in_ _sklearn_output_config"

// classArgs are classes that appear only as arguments of their own
// reconstructors (Cython types); they are values, never called directly.
var classArgs = map[Global]bool{}

func oneOf(gs ...Global) func([]Value) (Global, bool) {
	for _, g := range gs {
		classArgs[g] = true
	}
	return func(a []Value) (Global, bool) {
		if len(a) != 1 {
			return Global{}, false
		}
		for _, g := range gs {
			if a[0] == g {
				return g, true
			}
		}
		return Global{}, false
	}
}

// pyxUnpickle is Cython's __pyx_unpickle_X(X, checksum, state): it makes
// an X and sets its C fields from a tuple of numbers.
func pyxUnpickle(g Global) func([]Value) (Global, bool) {
	classArgs[g] = true
	return func(a []Value) (Global, bool) {
		if len(a) != 3 || a[0] != g || !isInt(a[1]) {
			return Global{}, false
		}
		t, ok := a[2].(*Tuple)
		if !ok || len(t.Items) > 16 {
			return Global{}, false
		}
		for _, x := range t.Items {
			switch x.(type) {
			case nil, int64, float64, bool:
			default:
				return Global{}, false
			}
		}
		return g, true
	}
}

func floats(n ...int) func([]Value) bool {
	return func(a []Value) bool {
		ok := false
		for _, k := range n {
			ok = ok || len(a) == k
		}
		for _, x := range a {
			ok = ok && isFloat(x)
		}
		return ok
	}
}

func sgdLoss(name string, n ...int) (Global, *reducedSchema) {
	return Global{"sklearn.linear_model._sgd_fast", name}, &reducedSchema{desc: name + "(float...)", args: floats(n...)}
}

var (
	gKDTree   = Global{"sklearn.neighbors._kd_tree", "KDTree"}
	gBallTree = Global{"sklearn.neighbors._ball_tree", "BallTree"}
)

// distanceMetrics are the metrics a KDTree or BallTree may hold; never
// PyFuncDistance, which calls a Python function.
var distanceMetrics = []Global{
	{"sklearn.metrics._dist_metrics", "EuclideanDistance"},
	{"sklearn.metrics._dist_metrics", "ManhattanDistance"},
	{"sklearn.metrics._dist_metrics", "ChebyshevDistance"},
	{"sklearn.metrics._dist_metrics", "MinkowskiDistance"},
	{"sklearn.metrics._dist_metrics", "EuclideanDistance64"},
	{"sklearn.metrics._dist_metrics", "ManhattanDistance64"},
	{"sklearn.metrics._dist_metrics", "ChebyshevDistance64"},
	{"sklearn.metrics._dist_metrics", "MinkowskiDistance64"},
}

// reduced lists the __reduce__ reconstructors.
var reduced = func() map[Global]*reducedSchema {
	out := map[Global]*reducedSchema{
		{"sklearn.tree._tree", "Tree"}: {
			desc:  "Tree(n_features int, n_classes array, n_outputs int)",
			args:  func(a []Value) bool { return len(a) == 3 && isInt(a[0]) && isArray(a[1]) && isInt(a[2]) },
			state: keySet("max_depth node_count nodes values"),
		},
		{"sklearn.neighbors._kd_tree", "newObj"}:    {desc: "newObj(KDTree)", class: oneOf(gKDTree), tuple: treeState},
		{"sklearn.neighbors._ball_tree", "newObj"}:  {desc: "newObj(BallTree)", class: oneOf(gBallTree), tuple: treeState},
		{"sklearn.metrics._dist_metrics", "newObj"}: {desc: "newObj(a distance metric)", class: oneOf(distanceMetrics...), tuple: metricState},
	}
	for _, l := range []struct {
		name string
		n    []int
	}{{"Hinge", []int{1}}, {"SquaredHinge", []int{1}}, {"Log", []int{0}}, {"ModifiedHuber", []int{0}},
		{"SquaredLoss", []int{0}}, {"Huber", []int{1}}, {"EpsilonInsensitive", []int{1}},
		{"SquaredEpsilonInsensitive", []int{1}}} {
		g, r := sgdLoss(l.name, l.n...)
		out[g] = r
	}
	for _, name := range []string{"CyHalfSquaredError", "CyAbsoluteError", "CyPinballLoss", "CyHalfPoissonLoss",
		"CyHalfGammaLoss", "CyHalfTweedieLoss", "CyHalfTweedieLossIdentity", "CyHalfBinomialLoss", "CyHalfMultinomialLoss"} {
		g := Global{"sklearn._loss._loss", name}
		out[Global{"sklearn._loss._loss", "__pyx_unpickle_" + name}] = &reducedSchema{desc: "__pyx_unpickle_" + name + "(" + name + ", int, tuple of numbers)", class: pyxUnpickle(g)}
	}
	return out
}()

// treeState is KDTree/BallTree.__getstate__: arrays, ints and a distance
// metric (12 items in scikit-learn 1.2, 14 since 1.3 with sample weights).
func treeState(t *Tuple) bool {
	if len(t.Items) < 12 || len(t.Items) > 14 {
		return false
	}
	for _, x := range t.Items {
		switch y := x.(type) {
		case nil, int64, float64, *Array:
		case *Object:
			ok := false
			for _, g := range distanceMetrics {
				ok = ok || y.Class == g
			}
			if !ok {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// metricState is DistanceMetric.__getstate__: (p, vec, mat).
func metricState(t *Tuple) bool {
	if len(t.Items) != 3 || !isFloat(t.Items[0]) {
		return false
	}
	return isArray(t.Items[1]) && isArray(t.Items[2])
}
