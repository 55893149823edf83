package sklearn

import (
	"fmt"
	"math"
)

// Multi-output estimators: fitted on a 2-D y (scikit-learn's n_outputs_ >
// 1). Decision trees, forests and extra trees (classifiers and
// regressors), KNeighbors (classifier and regressor) and MLPRegressor
// predict several targets per row; MLPClassifier fitted on a label
// indicator matrix predicts several 0/1 labels (multilabel).

// multiOutput is a classifier with several outputs: its predictIdx
// stores t.n x outputs() class indices, row-major (a regressor says its
// outputs with nOut).
type multiOutput interface {
	outputs() int
}

// multiClassifier is a classifier with several outputs; labels() is nil
// unless scikit-learn has a flat classes_ (multilabel).
type multiClassifier interface {
	classifier
	multiOutput
	// outputLabels returns the classes of each output.
	outputLabels() [][]any
}

// multiProbaer returns one probability matrix per output, each t.n x
// len(classes of the output), row-major (scikit-learn's list of arrays).
type multiProbaer interface {
	probaOutputs(t *table) ([][]float64, error)
}

// outputClassesOf reads classes_ of a multi-output classifier: a list of
// n arrays.
func outputClassesOf(o *obj, n int) ([][]any, error) {
	v, err := o.get("classes_")
	if err != nil {
		return nil, err
	}
	list, ok := items(v)
	if !ok || len(list) != n {
		return nil, o.errf("classes_", "want %d arrays of classes", n)
	}
	out := make([][]any, n)
	for k, c := range list {
		if out[k], err = toLabels(c); err != nil || len(out[k]) == 0 {
			return nil, o.errf("classes_", "output %d: %v", k, err)
		}
	}
	return out, nil
}

// treeMulti is a tree ensemble with several outputs.
type treeMulti struct {
	*treeEnsemble
	outs    int
	classes [][]any // per output (classifiers)
}

type treeMultiClassifier struct{ *treeMulti }
type treeMultiRegressor struct{ *treeMulti }

func (e *treeMulti) outputs() int            { return e.outs }
func (e *treeMulti) outputLabels() [][]any   { return e.classes }
func (c *treeMultiClassifier) labels() []any { return nil }

// decodeTreeMulti finishes decodeTreeModel for trees of nOut > 1 outputs.
func decodeTreeMulti(o *obj, e *treeEnsemble, isClf bool, nOut int) (any, error) {
	m := &treeMulti{treeEnsemble: e, outs: nOut}
	for _, t := range e.trees {
		if t.nOut != nOut {
			return nil, o.errf("estimators_", "a tree of %d outputs in a model of %d", t.nOut, nOut)
		}
	}
	if !isClf {
		for _, t := range e.trees {
			if t.stride != 1 {
				return nil, o.errf("tree_", "regression tree values of width %d", t.stride)
			}
		}
		return &treeMultiRegressor{m}, nil
	}
	var err error
	if m.classes, err = outputClassesOf(o, nOut); err != nil {
		return nil, err
	}
	for _, t := range e.trees {
		for k, cs := range m.classes {
			if len(cs) > t.stride {
				return nil, o.errf("tree_", "values for %d classes, output %d has %d", t.stride, k, len(cs))
			}
		}
		// predict_proba's normalisation (of the first n_classes_[k]
		// values of each output), once per node.
		s := t.stride
		t.prob = make([]float64, len(t.value))
		for n := 0; n*nOut*s < len(t.value); n++ {
			for k, cs := range m.classes {
				base := (n*nOut + k) * s
				v := t.value[base : base+len(cs)]
				norm := pairwiseSum(v)
				if norm == 0 {
					norm = 1
				}
				for j, x := range v {
					t.prob[base+j] = x / norm
				}
			}
		}
	}
	return &treeMultiClassifier{m}, nil
}

func (r *treeMultiRegressor) values(t *table) ([]float64, error) {
	if err := checkTreeInput(t, r.nFeatures, r.name); err != nil {
		return nil, err
	}
	k := r.outs
	out := make([]float64, t.n*k)
	for i := 0; i < t.n; i++ {
		x, o := t.row(i), out[i*k:(i+1)*k]
		for _, tr := range r.trees {
			v := tr.value[tr.leaf(x)*k:]
			for j := range o {
				o[j] += v[j]
			}
		}
		if len(r.trees) > 1 {
			for j := range o {
				o[j] /= float64(len(r.trees))
			}
		}
	}
	return out, nil
}

func (c *treeMultiClassifier) probaOutputs(t *table) ([][]float64, error) {
	if err := checkTreeInput(t, c.nFeatures, c.name); err != nil {
		return nil, err
	}
	out := make([][]float64, c.outs)
	for k, cs := range c.classes {
		out[k] = make([]float64, t.n*len(cs))
	}
	for i := 0; i < t.n; i++ {
		x := t.row(i)
		for _, tr := range c.trees {
			leaf := tr.leaf(x)
			for k, cs := range c.classes {
				base := (leaf*c.outs + k) * tr.stride
				r := out[k][i*len(cs) : (i+1)*len(cs)]
				for j, p := range tr.prob[base : base+len(cs)] {
					r[j] += p
				}
			}
		}
	}
	if len(c.trees) > 1 {
		for _, p := range out {
			for j := range p {
				p[j] /= float64(len(c.trees))
			}
		}
	}
	return out, nil
}

func (c *treeMultiClassifier) indices(t *table) ([]int, error) {
	k := c.outs
	out := make([]int, t.n*k)
	if len(c.trees) == 1 {
		// DecisionTreeClassifier.predict: the argmax of each output's raw
		// leaf values (over max_n_classes; the padding is zero).
		if err := checkTreeInput(t, c.nFeatures, c.name); err != nil {
			return nil, err
		}
		tr, s := c.trees[0], c.trees[0].stride
		for i := 0; i < t.n; i++ {
			leaf := tr.leaf(t.row(i))
			for o := 0; o < k; o++ {
				base := (leaf*k + o) * s
				out[i*k+o] = argmax(tr.value[base : base+s])
			}
		}
		return out, nil
	}
	p, err := c.probaOutputs(t)
	if err != nil {
		return nil, err
	}
	for o, cs := range c.classes {
		w := len(cs)
		for i := 0; i < t.n; i++ {
			out[i*k+o] = argmax(p[o][i*w : (i+1)*w])
		}
	}
	return out, nil
}

// knnMulti is KNeighbors fitted on a 2-D y (outputs_2d_): y holds n x
// nOut targets or class indices.
type knnMulti struct {
	*kneighbors
	outs    int
	classes [][]any
}

type knnMultiClassifier struct{ *knnMulti }
type knnMultiRegressor struct{ *knnMulti }

func (m *knnMulti) outputs() int            { return m.outs }
func (m *knnMulti) outputLabels() [][]any   { return m.classes }
func (c *knnMultiClassifier) labels() []any { return nil }

func decodeKNNMulti(o *obj, m *kneighbors) (any, error) {
	y, shape, err := o.floats("_y")
	if err != nil {
		return nil, err
	}
	if len(shape) != 2 || shape[0] != m.n || shape[1] < 1 {
		return nil, o.errf("_y", "shape %v for %d samples", shape, m.n)
	}
	mm := &knnMulti{kneighbors: m, outs: shape[1]}
	m.y = y
	if o.name == "KNeighborsRegressor" {
		if mm.outs == 1 {
			return &knnRegressor{m}, nil // a column y predicts one value per row
		}
		return &knnMultiRegressor{mm}, nil
	}
	if mm.classes, err = outputClassesOf(o, mm.outs); err != nil {
		return nil, err
	}
	if mm.outs == 1 {
		m.classes = mm.classes[0]
		return m.asClassifier(o)
	}
	for i, c := range y {
		if c < 0 || c >= float64(len(mm.classes[i%mm.outs])) || c != math.Trunc(c) {
			return nil, o.errf("_y", "class index %v", c)
		}
	}
	return &knnMultiClassifier{mm}, nil
}

// votes adds each output's (weighted) neighbor votes of one row.
func (c *knnMultiClassifier) votes(idx []int, ws []float64, o int, r []float64) {
	for j, n := range idx {
		wj := 1.0
		if ws != nil {
			wj = ws[j]
		}
		r[int(c.y[n*c.outs+o])] += wj
	}
}

func (c *knnMultiClassifier) probaOutputs(t *table) ([][]float64, error) {
	if err := checkInput(t, c.d, c.name, false); err != nil {
		return nil, err
	}
	out := make([][]float64, c.outs)
	for o, cs := range c.classes {
		out[o] = make([]float64, t.n*len(cs))
	}
	idx, dist, w := make([]int, 0, c.k), make([]float64, 0, c.k), make([]float64, 0, c.k)
	for i := 0; i < t.n; i++ {
		idx, dist = c.neighbors(t.row(i), idx, dist)
		ws := c.weights(dist, w)
		for o, cs := range c.classes {
			r := out[o][i*len(cs) : (i+1)*len(cs)]
			c.votes(idx, ws, o, r)
			norm := pairwiseSum(r)
			if norm == 0 {
				norm = 1
			}
			for j := range r {
				r[j] /= norm
			}
		}
	}
	return out, nil
}

func (c *knnMultiClassifier) indices(t *table) ([]int, error) {
	if err := checkInput(t, c.d, c.name, false); err != nil {
		return nil, err
	}
	out := make([]int, t.n*c.outs)
	idx, dist, w := make([]int, 0, c.k), make([]float64, 0, c.k), make([]float64, 0, c.k)
	var votes []float64
	for i := 0; i < t.n; i++ {
		idx, dist = c.neighbors(t.row(i), idx, dist)
		ws := c.weights(dist, w)
		for o, cs := range c.classes {
			votes = append(votes[:0], make([]float64, len(cs))...)
			c.votes(idx, ws, o, votes)
			out[i*c.outs+o] = argmax(votes) // ties: the smallest class, as scipy's mode
		}
	}
	return out, nil
}

func (r *knnMultiRegressor) values(t *table) ([]float64, error) {
	if err := checkInput(t, r.d, r.name, false); err != nil {
		return nil, err
	}
	out := make([]float64, t.n*r.outs)
	idx, dist, w := make([]int, 0, r.k), make([]float64, 0, r.k), make([]float64, 0, r.k)
	ys := make([]float64, r.k)
	for i := 0; i < t.n; i++ {
		idx, dist = r.neighbors(t.row(i), idx, dist)
		ws := r.weights(dist, w)
		for o := 0; o < r.outs; o++ {
			for j, n := range idx {
				ys[j] = r.y[n*r.outs+o]
			}
			if ws == nil {
				out[i*r.outs+o] = pairwiseSum(ys) / float64(r.k)
				continue
			}
			for j := range ys {
				ys[j] *= ws[j]
			}
			out[i*r.outs+o] = pairwiseSum(ys) / pairwiseSum(ws)
		}
	}
	return out, nil
}

// mlpMultiRegressor is MLPRegressor fitted on a 2-D y.
type mlpMultiRegressor struct {
	*mlp
	n int // outputs
}

func (r *mlpMultiRegressor) values(t *table) ([]float64, error) {
	v, _, err := r.forward(t)
	return v, err
}

// mlpMultilabel is MLPClassifier fitted on a label indicator matrix:
// classes_ is 0..L-1, predict gives L 0/1 labels per row (a probability
// above 0.5), predict_proba the L probabilities.
type mlpMultilabel struct {
	*mlp
	out [][]any // 0 and 1 for each label
}

func newMLPMultilabel(m *mlp) *mlpMultilabel {
	binary := []any{int64(0), int64(1)}
	c := &mlpMultilabel{mlp: m, out: make([][]any, len(m.classes))}
	for i := range c.out {
		c.out[i] = binary
	}
	return c
}

func (c *mlpMultilabel) outputs() int          { return len(c.classes) }
func (c *mlpMultilabel) outputLabels() [][]any { return c.out }

func (c *mlpMultilabel) probs(t *table) ([]float64, error) {
	v, _, err := c.forward(t)
	return v, err
}

func (c *mlpMultilabel) indices(t *table) ([]int, error) {
	v, _, err := c.forward(t)
	if err != nil {
		return nil, err
	}
	out := make([]int, len(v))
	for i, p := range v {
		if p > 0.5 {
			out[i] = 1
		}
	}
	return out, nil
}

// isMultilabel reports whether an MLPClassifier was fitted on a label
// indicator matrix.
func isMultilabel(o *obj) bool {
	lo, err := asObj(o.opt("_label_binarizer"), "")
	if err != nil {
		return false
	}
	s, err := lo.strOr("y_type_", "")
	return err == nil && s == "multilabel-indicator"
}

// The prediction methods of the estimators above, on the Model's
// output slices (sized t.n x width and zeroed).

func (r *treeMultiRegressor) nOut() int { return r.treeMulti.outs }
func (r *knnMultiRegressor) nOut() int  { return r.knnMulti.outs }
func (r *mlpMultiRegressor) nOut() int  { return r.n }

func (r *treeMultiRegressor) predictValues(t *table, out []float64) error {
	return fill(out, r.values, t)
}
func (r *knnMultiRegressor) predictValues(t *table, out []float64) error {
	return fill(out, r.values, t)
}
func (r *mlpMultiRegressor) predictValues(t *table, out []float64) error {
	return fill(out, r.values, t)
}
func (c *treeMultiClassifier) predictIdx(t *table, out []int) error { return fill(out, c.indices, t) }
func (c *knnMultiClassifier) predictIdx(t *table, out []int) error  { return fill(out, c.indices, t) }
func (c *mlpMultilabel) predictIdx(t *table, out []int) error       { return fill(out, c.indices, t) }
func (c *mlpMultilabel) proba(t *table, out []float64) error        { return fill(out, c.probs, t) }

// fill stores fn(t) in out, which must be as long.
func fill[T any](out []T, fn func(*table) ([]T, error), t *table) error {
	v, err := fn(t)
	if err != nil {
		return err
	}
	if len(v) != len(out) {
		return fmt.Errorf("%w: %d results for %d", ErrInvalidModel, len(v), len(out))
	}
	copy(out, v)
	return nil
}

var (
	_ multiClassifier = (*treeMultiClassifier)(nil)
	_ multiProbaer    = (*treeMultiClassifier)(nil)
	_ regressor       = (*treeMultiRegressor)(nil)
	_ multiClassifier = (*knnMultiClassifier)(nil)
	_ multiProbaer    = (*knnMultiClassifier)(nil)
	_ regressor       = (*knnMultiRegressor)(nil)
	_ regressor       = (*mlpMultiRegressor)(nil)
	_ multiClassifier = (*mlpMultilabel)(nil)
	_ probaer         = (*mlpMultilabel)(nil)
	_ probaer         = (*svcProba)(nil)
	_ classifier      = (*svcProba)(nil)
	_ decider         = (*svcProba)(nil)
)
