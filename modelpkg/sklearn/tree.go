package sklearn

import (
	"fmt"
	"math"

	"github.com/modelvault/modelvault/internal/pickle"
)

// tree is sklearn.tree._tree.Tree, read from its pickled nodes by field
// name (so layouts with extra fields, such as scikit-learn 1.3's
// missing_go_to_left, load too).
type tree struct {
	left, right []int32
	feature     []int32
	threshold   []float64
	value       []float64 // node_count x stride
	prob        []float64 // value normalised per node (classifiers), as predict_proba divides
	stride      int       // max_n_classes (1 for regression)
	nOut        int       // n_outputs: value is node_count x nOut x stride
	nFeatures   int
}

func decodeTree(v pickle.Value, what string) (*tree, error) {
	o, err := asObj(v, what)
	if err != nil {
		return nil, err
	}
	if o.o.Class.Name != "Tree" {
		return nil, fmt.Errorf("%w: %s is %s, not a Tree", ErrInvalidModel, what, o.o.Class)
	}
	if len(o.o.Args) != 3 {
		return nil, o.errf("__reduce__", "%d arguments, want 3", len(o.o.Args))
	}
	nf, ok1 := toInt(o.o.Args[0])
	nOut, ok2 := toInt(o.o.Args[2])
	if !ok1 || !ok2 || nf <= 0 {
		return nil, o.errf("__reduce__", "bad n_features or n_outputs")
	}
	if nOut < 1 || nOut > 1<<16 {
		return nil, o.errf("__reduce__", "%d outputs", nOut)
	}
	count, err := o.int("node_count")
	if err != nil {
		return nil, err
	}
	nv, err := o.get("nodes")
	if err != nil {
		return nil, err
	}
	nodes, ok := nv.(*pickle.Array)
	if !ok || len(nodes.Shape) != 1 || nodes.Len() != count || count <= 0 {
		return nil, o.errf("nodes", "%s, want %d records", typeName(nv), count)
	}
	get := func(name string) ([]float64, error) {
		f, ok, err := field(nodes, name)
		if err != nil {
			return nil, o.errf("nodes", "%v", err)
		}
		if !ok {
			return nil, o.errf("nodes", "no field %q", name)
		}
		return f, nil
	}
	left, err := get("left_child")
	if err != nil {
		return nil, err
	}
	right, err := get("right_child")
	if err != nil {
		return nil, err
	}
	feat, err := get("feature")
	if err != nil {
		return nil, err
	}
	thr, err := get("threshold")
	if err != nil {
		return nil, err
	}
	vals, vshape, err := o.floats("values")
	if err != nil {
		return nil, err
	}
	if len(vshape) != 3 || vshape[0] != count || vshape[1] != nOut || vshape[2] <= 0 {
		return nil, o.errf("values", "shape %v for %d nodes", vshape, count)
	}
	t := &tree{
		left: make([]int32, count), right: make([]int32, count), feature: make([]int32, count),
		threshold: thr, value: vals, stride: vshape[2], nFeatures: nf, nOut: nOut,
	}
	for i := 0; i < count; i++ {
		l, r, f := left[i], right[i], feat[i]
		if l == -1 {
			if r != -1 {
				return nil, o.errf("nodes", "node %d has one child", i)
			}
			t.left[i], t.right[i] = -1, -1
			continue
		}
		// Children come after their parent: no cycles, every walk ends.
		if l <= float64(i) || r <= float64(i) || l >= float64(count) || r >= float64(count) || f < 0 || f >= float64(nf) {
			return nil, o.errf("nodes", "node %d: children %v, %v, feature %v out of range", i, l, r, f)
		}
		t.left[i], t.right[i], t.feature[i] = int32(l), int32(r), int32(f)
	}
	return t, nil
}

// leaf returns the leaf node x falls in; x is compared as float32, as
// scikit-learn does.
func (t *tree) leaf(x []float64) int {
	n := int32(0)
	for t.left[n] != -1 {
		if float64(float32(x[t.feature[n]])) <= t.threshold[n] {
			n = t.left[n]
		} else {
			n = t.right[n]
		}
	}
	return int(n)
}

// checkTreeInput checks a table for tree models: finite numbers that fit
// float32 (check_array with dtype float32 rejects the others).
func checkTreeInput(t *table, d int, who string) error {
	if err := checkInput(t, d, who, false); err != nil {
		return err
	}
	for i := 0; i < t.n; i++ {
		for j, x := range t.row(i) {
			if math.IsInf(float64(float32(x)), 0) {
				return fmt.Errorf("%w: %s: row %d column %d is too large for float32", ErrNotNumber, who, t.off+i, j)
			}
		}
	}
	return nil
}

// treeEstimator is a DecisionTree{Classifier,Regressor} object.
func treeOf(v pickle.Value, what string) (*tree, error) {
	o, err := asObj(v, what)
	if err != nil {
		return nil, err
	}
	if n := o.name; n != "DecisionTreeClassifier" && n != "DecisionTreeRegressor" &&
		n != "ExtraTreeClassifier" && n != "ExtraTreeRegressor" {
		return nil, fmt.Errorf("%w: %s is %s, not a decision tree", ErrInvalidModel, what, o.o.Class)
	}
	tv, err := o.get("tree_")
	if err != nil {
		return nil, err
	}
	return decodeTree(tv, what+".tree_")
}

// treeEnsemble: DecisionTree*, RandomForest*, ExtraTrees*. A single tree
// is an ensemble of one whose average is the tree itself.
type treeEnsemble struct {
	name      string
	trees     []*tree
	classes   []any
	nFeatures int
}

func (e *treeEnsemble) nIn() int      { return e.nFeatures }
func (e *treeEnsemble) labels() []any { return e.classes }

type treeClassifier struct{ *treeEnsemble }
type treeRegressor struct{ *treeEnsemble }

func decodeTreeModel(o *obj) (any, error) {
	e := &treeEnsemble{name: o.name}
	var err error
	switch o.name {
	case "DecisionTreeClassifier", "DecisionTreeRegressor", "ExtraTreeClassifier", "ExtraTreeRegressor":
		t, err := treeOf(o.o, o.name)
		if err != nil {
			return nil, err
		}
		e.trees = []*tree{t}
	default:
		ev, err := o.get("estimators_")
		if err != nil {
			return nil, err
		}
		list, ok := items(ev)
		if !ok || len(list) == 0 {
			return nil, o.errf("estimators_", "%s, want a list of trees", typeName(ev))
		}
		for i, tv := range list {
			t, err := treeOf(tv, fmt.Sprintf("%s.estimators_[%d]", o.name, i))
			if err != nil {
				return nil, err
			}
			e.trees = append(e.trees, t)
		}
	}
	if e.nFeatures, err = o.int("n_features_in_"); err != nil {
		return nil, err
	}
	for _, t := range e.trees {
		if t.nFeatures != e.nFeatures {
			return nil, o.errf("estimators_", "a tree of %d features in a model of %d", t.nFeatures, e.nFeatures)
		}
	}
	isClf := o.name == "DecisionTreeClassifier" || o.name == "ExtraTreeClassifier" ||
		o.name == "RandomForestClassifier" || o.name == "ExtraTreesClassifier"
	if n := e.trees[0].nOut; n > 1 {
		return decodeTreeMulti(o, e, isClf, n)
	}
	for _, t := range e.trees {
		if t.nOut != 1 {
			return nil, o.errf("estimators_", "trees of %d and %d outputs", e.trees[0].nOut, t.nOut)
		}
	}
	if !isClf {
		for _, t := range e.trees {
			if t.stride != 1 {
				return nil, o.errf("tree_", "regression tree values of width %d", t.stride)
			}
		}
		return &treeRegressor{e}, nil
	}
	if e.classes, err = classesOf(o); err != nil {
		return nil, err
	}
	for _, t := range e.trees {
		if t.stride != len(e.classes) {
			return nil, o.errf("tree_", "values for %d classes, classes_ has %d", t.stride, len(e.classes))
		}
		// predict_proba's normalisation, done once per node with the
		// same operations, so the bits are the same.
		k := t.stride
		t.prob = make([]float64, len(t.value))
		for n := 0; n*k < len(t.value); n++ {
			v := t.value[n*k : (n+1)*k]
			norm := pairwiseSum(v)
			if norm == 0 {
				norm = 1
			}
			for j, x := range v {
				t.prob[n*k+j] = x / norm
			}
		}
	}
	return &treeClassifier{e}, nil
}

func (c *treeClassifier) proba(t *table, out []float64) error {
	if err := checkTreeInput(t, c.nFeatures, c.name); err != nil {
		return err
	}
	k := len(c.classes)
	for i := 0; i < t.n; i++ {
		x := t.row(i)
		r := out[i*k : (i+1)*k]
		for _, tr := range c.trees {
			leaf := tr.leaf(x)
			for j, p := range tr.prob[leaf*k : (leaf+1)*k] {
				r[j] += p
			}
		}
		if len(c.trees) > 1 {
			for j := range r {
				r[j] /= float64(len(c.trees))
			}
		}
	}
	return nil
}

func (c *treeClassifier) predictIdx(t *table, out []int) error {
	k := len(c.classes)
	if len(c.trees) == 1 {
		// DecisionTreeClassifier.predict takes the argmax of the raw
		// leaf values.
		if err := checkTreeInput(t, c.nFeatures, c.name); err != nil {
			return err
		}
		tr := c.trees[0]
		for i := range out {
			leaf := tr.leaf(t.row(i))
			out[i] = argmax(tr.value[leaf*k : (leaf+1)*k])
		}
		return nil
	}
	p := make([]float64, t.n*k)
	if err := c.proba(t, p); err != nil {
		return err
	}
	for i := range out {
		out[i] = argmax(p[i*k : (i+1)*k])
	}
	return nil
}

func (r *treeRegressor) nOut() int { return 1 }

func (r *treeRegressor) predictValues(t *table, out []float64) error {
	if err := checkTreeInput(t, r.nFeatures, r.name); err != nil {
		return err
	}
	for i := range out {
		x := t.row(i)
		s := 0.0
		for _, tr := range r.trees {
			s += tr.value[tr.leaf(x)]
		}
		if len(r.trees) > 1 {
			s /= float64(len(r.trees))
		}
		out[i] = s
	}
	return nil
}

// gradientBoosting: GradientBoosting{Classifier,Regressor}.
type gradientBoosting struct {
	name      string
	stages    [][]*tree // n_stages x K
	k         int
	lr        float64
	init      []float64 // raw prediction before the first stage (K)
	classes   []any
	nFeatures int
	binary    bool
	exp       bool // ExponentialLoss: probabilities from expit(2 raw)
}

type gbClassifier struct{ *gradientBoosting }
type gbRegressor struct{ *gradientBoosting }

func (g *gradientBoosting) nIn() int      { return g.nFeatures }
func (g *gradientBoosting) labels() []any { return g.classes }

func decodeGradientBoosting(o *obj) (any, error) {
	g := &gradientBoosting{name: o.name}
	var err error
	if g.nFeatures, err = o.int("n_features_in_"); err != nil {
		return nil, err
	}
	if g.lr, err = o.float("learning_rate"); err != nil {
		return nil, err
	}
	ev, err := o.get("estimators_")
	if err != nil {
		return nil, err
	}
	arr, ok := ev.(*pickle.Array)
	if !ok || len(arr.Shape) != 2 || arr.Shape[0] <= 0 || arr.Shape[1] <= 0 {
		return nil, o.errf("estimators_", "%s, want a 2-D object array", typeName(ev))
	}
	list, ok := items(arr)
	if !ok {
		return nil, o.errf("estimators_", "not an object array")
	}
	g.k = arr.Shape[1]
	for i := 0; i < arr.Shape[0]; i++ {
		stage := make([]*tree, g.k)
		for j := range stage {
			t, err := treeOf(list[i*g.k+j], fmt.Sprintf("%s.estimators_[%d,%d]", o.name, i, j))
			if err != nil {
				return nil, err
			}
			if t.stride != 1 || t.nOut != 1 || t.nFeatures != g.nFeatures {
				return nil, o.errf("estimators_", "stage %d: not a regression tree of %d features", i, g.nFeatures)
			}
			stage[j] = t
		}
		g.stages = append(g.stages, stage)
	}
	lossV, err := o.get("_loss")
	if err != nil {
		return nil, err
	}
	lo, err := asObj(lossV, o.name+"._loss")
	if err != nil {
		return nil, err
	}
	initV, err := o.get("init_")
	if err != nil {
		return nil, err
	}
	g.init = make([]float64, g.k)
	isZero := false
	if s, ok := initV.(string); ok && s == "zero" {
		isZero = true
	}
	if o.name == "GradientBoostingRegressor" {
		if g.k != 1 {
			return nil, o.errf("estimators_", "%d columns for a regressor", g.k)
		}
		switch lo.name {
		case "LeastSquaresError", "LeastAbsoluteError", "HuberLossFunction", "QuantileLossFunction":
		default:
			return nil, fmt.Errorf("%w: GradientBoostingRegressor with loss %s", ErrUnsupported, lo.name)
		}
		if !isZero {
			io, err := asObj(initV, o.name+".init_")
			if err != nil {
				return nil, err
			}
			if io.name != "DummyRegressor" {
				return nil, fmt.Errorf("%w: GradientBoostingRegressor with init %s", ErrUnsupported, io.name)
			}
			c, err := io.vec("constant_", 1)
			if err != nil {
				return nil, err
			}
			g.init[0] = c[0]
		}
		return &gbRegressor{g}, nil
	}
	if g.classes, err = classesOf(o); err != nil {
		return nil, err
	}
	switch lo.name {
	case "BinomialDeviance", "ExponentialLoss":
		g.binary, g.exp = true, lo.name == "ExponentialLoss"
		if g.k != 1 || len(g.classes) != 2 {
			return nil, o.errf("estimators_", "binomial deviance with %d columns, %d classes", g.k, len(g.classes))
		}
	case "MultinomialDeviance":
		if g.k != len(g.classes) {
			return nil, o.errf("estimators_", "%d columns for %d classes", g.k, len(g.classes))
		}
	default:
		return nil, fmt.Errorf("%w: GradientBoostingClassifier with loss %s", ErrUnsupported, lo.name)
	}
	if !isZero {
		io, err := asObj(initV, o.name+".init_")
		if err != nil {
			return nil, err
		}
		if io.name != "DummyClassifier" {
			return nil, fmt.Errorf("%w: GradientBoostingClassifier with init %s", ErrUnsupported, io.name)
		}
		if s, _ := io.strOr("_strategy", "prior"); s != "prior" {
			return nil, fmt.Errorf("%w: GradientBoostingClassifier with a DummyClassifier init of strategy %q", ErrUnsupported, s)
		}
		prior, err := io.vec("class_prior_", len(g.classes))
		if err != nil {
			return nil, err
		}
		const eps = 1.1920928955078125e-07 // np.finfo(np.float32).eps
		clip := func(p float64) float64 { return math.Min(math.Max(p, eps), 1-eps) }
		switch {
		case g.exp:
			p := clip(prior[1])
			g.init[0] = 0.5 * math.Log(p/(1-p))
		case g.binary:
			p := clip(prior[1])
			g.init[0] = math.Log(p / (1 - p))
		default:
			for j := range g.init {
				g.init[j] = math.Log(clip(prior[j]))
			}
		}
	}
	return &gbClassifier{g}, nil
}

func (g *gradientBoosting) raw(t *table, out []float64) error {
	if err := checkTreeInput(t, g.nFeatures, g.name); err != nil {
		return err
	}
	for i := 0; i < t.n; i++ {
		x := t.row(i)
		r := out[i*g.k : (i+1)*g.k]
		copy(r, g.init)
		for _, stage := range g.stages {
			for j, tr := range stage {
				r[j] += g.lr * tr.value[tr.leaf(x)]
			}
		}
	}
	return nil
}

func (r *gbRegressor) nOut() int { return 1 }

func (r *gbRegressor) predictValues(t *table, out []float64) error { return r.raw(t, out) }

func (c *gbClassifier) nDecision() int { return c.k }

func (c *gbClassifier) decision(t *table, out []float64) error { return c.raw(t, out) }

func (c *gbClassifier) proba(t *table, out []float64) error {
	raw := make([]float64, t.n*c.k)
	if err := c.raw(t, raw); err != nil {
		return err
	}
	nc := len(c.classes)
	tmp := make([]float64, 0, nc)
	for i := 0; i < t.n; i++ {
		r := out[i*nc : (i+1)*nc]
		if c.binary {
			x := raw[i]
			if c.exp {
				x *= 2
			}
			p := expit(x)
			r[0], r[1] = 1-p, p
			continue
		}
		row := raw[i*nc : (i+1)*nc]
		lse := logSumExp(row, tmp)
		for j := range r {
			r[j] = math.Exp(row[j] - lse)
		}
	}
	return nil
}

func (c *gbClassifier) predictIdx(t *table, out []int) error {
	if c.exp {
		// ExponentialLoss decides by the sign of the raw prediction.
		raw := make([]float64, t.n*c.k)
		if err := c.raw(t, raw); err != nil {
			return err
		}
		for i, x := range raw {
			if x >= 0 {
				out[i] = 1
			}
		}
		return nil
	}
	nc := len(c.classes)
	p := make([]float64, t.n*nc)
	if err := c.proba(t, p); err != nil {
		return err
	}
	for i := range out {
		out[i] = argmax(p[i*nc : (i+1)*nc])
	}
	return nil
}
