package sklearn

import (
	"fmt"
)

// linearModel holds coef_ (k x d) and intercept_ (k).
type linearModel struct {
	coef      []float64
	k, d      int
	intercept []float64
}

func (l *linearModel) nIn() int { return l.d }

func decodeLinear(o *obj) (*linearModel, error) {
	coef, k, d, err := o.mat("coef_")
	if err != nil {
		return nil, err
	}
	icept := make([]float64, k)
	if v := o.opt("intercept_"); v != nil {
		f, _, err := toFloats(v)
		if err != nil {
			return nil, o.errf("intercept_", "%v", err)
		}
		switch len(f) {
		case k:
			copy(icept, f)
		case 1:
			for i := range icept {
				icept[i] = f[0]
			}
		default:
			return nil, o.errf("intercept_", "%d values for %d outputs", len(f), k)
		}
	}
	return &linearModel{coef: coef, k: k, d: d, intercept: icept}, nil
}

// scores returns X @ coef_.T + intercept_ (n x k).
func (l *linearModel) scores(t *table, who string) ([]float64, error) {
	if err := checkInput(t, l.d, who, false); err != nil {
		return nil, err
	}
	out := make([]float64, t.n*l.k)
	for i := 0; i < t.n; i++ {
		x := t.row(i)
		for j := 0; j < l.k; j++ {
			out[i*l.k+j] = dot(x, l.coef[j*l.d:(j+1)*l.d]) + l.intercept[j]
		}
	}
	return out, nil
}

// checkInput checks a table's width and values for an estimator.
func checkInput(t *table, d int, who string, allowNaN bool) error {
	if t.d != d {
		return fmt.Errorf("%w: %s expects %d features, got %d", ErrFeatureCount, who, d, t.d)
	}
	return t.finite(who, allowNaN)
}

// linearRegressor: LinearRegression, Ridge, Lasso, ElasticNet,
// SGDRegressor, LinearSVR.
type linearRegressor struct {
	*linearModel
	name string
}

func decodeLinearRegressor(o *obj) (any, error) {
	l, err := decodeLinear(o)
	if err != nil {
		return nil, err
	}
	if l.k != 1 {
		return nil, fmt.Errorf("%w: %s with %d outputs (only single-output regression is supported)", ErrUnsupported, o.name, l.k)
	}
	return &linearRegressor{linearModel: l, name: o.name}, nil
}

func (r *linearRegressor) predictValues(t *table) ([]float64, error) {
	return r.scores(t, r.name)
}

// probaMode says how a linear classifier turns decision values into
// probabilities.
type probaMode int

const (
	noProba probaMode = iota
	ovrProba
	multinomialProba
)

// linearClassifier: LogisticRegression, RidgeClassifier, SGDClassifier,
// LinearSVC, Perceptron.
type linearClassifier struct {
	*linearModel
	name    string
	classes []any
	mode    probaMode
}

// linearClassifierProba adds predict_proba.
type linearClassifierProba struct{ *linearClassifier }

func decodeLinearClassifier(o *obj) (any, error) {
	l, err := decodeLinear(o)
	if err != nil {
		return nil, err
	}
	classes, err := classesOf(o)
	if err != nil {
		return nil, err
	}
	if (len(classes) == 2 && l.k != 1) || (len(classes) > 2 && l.k != len(classes)) || len(classes) < 2 {
		return nil, o.errf("coef_", "%d rows for %d classes", l.k, len(classes))
	}
	c := &linearClassifier{linearModel: l, name: o.name, classes: classes}
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
	return c, nil
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

func (c *linearClassifier) decision(t *table) ([]float64, int, error) {
	s, err := c.scores(t, c.name)
	return s, c.k, err
}

func (c *linearClassifier) predictIdx(t *table) ([]int, error) {
	s, err := c.scores(t, c.name)
	if err != nil {
		return nil, err
	}
	out := make([]int, t.n)
	for i := range out {
		if c.k == 1 {
			if s[i] > 0 {
				out[i] = 1
			}
		} else {
			out[i] = argmax(s[i*c.k : (i+1)*c.k])
		}
	}
	return out, nil
}

func (c *linearClassifierProba) proba(t *table) ([]float64, error) {
	s, err := c.scores(t, c.name)
	if err != nil {
		return nil, err
	}
	nc := len(c.classes)
	out := make([]float64, t.n*nc)
	for i := 0; i < t.n; i++ {
		r := out[i*nc : (i+1)*nc]
		if c.k == 1 {
			if c.mode == ovrProba {
				p := expit(s[i])
				r[0], r[1] = 1-p, p
			} else {
				r[0], r[1] = -s[i], s[i]
				softmaxInPlace(r)
			}
			continue
		}
		copy(r, s[i*c.k:(i+1)*c.k])
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
	return out, nil
}
