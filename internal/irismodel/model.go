package irismodel

import (
	"errors"
	"fmt"
	"io"
	"math"
)

// MaxModelSize bounds the size of a model file [Load] reads: 64 MiB.
const MaxModelSize = 64 << 20

// Errors returned by [Load] and [Model.Predict].
var (
	// ErrInvalidModel: the input is not a joblib file holding a
	// LogisticRegression this package understands (truncated, malformed,
	// an unsupported opcode, dtype or layout, or inconsistent weights).
	ErrInvalidModel = errors.New("irismodel: invalid model")
	// ErrUnsafeGlobal: the pickle names a Python global outside the
	// allowlist, such as os.system. Nothing is ever called either way.
	ErrUnsafeGlobal = errors.New("irismodel: pickle global not allowed")
	// ErrTooLarge: the input is larger than MaxModelSize.
	ErrTooLarge = errors.New("irismodel: model file too large")
	// ErrFeatureCount: Predict got a row with the wrong number of
	// features.
	ErrFeatureCount = errors.New("irismodel: wrong number of features")
)

// Model is a fitted scikit-learn LogisticRegression, as [Load] reads it.
// A Model is immutable after Load and safe for concurrent use.
type Model struct {
	// Classes are the class labels (classes_), in the order of the
	// probabilities Predict returns.
	Classes []string
	// Coef holds one row of feature weights (coef_) per class, or a
	// single row for a binary model.
	Coef [][]float64
	// Intercept holds one bias (intercept_) per row of Coef.
	Intercept []float64
	// MultiClass is the estimator's multi_class parameter ("auto",
	// "multinomial" or "ovr").
	MultiClass string
	// Solver is the estimator's solver parameter, e.g. "lbfgs".
	Solver string
}

// Load reads a LogisticRegression saved by joblib.dump (uncompressed)
// from r, reading at most [MaxModelSize] bytes. It interprets the pickle
// with a restricted VM that never calls Python code and only accepts the
// globals scikit-learn, numpy and joblib write for this estimator.
//
// Errors wrap [ErrTooLarge], [ErrUnsafeGlobal] or [ErrInvalidModel]; a
// read error from r is returned wrapped.
func Load(r io.Reader) (*Model, error) { return load(r, MaxModelSize) }

// load is Load with a size limit of maxSize bytes.
func load(r io.Reader, maxSize int64) (*Model, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxSize+1))
	if err != nil {
		return nil, fmt.Errorf("irismodel: read model: %w", err)
	}
	if int64(len(data)) > maxSize {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, maxSize)
	}
	in := &input{data: data}
	root, err := unpickle(in, modeJoblib)
	if err != nil {
		return nil, err
	}
	if in.remaining() != 0 {
		return nil, in.errorf("%d bytes of trailing data", in.remaining())
	}
	return decodeModel(root)
}

// decodeModel interprets the root object of a LogisticRegression pickle.
func decodeModel(root any) (*Model, error) {
	o, ok := root.(*object)
	if !ok || o.class != gLogReg || !o.built {
		return nil, fmt.Errorf("%w: root is a %T, want a LogisticRegression", ErrInvalidModel, root)
	}
	st, ok := o.state.(*dict)
	if !ok {
		return nil, fmt.Errorf("%w: LogisticRegression state is a %T, want a dict", ErrInvalidModel, o.state)
	}
	array := func(name string) (*ndarray, error) {
		v, _ := st.get(name)
		a, ok := v.(*ndarray)
		if !ok {
			return nil, fmt.Errorf("%w: %s is a %T, want an array", ErrInvalidModel, name, v)
		}
		return a, nil
	}
	str := func(name string) (string, error) {
		v, _ := st.get(name)
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("%w: %s is a %T, want a string", ErrInvalidModel, name, v)
		}
		return s, nil
	}
	m := &Model{}
	var err error
	if m.MultiClass, err = str("multi_class"); err != nil {
		return nil, err
	}
	if m.Solver, err = str("solver"); err != nil {
		return nil, err
	}
	classes, err := array("classes_")
	if err != nil {
		return nil, err
	}
	if m.Classes, err = classes.labels(); err != nil {
		return nil, err
	}
	coef, err := array("coef_")
	if err != nil {
		return nil, err
	}
	if len(coef.shape) != 2 {
		return nil, fmt.Errorf("%w: coef_ has %d dimensions, want 2", ErrInvalidModel, len(coef.shape))
	}
	flat, err := coef.float64s()
	if err != nil {
		return nil, err
	}
	rows, cols := coef.shape[0], coef.shape[1]
	intercept, err := array("intercept_")
	if err != nil {
		return nil, err
	}
	if len(intercept.shape) != 1 || intercept.shape[0] != rows {
		return nil, fmt.Errorf("%w: intercept_ shape %v for %d coefficient rows", ErrInvalidModel, intercept.shape, rows)
	}
	if m.Intercept, err = intercept.float64s(); err != nil {
		return nil, err
	}
	if cols == 0 {
		return nil, fmt.Errorf("%w: no features", ErrInvalidModel)
	}
	if n, ok := st.get("n_features_in_"); ok && n != int64(cols) {
		return nil, fmt.Errorf("%w: n_features_in_ is %v, coef_ has %d columns", ErrInvalidModel, n, cols)
	}
	for _, xs := range [][]float64{flat, m.Intercept} {
		for _, x := range xs {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, fmt.Errorf("%w: weights are not finite", ErrInvalidModel)
			}
		}
	}
	m.Coef = make([][]float64, rows)
	for i := range m.Coef {
		m.Coef[i] = flat[i*cols : (i+1)*cols : (i+1)*cols]
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return m, nil
}

// check reports whether the shapes of m's fields agree: at least two
// classes, one row of Coef per class (a single row for two classes), rows
// of equal length, and one intercept per row.
func (m *Model) check() error {
	rows := len(m.Coef)
	switch {
	case len(m.Classes) < 2:
		return fmt.Errorf("%w: %d classes", ErrInvalidModel, len(m.Classes))
	case len(m.Classes) == 2 && rows != 1, len(m.Classes) > 2 && rows != len(m.Classes):
		return fmt.Errorf("%w: %d coefficient rows for %d classes", ErrInvalidModel, rows, len(m.Classes))
	case len(m.Intercept) != rows:
		return fmt.Errorf("%w: %d intercepts for %d coefficient rows", ErrInvalidModel, len(m.Intercept), rows)
	}
	for _, w := range m.Coef {
		if len(w) != len(m.Coef[0]) {
			return fmt.Errorf("%w: coefficient rows of different lengths", ErrInvalidModel)
		}
	}
	return nil
}

// NumFeatures returns the number of features Predict expects.
func (m *Model) NumFeatures() int {
	if len(m.Coef) == 0 {
		return 0
	}
	return len(m.Coef[0])
}

// ovr reports whether predict_proba uses one-vs-rest normalisation, as
// scikit-learn's LogisticRegression.predict_proba decides it.
func (m *Model) ovr() bool {
	switch m.MultiClass {
	case "ovr", "warn":
		return true
	case "auto":
		return len(m.Classes) <= 2 || m.Solver == "liblinear" || m.Solver == "newton-cholesky"
	}
	return false
}

// Predict returns the predicted label of one row of features and the
// probability of each class in the order of Classes, as scikit-learn's
// predict and predict_proba compute them: the decision function is
// Coef·x + Intercept; multinomial models take its softmax, one-vs-rest
// and binary models its logistic sigmoid (normalised to sum to 1 for
// more than two classes). The label is the class with the largest
// decision value (for a binary model, Classes[1] when it is positive).
//
// A row whose length is not NumFeatures is an error wrapping
// [ErrFeatureCount]; a Model built by hand whose fields disagree in shape
// is an error wrapping [ErrInvalidModel].
func (m *Model) Predict(x []float64) (label string, probs []float64, err error) {
	if err := m.check(); err != nil {
		return "", nil, err
	}
	if len(x) != m.NumFeatures() {
		return "", nil, fmt.Errorf("%w: got %d, want %d", ErrFeatureCount, len(x), m.NumFeatures())
	}
	d := make([]float64, len(m.Coef))
	for i, w := range m.Coef {
		s := m.Intercept[i]
		for j, xj := range x {
			s += w[j] * xj
		}
		d[i] = s
	}
	if len(d) == 1 { // binary
		label = m.Classes[0]
		if d[0] > 0 {
			label = m.Classes[1]
		}
		if m.ovr() {
			p := expit(d[0])
			return label, []float64{1 - p, p}, nil
		}
		return label, softmax([]float64{-d[0], d[0]}), nil
	}
	best := 0
	for i, v := range d {
		if v > d[best] {
			best = i
		}
	}
	label = m.Classes[best]
	if !m.ovr() {
		return label, softmax(d), nil
	}
	probs = make([]float64, len(d))
	var sum float64
	for i, v := range d {
		probs[i] = expit(v)
		sum += probs[i]
	}
	for i := range probs {
		probs[i] /= sum
	}
	return label, probs, nil
}

// expit is the logistic sigmoid, computed without overflow.
func expit(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// softmax is scikit-learn's softmax: exp(d - max(d)) normalised.
func softmax(d []float64) []float64 {
	hi := d[0]
	for _, v := range d {
		hi = max(hi, v)
	}
	out := make([]float64, len(d))
	var sum float64
	for i, v := range d {
		out[i] = math.Exp(v - hi)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}
