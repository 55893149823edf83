package sklearn

import (
	"fmt"
	"math"

	"github.com/modelvault/modelvault/internal/pickle"
)

// hgbTree is a HistGradientBoosting TreePredictor, read from its
// PREDICTOR_RECORD_DTYPE nodes by field name.
type hgbTree struct {
	value       []float64
	feature     []int32
	threshold   []float64
	missingLeft []bool
	left, right []int32
	leaf        []bool
	// Categorical splits (nil without any): the node's bitset of the
	// categories that go left, and the model's known categories per
	// feature (see categorical.go).
	cat      []bool
	bitset   []int32
	leftCats []bitset256
	known    []*bitset256
}

func decodeHGBTree(v pickle.Value, what string, nFeatures int, known []*bitset256) (*hgbTree, error) {
	o, err := asObj(v, what)
	if err != nil {
		return nil, err
	}
	nv, err := o.get("nodes")
	if err != nil {
		return nil, err
	}
	nodes, ok := nv.(*pickle.Array)
	if !ok || len(nodes.Shape) != 1 || nodes.Len() <= 0 {
		return nil, o.errf("nodes", "%s, want a record array", typeName(nv))
	}
	n := nodes.Len()
	get := func(name string, required bool) ([]float64, error) {
		f, ok, err := field(nodes, name)
		if err != nil {
			return nil, o.errf("nodes", "%v", err)
		}
		if !ok && required {
			return nil, o.errf("nodes", "no field %q", name)
		}
		return f, nil
	}
	fs := map[string][]float64{}
	for _, name := range []string{"value", "feature_idx", "num_threshold", "missing_go_to_left", "left", "right", "is_leaf"} {
		if fs[name], err = get(name, true); err != nil {
			return nil, err
		}
	}
	cat, err := get("is_categorical", false)
	if err != nil {
		return nil, err
	}
	var bitsetIdx []float64
	if cat != nil && anyNonZero(cat) {
		if bitsetIdx, err = get("bitset_idx", true); err != nil {
			return nil, err
		}
	}
	t := &hgbTree{
		value: fs["value"], threshold: fs["num_threshold"],
		feature: make([]int32, n), missingLeft: make([]bool, n),
		left: make([]int32, n), right: make([]int32, n), leaf: make([]bool, n),
	}
	for i := 0; i < n; i++ {
		t.leaf[i] = fs["is_leaf"][i] != 0
		if t.leaf[i] {
			continue
		}
		l, r, f := fs["left"][i], fs["right"][i], fs["feature_idx"][i]
		if l <= float64(i) || r <= float64(i) || l >= float64(n) || r >= float64(n) || f < 0 || f >= float64(nFeatures) {
			return nil, o.errf("nodes", "node %d: children %v, %v, feature %v out of range", i, l, r, f)
		}
		t.left[i], t.right[i], t.feature[i] = int32(l), int32(r), int32(f)
		t.missingLeft[i] = fs["missing_go_to_left"][i] != 0
		if bitsetIdx != nil && cat[i] != 0 {
			if err := t.categorical(o, i, bitsetIdx[i], known); err != nil {
				return nil, err
			}
		}
	}
	return t, nil
}

func (t *hgbTree) predict(x []float64) float64 {
	n := int32(0)
	for !t.leaf[n] {
		v := x[t.feature[n]]
		switch {
		case math.IsNaN(v):
			if t.missingLeft[n] {
				n = t.left[n]
			} else {
				n = t.right[n]
			}
		case t.cat != nil && t.cat[n]:
			n = t.categoricalChild(n, v)
		case v <= t.threshold[n]:
			n = t.left[n]
		default:
			n = t.right[n]
		}
	}
	return t.value[n]
}

// histGradientBoosting: HistGradientBoosting{Classifier,Regressor}.
type histGradientBoosting struct {
	name      string
	iters     [][]*hgbTree // n_iter x K
	k         int
	baseline  []float64
	classes   []any
	nFeatures int
}

type hgbClassifier struct{ *histGradientBoosting }
type hgbRegressor struct{ *histGradientBoosting }

func (h *histGradientBoosting) nIn() int      { return h.nFeatures }
func (h *histGradientBoosting) labels() []any { return h.classes }

func decodeHGB(o *obj) (any, error) {
	h := &histGradientBoosting{name: o.name}
	var err error
	if h.nFeatures, err = o.int("n_features_in_"); err != nil {
		return nil, err
	}
	known, err := knownCategories(o, h.nFeatures)
	if err != nil {
		return nil, err
	}
	if h.k, err = o.int("n_trees_per_iteration_"); err != nil {
		return nil, err
	}
	if h.k <= 0 {
		return nil, o.errf("n_trees_per_iteration_", "%d", h.k)
	}
	if h.baseline, err = o.vec("_baseline_prediction", h.k); err != nil {
		return nil, err
	}
	pv, err := o.get("_predictors")
	if err != nil {
		return nil, err
	}
	its, ok := items(pv)
	if !ok {
		return nil, o.errf("_predictors", "%s, want a list", typeName(pv))
	}
	for i, it := range its {
		trees, ok := items(it)
		if !ok || len(trees) != h.k {
			return nil, o.errf("_predictors", "iteration %d: want %d predictors", i, h.k)
		}
		row := make([]*hgbTree, h.k)
		for j, tv := range trees {
			if row[j], err = decodeHGBTree(tv, fmt.Sprintf("%s._predictors[%d][%d]", o.name, i, j), h.nFeatures, known); err != nil {
				return nil, err
			}
		}
		h.iters = append(h.iters, row)
	}
	lossV, err := o.get("_loss")
	if err != nil {
		return nil, err
	}
	lo, err := asObj(lossV, o.name+"._loss")
	if err != nil {
		return nil, err
	}
	if o.name == "HistGradientBoostingRegressor" {
		if h.k != 1 {
			return nil, o.errf("n_trees_per_iteration_", "%d for a regressor", h.k)
		}
		switch lo.name {
		case "HalfSquaredError", "AbsoluteError", "PinballLoss":
		default:
			return nil, fmt.Errorf("%w: HistGradientBoostingRegressor with loss %s", ErrUnsupported, lo.name)
		}
		return &hgbRegressor{h}, nil
	}
	if h.classes, err = classesOf(o); err != nil {
		return nil, err
	}
	switch lo.name {
	case "HalfBinomialLoss":
		if h.k != 1 || len(h.classes) != 2 {
			return nil, o.errf("_loss", "binomial loss with %d trees per iteration, %d classes", h.k, len(h.classes))
		}
	case "HalfMultinomialLoss":
		if h.k != len(h.classes) {
			return nil, o.errf("_loss", "%d trees per iteration for %d classes", h.k, len(h.classes))
		}
	default:
		return nil, fmt.Errorf("%w: HistGradientBoostingClassifier with loss %s", ErrUnsupported, lo.name)
	}
	return &hgbClassifier{h}, nil
}

func (h *histGradientBoosting) raw(t *table, out []float64) error {
	// check_array(force_all_finite=False): NaN and infinities are fine.
	if t.d != h.nFeatures {
		return fmt.Errorf("%w: %s expects %d features, got %d", ErrFeatureCount, h.name, h.nFeatures, t.d)
	}
	if err := t.numeric(h.name); err != nil {
		return err
	}
	for i := 0; i < t.n; i++ {
		x := t.row(i)
		r := out[i*h.k : (i+1)*h.k]
		copy(r, h.baseline)
		for _, it := range h.iters {
			for j, tr := range it {
				r[j] += tr.predict(x)
			}
		}
	}
	return nil
}

func (r *hgbRegressor) nOut() int { return 1 }

func (r *hgbRegressor) predictValues(t *table, out []float64) error { return r.raw(t, out) }

func (c *hgbClassifier) nDecision() int { return c.k }

func (c *hgbClassifier) decision(t *table, out []float64) error { return c.raw(t, out) }

func (c *hgbClassifier) proba(t *table, out []float64) error {
	nc := len(c.classes)
	if c.k != 1 {
		// The raw values are the probabilities' input, in place.
		if err := c.raw(t, out); err != nil {
			return err
		}
		for i := 0; i < t.n; i++ {
			softmaxInPlace(out[i*nc : (i+1)*nc])
		}
		return nil
	}
	// One raw value per row, in out's first t.n values; row i's two
	// probabilities go to out[2i:2i+2], from the last row down, so no
	// raw value is overwritten before it is read.
	if err := c.raw(t, out[:t.n]); err != nil {
		return err
	}
	for i := t.n - 1; i >= 0; i-- {
		p := expit(out[i])
		out[2*i], out[2*i+1] = 1-p, p
	}
	return nil
}

func (c *hgbClassifier) predictIdx(t *table, out []int) error {
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
