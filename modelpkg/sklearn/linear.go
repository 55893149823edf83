package sklearn

import (
	"fmt"
	"math"
)

// linearModel holds coef_ (k x d) and intercept_ (k) in one slice. It is
// kept small (five words): a linear model's arrays are often a few
// hundred bytes, and the loaded model stays within 1.5x of them.
type linearModel struct {
	w    []float64 // coef_ (k x d), then intercept_ (k)
	k, d int32
	cls  class
	mode probaMode // classifiers: how scores become probabilities
}

func (l *linearModel) nIn() int { return int(l.d) }

func (l *linearModel) rowCost() int { return int(l.d) * int(l.k) }

func (l *linearModel) name() string { return l.cls.String() }

// coef returns row j of coef_ and intercept_[j].
func (l *linearModel) coef(j int) ([]float64, float64) {
	d, k := int(l.d), int(l.k)
	return l.w[j*d : (j+1)*d : (j+1)*d], l.w[k*d+j]
}

func decodeLinear(o *obj) (linearModel, error) {
	coef, k, d, err := o.mat("coef_")
	if err != nil {
		return linearModel{}, err
	}
	cls, ok := classOf(o.name)
	if !ok || k > math.MaxInt32 || d > math.MaxInt32 || k < 1 {
		return linearModel{}, o.errf("coef_", "%d x %d", k, d)
	}
	w := make([]float64, k*d+k)
	copy(w, coef)
	icept := w[k*d:]
	if v := o.opt("intercept_"); v != nil {
		f, _, err := toFloats(v)
		if err != nil {
			return linearModel{}, o.errf("intercept_", "%v", err)
		}
		switch len(f) {
		case k:
			copy(icept, f)
		case 1:
			for i := range icept {
				icept[i] = f[0]
			}
		default:
			return linearModel{}, o.errf("intercept_", "%d values for %d outputs", len(f), k)
		}
	}
	return linearModel{w: w, k: int32(k), d: int32(d), cls: cls}, nil
}

// affine stores x·w + b for rows lo..hi-1 of t in out[(i-lo)*stride].
// Four rows go at once: each w[j] is loaded once for the four, and the
// four sums are independent chains the CPU runs side by side. Each row's
// sum runs over j in order, as a serial dot product does.
//
// It reports whether every value stored is finite, cheaply: z adds each
// value times zero, which stays zero for finite values and turns NaN
// for a NaN or an infinity (or for finite values whose sum overflows,
// a false alarm that only costs a scan).
func affine(t *table, lo, hi int, w []float64, b float64, out []float64, stride int) bool {
	d := len(w)
	o := 0
	i := lo
	z := 0.0
	for ; i+4 <= hi; i += 4 {
		x0, x1, x2, x3 := t.row(i)[:d], t.row(i + 1)[:d], t.row(i + 2)[:d], t.row(i + 3)[:d]
		var s0, s1, s2, s3 float64
		for j, wj := range w {
			s0 += x0[j] * wj
			s1 += x1[j] * wj
			s2 += x2[j] * wj
			s3 += x3[j] * wj
		}
		s0, s1, s2, s3 = s0+b, s1+b, s2+b, s3+b
		out[o] = s0
		out[o+stride] = s1
		out[o+2*stride] = s2
		out[o+3*stride] = s3
		z += (s0 + s1 + s2 + s3) * 0
		o += 4 * stride
	}
	for ; i < hi; i++ {
		s := dot(t.row(i)[:d], w) + b
		out[o] = s
		z += s * 0
		o += stride
	}
	return z == 0
}

// check checks a table's width and that it holds no strings. NaN and
// infinities are found from the scores (see checkScores).
func (l *linearModel) check(t *table) error {
	if t.d != int(l.d) {
		return fmt.Errorf("%w: %s expects %d features, got %d", ErrFeatureCount, l.name(), l.d, t.d)
	}
	return t.numeric(l.name())
}

// block stores X @ coef_.T + intercept_ for rows lo..hi-1 of t in out
// ((hi-lo) x k, row-major) and checks them: the error names the first
// row holding a NaN or an infinity.
func (l *linearModel) block(t *table, lo, hi int, out []float64) error {
	k := int(l.k)
	finite := true
	for j := 0; j < k; j++ {
		w, b := l.coef(j)
		if !affine(t, lo, hi, w, b, out[j:], k) {
			finite = false
		}
	}
	if finite {
		return nil
	}
	return l.checkScores(t, lo, out[:(hi-lo)*k])
}

// checkScores returns the error for the first row among lo.. (whose
// scores, k per row, are s) that holds a NaN or an infinity. Such a value
// makes the row's scores NaN or infinite (x*w is NaN or infinite, and so
// is any sum holding it), so only the rows with a score that is not
// finite are searched; a finite row whose scores overflowed passes, as in
// scikit-learn.
func (l *linearModel) checkScores(t *table, lo int, s []float64) error {
	k := int(l.k)
	for i, v := range s {
		if v-v != 0 { // NaN or infinite
			if err := t.finiteRow(lo+i/k, l.name(), false); err != nil {
				return err
			}
		}
	}
	return nil
}

// scores stores X @ coef_.T + intercept_ (t.n x k) in out, checking the
// input.
func (l *linearModel) scores(t *table, out []float64) error {
	if err := l.check(t); err != nil {
		return err
	}
	return l.block(t, 0, t.n, out[:t.n*int(l.k)])
}

// linearRegressor: LinearRegression, Ridge, Lasso, ElasticNet (with one
// output or several), SGDRegressor, LinearSVR.
type linearRegressor struct{ linearModel }

func decodeLinearRegressor(o *obj) (any, error) {
	l, err := decodeLinear(o)
	if err != nil {
		return nil, err
	}
	return &linearRegressor{l}, nil
}

func (r *linearRegressor) nOut() int { return int(r.k) }

func (r *linearRegressor) predictValues(t *table, out []float64) error {
	return r.scores(t, out)
}

// probaMode says how a linear classifier turns decision values into
// probabilities.
type probaMode uint8

const (
	noProba probaMode = iota
	ovrProba
	multinomialProba
)

// linearClassifier: LogisticRegression, RidgeClassifier, SGDClassifier,
// LinearSVC, Perceptron.
type linearClassifier struct {
	linearModel
	classes []any
}

// linearClassifierProba adds predict_proba.
type linearClassifierProba struct{ linearClassifier }

func decodeLinearClassifier(o *obj) (any, error) {
	l, err := decodeLinear(o)
	if err != nil {
		return nil, err
	}
	classes, err := classesOf(o)
	if err != nil {
		return nil, err
	}
	k := int(l.k)
	if (len(classes) == 2 && k != 1) || (len(classes) > 2 && k != len(classes)) || len(classes) < 2 {
		return nil, o.errf("coef_", "%d rows for %d classes", k, len(classes))
	}
	c := linearClassifier{linearModel: l, classes: classes}
	switch o.name {
	case "LogisticRegression":
		mc, err := o.strOr("multi_class", "auto")
		if err != nil {
			return nil, err
		}
		solver, err := o.strOr("solver", "lbfgs")
		if err != nil {
			return nil, err
		}
		if mc == "ovr" || mc == "warn" || (mc == "auto" && (len(classes) <= 2 || solver == "liblinear")) {
			c.mode = ovrProba
		} else {
			c.mode = multinomialProba
		}
	case "SGDClassifier":
		loss, err := o.strOr("loss", "hinge")
		if err != nil {
			return nil, err
		}
		if loss == "log_loss" || loss == "log" {
			c.mode = ovrProba
		}
	}
	if c.mode != noProba {
		return &linearClassifierProba{c}, nil
	}
	return &c, nil
}

// classesOf reads classes_, or a LabelBinarizer's (RidgeClassifier).
func classesOf(o *obj) ([]any, error) {
	v := o.opt("classes_")
	if v == nil {
		if lb := o.opt("_label_binarizer"); lb != nil {
			lo, err := asObj(lb, o.name+"._label_binarizer")
			if err != nil {
				return nil, err
			}
			v, err = lo.get("classes_")
			if err != nil {
				return nil, err
			}
		}
	}
	if v == nil {
		return nil, o.errf("classes_", "missing")
	}
	c, err := toLabels(v)
	if err != nil {
		return nil, o.errf("classes_", "%v", err)
	}
	if len(c) == 0 {
		return nil, o.errf("classes_", "empty")
	}
	return c, nil
}

func (c *linearClassifier) labels() []any { return c.classes }

func (c *linearClassifier) nDecision() int { return int(c.k) }

func (c *linearClassifier) decision(t *table, out []float64) error {
	return c.scores(t, out)
}

// blockRows is how many rows predictIdx scores at a time, in a buffer
// that stays in the L1 cache.
const blockRows = 256

func (c *linearClassifier) predictIdx(t *table, out []int) error {
	if err := c.check(t); err != nil {
		return err
	}
	k := int(c.k)
	var buf [blockRows]float64
	s := buf[:]
	step := max(1, blockRows/k)
	if k > blockRows {
		s = make([]float64, k)
	}
	for lo := 0; lo < t.n; lo += step {
		hi := min(lo+step, t.n)
		sc := s[:(hi-lo)*k]
		if err := c.block(t, lo, hi, sc); err != nil {
			return err
		}
		if k == 1 {
			for i, v := range sc {
				if v > 0 {
					out[lo+i] = 1
				}
			}
			continue
		}
		for i := lo; i < hi; i++ {
			out[i] = argmax(sc[(i-lo)*k : (i-lo+1)*k])
		}
	}
	return nil
}

func (c *linearClassifierProba) proba(t *table, out []float64) error {
	nc := len(c.classes)
	if c.k == 1 {
		// The scores go to out's first t.n values; row i's two
		// probabilities then go to out[2i:2i+2], from the last row
		// down, so no score is overwritten before it is read.
		if err := c.scores(t, out[:t.n]); err != nil {
			return err
		}
		for i := t.n - 1; i >= 0; i-- {
			s := out[i]
			r := out[2*i : 2*i+2]
			if c.mode == ovrProba {
				p := expit(s)
				r[0], r[1] = 1-p, p
			} else {
				r[0], r[1] = -s, s
				softmaxInPlace(r)
			}
		}
		return nil
	}
	if err := c.scores(t, out); err != nil {
		return err
	}
	for i := 0; i < t.n; i++ {
		r := out[i*nc : (i+1)*nc]
		if c.mode == ovrProba {
			for j := range r {
				r[j] = expit(r[j])
			}
			sum := pairwiseSum(r)
			for j := range r {
				r[j] /= sum
			}
		} else {
			softmaxInPlace(r)
		}
	}
	return nil
}
