package sklearn

import (
	"fmt"
	"math"
	"sort"
)

// kneighbors: KNeighbors{Classifier,Regressor} with the Minkowski metric.
type kneighbors struct {
	name     string
	x        []float64 // n x d
	n, d     int
	y        []float64 // class indices or targets
	k        int
	p        float64
	distance bool // weights="distance"
	classes  []any
	tree     *kdTree // nil: brute force (ties broken by training order)
}

type knnClassifier struct{ *kneighbors }
type knnRegressor struct{ *kneighbors }

func (m *kneighbors) nIn() int      { return m.d }
func (m *kneighbors) labels() []any { return m.classes }

func decodeKNN(o *obj) (any, error) {
	m := &kneighbors{name: o.name}
	var err error
	if m.x, m.n, m.d, err = o.mat("_fit_X"); err != nil {
		return nil, err
	}
	if m.k, err = o.int("n_neighbors"); err != nil {
		return nil, err
	}
	if m.k <= 0 || m.k > m.n {
		return nil, o.errf("n_neighbors", "%d for %d samples", m.k, m.n)
	}
	metric, err := o.strOr("effective_metric_", "euclidean")
	if err != nil {
		return nil, err
	}
	switch metric {
	case "euclidean":
		m.p = 2
	case "manhattan", "cityblock", "l1":
		m.p = 1
	case "minkowski":
		params, ok := o.opt("effective_metric_params_").(interface{ Get(string) (any, bool) })
		if !ok {
			return nil, fmt.Errorf("%w: %s with metric minkowski and no p", ErrUnsupported, o.name)
		}
		pv, _ := params.Get("p")
		p, ok := toFloat(pv)
		if !ok || p < 1 {
			return nil, fmt.Errorf("%w: %s with minkowski p=%v", ErrUnsupported, o.name, pv)
		}
		m.p = p
	default:
		return nil, fmt.Errorf("%w: %s with metric %q", ErrUnsupported, o.name, metric)
	}
	w, err := o.strOr("weights", "uniform")
	if err != nil {
		return nil, fmt.Errorf("%w: %s with callable weights", ErrUnsupported, o.name)
	}
	switch w {
	case "uniform":
	case "distance":
		m.distance = true
	default:
		return nil, fmt.Errorf("%w: %s with weights %q", ErrUnsupported, o.name, w)
	}
	if fm, _ := o.strOr("_fit_method", ""); fm == "kd_tree" {
		if m.tree, err = decodeKDTree(o.opt("_tree"), m.n, m.d); err != nil {
			return nil, err
		}
	}
	y, shape, err := o.floats("_y")
	if err != nil {
		return nil, err
	}
	if len(shape) == 2 {
		return decodeKNNMulti(o, m) // fitted on a 2-D y
	}
	if len(y) != m.n {
		return nil, o.errf("_y", "%d targets for %d samples", len(y), m.n)
	}
	m.y = y
	if o.name == "KNeighborsRegressor" {
		return &knnRegressor{m}, nil
	}
	if m.classes, err = classesOf(o); err != nil {
		return nil, err
	}
	return m.asClassifier(o)
}

// asClassifier checks the class indices of a classifier's m.y.
func (m *kneighbors) asClassifier(o *obj) (any, error) {
	for _, c := range m.y {
		if c < 0 || c >= float64(len(m.classes)) || c != math.Trunc(c) {
			return nil, o.errf("_y", "class index %v", c)
		}
	}
	return &knnClassifier{m}, nil
}

// neighbors returns the k nearest training rows of x (nearest first, ties
// by training index) and their distances.
func (m *kneighbors) neighbors(x []float64, idx []int, dist []float64) ([]int, []float64) {
	if m.tree != nil {
		return m.treeNeighbors(x, idx, dist)
	}
	idx, dist = idx[:0], dist[:0]
	for i := 0; i < m.n; i++ {
		r := m.x[i*m.d : (i+1)*m.d]
		s := 0.0
		for j, v := range r {
			diff := math.Abs(x[j] - v)
			switch m.p {
			case 2:
				s += diff * diff
			case 1:
				s += diff
			default:
				s += math.Pow(diff, m.p)
			}
		}
		// Keep the k smallest, sorted (insertion).
		if len(idx) == m.k && s >= dist[m.k-1] {
			continue
		}
		pos := sort.SearchFloat64s(dist, s)
		for pos < len(dist) && dist[pos] == s {
			pos++
		}
		if len(idx) < m.k {
			idx, dist = append(idx, 0), append(dist, 0)
		}
		copy(idx[pos+1:], idx[pos:len(idx)-1])
		copy(dist[pos+1:], dist[pos:len(dist)-1])
		idx[pos], dist[pos] = i, s
	}
	for j, s := range dist {
		switch m.p {
		case 2:
			dist[j] = math.Sqrt(s)
		case 1:
		default:
			dist[j] = math.Pow(s, 1/m.p)
		}
	}
	return idx, dist
}

// weights returns sklearn's _get_weights for one row (nil: uniform).
func (m *kneighbors) weights(dist, w []float64) []float64 {
	if !m.distance {
		return nil
	}
	w = w[:0]
	zero := false
	for _, d := range dist {
		if d == 0 {
			zero = true
		}
	}
	for _, d := range dist {
		switch {
		case zero && d == 0:
			w = append(w, 1)
		case zero:
			w = append(w, 0)
		default:
			w = append(w, 1/d)
		}
	}
	return w
}

func (c *knnClassifier) proba(t *table, out []float64) error {
	if err := checkInput(t, c.d, c.name, false); err != nil {
		return err
	}
	nc := len(c.classes)
	idx, dist, w := make([]int, 0, c.k), make([]float64, 0, c.k), make([]float64, 0, c.k)
	for i := 0; i < t.n; i++ {
		idx, dist = c.neighbors(t.row(i), idx, dist)
		ws := c.weights(dist, w)
		r := out[i*nc : (i+1)*nc]
		for j, n := range idx {
			wj := 1.0
			if ws != nil {
				wj = ws[j]
			}
			r[int(c.y[n])] += wj
		}
		norm := pairwiseSum(r)
		if norm == 0 {
			norm = 1
		}
		for j := range r {
			r[j] /= norm
		}
	}
	return nil
}

func (c *knnClassifier) predictIdx(t *table, out []int) error {
	if err := checkInput(t, c.d, c.name, false); err != nil {
		return err
	}
	nc := len(c.classes)
	votes := make([]float64, nc)
	idx, dist, w := make([]int, 0, c.k), make([]float64, 0, c.k), make([]float64, 0, c.k)
	for i := range out {
		idx, dist = c.neighbors(t.row(i), idx, dist)
		ws := c.weights(dist, w)
		clear(votes)
		for j, n := range idx {
			wj := 1.0
			if ws != nil {
				wj = ws[j]
			}
			votes[int(c.y[n])] += wj
		}
		out[i] = argmax(votes) // ties: the smallest class, as scipy's mode
	}
	return nil
}

func (r *knnRegressor) nOut() int { return 1 }

func (r *knnRegressor) predictValues(t *table, out []float64) error {
	if err := checkInput(t, r.d, r.name, false); err != nil {
		return err
	}
	idx, dist, w := make([]int, 0, r.k), make([]float64, 0, r.k), make([]float64, 0, r.k)
	ys := make([]float64, r.k)
	for i := range out {
		idx, dist = r.neighbors(t.row(i), idx, dist)
		ws := r.weights(dist, w)
		for j, n := range idx {
			ys[j] = r.y[n]
		}
		if ws == nil {
			out[i] = pairwiseSum(ys) / float64(r.k)
			continue
		}
		for j := range ys {
			ys[j] *= ws[j]
		}
		out[i] = pairwiseSum(ys) / pairwiseSum(ws)
	}
	return nil
}

// gaussianNB is GaussianNB.
type gaussianNB struct {
	theta, variance []float64 // classes x d
	logPrior        []float64
	logNorm         []float64 // -0.5 * sum(log(2 pi var))
	d               int
	classes         []any
}

func decodeGaussianNB(o *obj) (any, error) {
	m := &gaussianNB{}
	var err error
	if m.classes, err = classesOf(o); err != nil {
		return nil, err
	}
	nc := len(m.classes)
	var r int
	if m.theta, r, m.d, err = o.mat("theta_"); err != nil {
		return nil, err
	}
	if r != nc {
		return nil, o.errf("theta_", "%d rows for %d classes", r, nc)
	}
	name := "var_"
	if o.opt(name) == nil {
		name = "sigma_"
	}
	var r2, d2 int
	if m.variance, r2, d2, err = o.mat(name); err != nil {
		return nil, err
	}
	if r2 != nc || d2 != m.d {
		return nil, o.errf(name, "shape (%d, %d), want (%d, %d)", r2, d2, nc, m.d)
	}
	prior, err := o.vec("class_prior_", nc)
	if err != nil {
		return nil, err
	}
	tmp := make([]float64, m.d)
	for i := 0; i < nc; i++ {
		m.logPrior = append(m.logPrior, math.Log(prior[i]))
		for j := range tmp {
			tmp[j] = math.Log(2 * math.Pi * m.variance[i*m.d+j])
		}
		m.logNorm = append(m.logNorm, -0.5*pairwiseSum(tmp))
	}
	return m, nil
}

func (m *gaussianNB) nIn() int      { return m.d }
func (m *gaussianNB) labels() []any { return m.classes }

// jll stores the joint log likelihood (t.n x classes) in out.
func (m *gaussianNB) jll(t *table, out []float64) error {
	if err := checkInput(t, m.d, "GaussianNB", false); err != nil {
		return err
	}
	nc := len(m.classes)
	tmp := make([]float64, m.d)
	for i := 0; i < t.n; i++ {
		x := t.row(i)
		for c := 0; c < nc; c++ {
			th, va := m.theta[c*m.d:(c+1)*m.d], m.variance[c*m.d:(c+1)*m.d]
			for j := range tmp {
				diff := x[j] - th[j]
				tmp[j] = diff * diff / va[j]
			}
			nij := m.logNorm[c] - 0.5*pairwiseSum(tmp)
			out[i*nc+c] = m.logPrior[c] + nij
		}
	}
	return nil
}

func (m *gaussianNB) predictIdx(t *table, out []int) error {
	nc := len(m.classes)
	j := make([]float64, t.n*nc)
	if err := m.jll(t, j); err != nil {
		return err
	}
	for i := range out {
		out[i] = argmax(j[i*nc : (i+1)*nc])
	}
	return nil
}

func (m *gaussianNB) proba(t *table, j []float64) error {
	if err := m.jll(t, j); err != nil {
		return err
	}
	nc := len(m.classes)
	tmp := make([]float64, 0, nc)
	for i := 0; i < t.n; i++ {
		r := j[i*nc : (i+1)*nc]
		lse := logSumExp(r, tmp)
		for c := range r {
			r[c] = math.Exp(r[c] - lse)
		}
	}
	return nil
}

// mlp: MLP{Classifier,Regressor}.
type mlp struct {
	name       string
	coefs      [][]float64 // layer i: in x out
	shapes     [][2]int
	intercepts [][]float64
	activation string
	out        string
	classes    []any
}

type mlpClassifier struct{ *mlp }
type mlpRegressor struct{ *mlp }

func (m *mlp) nIn() int      { return m.shapes[0][0] }
func (m *mlp) labels() []any { return m.classes }

func decodeMLP(o *obj) (any, error) {
	m := &mlp{name: o.name}
	var err error
	if m.activation, err = o.str("activation"); err != nil {
		return nil, err
	}
	if m.out, err = o.str("out_activation_"); err != nil {
		return nil, err
	}
	for _, a := range []string{m.activation, m.out} {
		switch a {
		case "identity", "logistic", "tanh", "relu", "softmax":
		default:
			return nil, fmt.Errorf("%w: %s with activation %q", ErrUnsupported, o.name, a)
		}
	}
	cv, err := o.get("coefs_")
	if err != nil {
		return nil, err
	}
	iv, err := o.get("intercepts_")
	if err != nil {
		return nil, err
	}
	cs, ok1 := items(cv)
	is, ok2 := items(iv)
	if !ok1 || !ok2 || len(cs) != len(is) || len(cs) == 0 {
		return nil, o.errf("coefs_", "want lists of the same length")
	}
	prev := -1
	for i := range cs {
		c, shape, err := toFloats(cs[i])
		if err != nil || len(shape) != 2 {
			return nil, o.errf("coefs_", "layer %d: not a matrix", i)
		}
		b, _, err := toFloats(is[i])
		if err != nil || len(b) != shape[1] {
			return nil, o.errf("intercepts_", "layer %d: want %d values", i, shape[1])
		}
		if prev >= 0 && shape[0] != prev {
			return nil, o.errf("coefs_", "layer %d takes %d inputs, the previous gives %d", i, shape[0], prev)
		}
		prev = shape[1]
		m.coefs = append(m.coefs, c)
		m.shapes = append(m.shapes, [2]int{shape[0], shape[1]})
		m.intercepts = append(m.intercepts, b)
	}
	if o.name == "MLPRegressor" {
		if prev != 1 {
			return &mlpMultiRegressor{mlp: m, n: prev}, nil
		}
		return &mlpRegressor{m}, nil
	}
	if m.classes, err = classesOf(o); err != nil {
		return nil, err
	}
	if isMultilabel(o) {
		if prev != len(m.classes) || m.out != "logistic" {
			return nil, o.errf("coefs_", "%d outputs, %s output activation for %d labels", prev, m.out, len(m.classes))
		}
		return newMLPMultilabel(m), nil
	}
	if !(len(m.classes) == 2 && prev == 1 && m.out == "logistic") && !(len(m.classes) > 2 && prev == len(m.classes) && m.out == "softmax") {
		return nil, fmt.Errorf("%w: MLPClassifier with %d outputs, %s output activation for %d classes (multilabel?)", ErrUnsupported, prev, m.out, len(m.classes))
	}
	return &mlpClassifier{m}, nil
}

func activate(kind string, r []float64) {
	switch kind {
	case "logistic":
		for i, v := range r {
			r[i] = expit(v)
		}
	case "tanh":
		for i, v := range r {
			r[i] = math.Tanh(v)
		}
	case "relu":
		for i, v := range r {
			r[i] = math.Max(v, 0)
		}
	case "softmax":
		// sklearn.neural_network._base.softmax
		m := r[0]
		for _, v := range r[1:] {
			m = math.Max(m, v)
		}
		for i, v := range r {
			r[i] = math.Exp(v - m)
		}
		s := pairwiseSum(r)
		for i := range r {
			r[i] /= s
		}
	}
}

// forward returns the output layer, n x outputs.
func (m *mlp) forward(t *table) ([]float64, int, error) {
	if err := checkInput(t, m.nIn(), m.name, false); err != nil {
		return nil, 0, err
	}
	var cur []float64 // the previous layer's output; t's rows for layer 0
	width := t.d
	for l, c := range m.coefs {
		in, outW := m.shapes[l][0], m.shapes[l][1]
		next := make([]float64, t.n*outW)
		for i := 0; i < t.n; i++ {
			var x []float64
			if l == 0 {
				x = t.row(i)
			} else {
				x = cur[i*in : (i+1)*in]
			}
			r := next[i*outW : (i+1)*outW]
			for k, xv := range x {
				row := c[k*outW : (k+1)*outW]
				for j, w := range row {
					r[j] += xv * w
				}
			}
			for j := range r {
				r[j] += m.intercepts[l][j]
			}
			if l < len(m.coefs)-1 {
				activate(m.activation, r)
			} else {
				activate(m.out, r)
			}
		}
		cur, width = next, outW
	}
	return cur, width, nil
}

func (r *mlpRegressor) nOut() int { return 1 }

func (r *mlpRegressor) predictValues(t *table, out []float64) error {
	v, _, err := r.forward(t)
	copy(out, v)
	return err
}

func (c *mlpClassifier) proba(t *table, out []float64) error {
	v, w, err := c.forward(t)
	if err != nil {
		return err
	}
	if w != 1 {
		copy(out, v)
		return nil
	}
	for i, p := range v {
		out[2*i], out[2*i+1] = 1-p, p
	}
	return nil
}

func (c *mlpClassifier) predictIdx(t *table, out []int) error {
	v, w, err := c.forward(t)
	if err != nil {
		return err
	}
	for i := range out {
		if w == 1 {
			if v[i] > 0.5 {
				out[i] = 1
			}
		} else {
			out[i] = argmax(v[i*w : (i+1)*w])
		}
	}
	return nil
}
