package sklearn

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// Sentinel errors. Every error the package returns wraps one of them.
var (
	// ErrUnsupported: the file holds an estimator (or a setting of one)
	// the runtime does not implement. The message names the class and
	// lists the supported ones.
	ErrUnsupported = errors.New("sklearn: unsupported estimator")
	// ErrInvalidModel: the file is not a well-formed scikit-learn model
	// (an attribute missing or of the wrong type or shape).
	ErrInvalidModel = errors.New("sklearn: invalid model")
	// ErrFeatureCount: a row has the wrong number of features.
	ErrFeatureCount = errors.New("sklearn: wrong number of features")
	// ErrMissingValue: a value is missing (NaN or nil) where the model
	// does not accept missing values.
	ErrMissingValue = errors.New("sklearn: missing value")
	// ErrNotNumber: a value is not a number where the model needs one
	// (a string, or an infinity where scikit-learn rejects it).
	ErrNotNumber = errors.New("sklearn: value is not a number")
	// ErrUnknownCategory: a categorical value was not seen at fit time
	// and the encoder does not ignore unknown values.
	ErrUnknownCategory = errors.New("sklearn: unknown category")
	// ErrUnknownFeature: a named row has a name the model does not know,
	// or lacks one it needs.
	ErrUnknownFeature = errors.New("sklearn: unknown feature name")
	// ErrNotAvailable: the model has no such method (PredictProba on a
	// regressor or on an SVC fitted without probability=True, ...).
	ErrNotAvailable = errors.New("sklearn: method not available for this model")
)

// table is the input of a transformer or estimator: n rows of d cells.
// The rows are either the caller's own ([][]float64, each of length d,
// read in place) or one row-major slice v. A cell is numeric unless str
// is non-nil and str[i] is set, then it is the string s[i] (string cells
// come only in dense tables, from PredictRows and its siblings).
//
// off is the index of row 0 in the caller's batch (a chunk of a large
// batch starts at off > 0), so error messages name the caller's row.
type table struct {
	n, d int
	v    []float64
	rows [][]float64
	off  int
	str  []bool
	s    []string
}

// row returns row i (its cells, read in place: never write to it).
func (t *table) row(i int) []float64 {
	if t.rows != nil {
		return t.rows[i]
	}
	return t.v[i*t.d : (i+1)*t.d : (i+1)*t.d]
}

// slice returns rows lo..hi-1 as a table that shares t's storage.
func (t *table) slice(lo, hi int) *table {
	s := &table{n: hi - lo, d: t.d, off: t.off + lo}
	if t.rows != nil {
		s.rows = t.rows[lo:hi]
	} else {
		s.v = t.v[lo*t.d : hi*t.d]
	}
	if t.str != nil {
		s.str, s.s = t.str[lo*t.d:hi*t.d], t.s[lo*t.d:hi*t.d]
	}
	return s
}

// numeric returns an error if any cell is a string.
func (t *table) numeric(who string) error {
	for i, isStr := range t.str {
		if isStr {
			return fmt.Errorf("%w: %s: row %d column %d is the string %q", ErrNotNumber, who, t.off+i/t.d, i%t.d, t.s[i])
		}
	}
	return nil
}

// finite checks that cells are numbers and, unless allowNaN, not NaN;
// infinities are rejected as scikit-learn's check_array does.
func (t *table) finite(who string, allowNaN bool) error {
	if err := t.numeric(who); err != nil {
		return err
	}
	for i := 0; i < t.n; i++ {
		if err := t.finiteRow(i, who, allowNaN); err != nil {
			return err
		}
	}
	return nil
}

// finiteRow is finite for row i.
func (t *table) finiteRow(i int, who string, allowNaN bool) error {
	for j, x := range t.row(i) {
		if x-x == 0 { // finite
			continue
		}
		if math.IsNaN(x) {
			if !allowNaN {
				return fmt.Errorf("%w: %s: row %d column %d is NaN", ErrMissingValue, who, t.off+i, j)
			}
		} else {
			return fmt.Errorf("%w: %s: row %d column %d is infinite", ErrNotNumber, who, t.off+i, j)
		}
	}
	return nil
}

// checkInput checks a table's width and values for an estimator.
func checkInput(t *table, d int, who string, allowNaN bool) error {
	if t.d != d {
		return fmt.Errorf("%w: %s expects %d features, got %d", ErrFeatureCount, who, d, t.d)
	}
	return t.finite(who, allowNaN)
}

// transformer is a fitted preprocessing step.
type transformer interface {
	transform(t *table) (*table, error)
}

// estimator is a fitted final step: a classifier or a regressor.
//
// The prediction methods below write into out, which the caller has
// sized for t.n rows and zeroed; they check their input (width, NaN,
// infinities, strings) and return a named error for bad input.
type estimator interface {
	// nIn is the number of input features, -1 when unknown.
	nIn() int
}

type classifier interface {
	estimator
	// labels returns classes_.
	labels() []any
	// predictIdx stores the index into classes of each row in out
	// (t.n values).
	predictIdx(t *table, out []int) error
}

type regressor interface {
	estimator
	// nOut is the number of outputs per row: 1, or the width of the
	// 2-D y the estimator was fitted on.
	nOut() int
	// predictValues stores t.n x nOut values in out, row-major.
	predictValues(t *table, out []float64) error
}

type probaer interface {
	// proba stores t.n x len(classes) probabilities in out, row-major.
	proba(t *table, out []float64) error
}

type decider interface {
	// nDecision is the number of decision values per row (1 for a
	// binary classifier, whose decision function is one column).
	nDecision() int
	// decision stores t.n x nDecision values in out, row-major.
	decision(t *table, out []float64) error
}

// The estimators' methods, checked at compile time (a type switch on a
// method set that drifted would otherwise skip an estimator silently).
var (
	_ classifier = (*linearClassifier)(nil)
	_ decider    = (*linearClassifier)(nil)
	_ probaer    = (*linearClassifierProba)(nil)
	_ regressor  = (*linearRegressor)(nil)
	_ classifier = (*treeClassifier)(nil)
	_ probaer    = (*treeClassifier)(nil)
	_ regressor  = (*treeRegressor)(nil)
	_ classifier = (*gbClassifier)(nil)
	_ probaer    = (*gbClassifier)(nil)
	_ decider    = (*gbClassifier)(nil)
	_ regressor  = (*gbRegressor)(nil)
	_ classifier = (*hgbClassifier)(nil)
	_ probaer    = (*hgbClassifier)(nil)
	_ decider    = (*hgbClassifier)(nil)
	_ regressor  = (*hgbRegressor)(nil)
	_ classifier = (*knnClassifier)(nil)
	_ probaer    = (*knnClassifier)(nil)
	_ regressor  = (*knnRegressor)(nil)
	_ classifier = (*gaussianNB)(nil)
	_ probaer    = (*gaussianNB)(nil)
	_ classifier = (*svc)(nil)
	_ decider    = (*svc)(nil)
	_ regressor  = (*svr)(nil)
	_ classifier = (*mlpClassifier)(nil)
	_ probaer    = (*mlpClassifier)(nil)
	_ regressor  = (*mlpRegressor)(nil)
)

// Model is a loaded scikit-learn estimator (a single estimator or a
// Pipeline ending in one). It is immutable and safe for concurrent use.
//
// It is four words: the arrays of a small model (a linear model of a few
// features) are a few hundred bytes, and a loaded model keeps within 1.5x
// of them (BENCHMARKS.md).
type Model struct {
	final     estimator
	extra     *modelExtra // nil for a lone estimator fitted without feature names
	nFeatures int32
	class     class
}

// modelExtra holds what most small models lack.
type modelExtra struct {
	steps        []transformer // a Pipeline's transformers, in order
	featureNames []string
	nOutputs     int     // 1, or the outputs of a multi-output estimator
	outClasses   [][]any // a multi-output classifier's classes per output (else nil)
}

// class is a supported estimator class, kept as its index in supported
// (a byte, where the name would take two words).
type class uint8

func (c class) String() string { return supported[c] }

// classOf returns the class named name, false when it is not supported.
func classOf(name string) (class, bool) {
	i := slices.Index(supported, name)
	if i < 0 || i > math.MaxUint8 {
		return 0, false
	}
	return class(i), true
}

func (m *Model) steps() []transformer {
	if m.extra == nil {
		return nil
	}
	return m.extra.steps
}

// labels returns the classifier's classes (not a copy), nil for a
// regressor.
func (m *Model) labels() []any {
	if c, ok := m.final.(classifier); ok {
		return c.labels()
	}
	return nil
}

// Matrix is a batch of rows in one row-major slice: row i is
// Data[i*Cols : (i+1)*Cols], and len(Data) is Rows*Cols. It is the
// fastest input form: the model reads it in place, nothing is copied or
// converted first (the [][]float64 methods read their rows in place too).
type Matrix struct {
	Rows, Cols int
	Data       []float64
}

// ClassName returns the Python class name of the loaded estimator (the
// specification's model_type): "LogisticRegression", "Pipeline", ...
func (m *Model) ClassName() string { return m.class.String() }

// IsClassifier reports whether Predict returns class labels.
func (m *Model) IsClassifier() bool { _, ok := m.final.(classifier); return ok }

// Classes returns the class labels (string, int64, float64 or bool, as
// pickled in classes_) of a classifier, in the order of PredictProba's
// columns; nil for a regressor.
func (m *Model) Classes() []any { return slices.Clone(m.labels()) }

// NFeatures returns the number of input features the model expects.
func (m *Model) NFeatures() int { return int(m.nFeatures) }

// NOutputs returns the number of outputs: 1, or the number of targets a
// multi-output estimator was fitted on (the columns of a 2-D y:
// scikit-learn's n_outputs_, or the labels of a multilabel
// MLPClassifier). With several outputs, Predict returns one []any (a
// classifier's labels) or []float64 (a regressor's values) per row,
// PredictFloats NOutputs values per row, and a classifier's class
// probabilities come from PredictProbaOutputs (or, for a multilabel
// MLPClassifier, PredictProba: one probability per label).
func (m *Model) NOutputs() int {
	if m.extra == nil {
		return 1
	}
	return m.extra.nOutputs
}

// outClasses returns a multi-output classifier's classes per output, nil
// for other models.
func (m *Model) outClasses() [][]any {
	if m.extra == nil {
		return nil
	}
	return m.extra.outClasses
}

// OutputClasses returns the class labels of output k of a classifier
// (scikit-learn's classes_[k] for a multi-output classifier; 0 and 1 for
// each label of a multilabel MLPClassifier; Classes for output 0 of a
// single-output one), or nil.
func (m *Model) OutputClasses(k int) []any {
	if oc := m.outClasses(); oc != nil {
		if k < 0 || k >= len(oc) {
			return nil
		}
		return slices.Clone(oc[k])
	}
	if k == 0 {
		return m.Classes()
	}
	return nil
}

// PredictProbaOutputs returns a multi-output classifier's predict_proba:
// one matrix per output (scikit-learn's list of arrays), each with one
// row of probabilities (in the order of OutputClasses(k)) per input row.
// It fails with ErrNotAvailable for other models (see PredictProba).
func (m *Model) PredictProbaOutputs(X [][]float64) ([][][]float64, error) {
	t, err := m.rowsTable(X)
	if err != nil {
		return nil, err
	}
	return m.predictProbaOutputs(t)
}

// PredictProbaOutputsRows is PredictProbaOutputs for rows as in
// PredictRows.
func (m *Model) PredictProbaOutputsRows(rows [][]any) ([][][]float64, error) {
	t, err := m.anyTable(rows)
	if err != nil {
		return nil, err
	}
	return m.predictProbaOutputs(t)
}

func (m *Model) predictProbaOutputs(t *table) ([][][]float64, error) {
	p, ok := m.final.(multiProbaer)
	if !ok {
		return nil, fmt.Errorf("%w: %s has no multi-output predict_proba", ErrNotAvailable, m.class)
	}
	t, err := m.pre(t)
	if err != nil {
		return nil, err
	}
	v, err := p.probaOutputs(t)
	if err != nil {
		return nil, err
	}
	out := make([][][]float64, len(v))
	for k, pk := range v {
		out[k] = split(pk, t.n, len(m.outClasses()[k]))
	}
	return out, nil
}

// FeatureNames returns the input feature names when the model was fitted
// on named columns (a pandas DataFrame), else nil.
func (m *Model) FeatureNames() []string {
	if m.extra == nil {
		return nil
	}
	return slices.Clone(m.extra.featureNames)
}

// HasPredictProba reports whether PredictProba is available.
func (m *Model) HasPredictProba() bool { _, ok := m.final.(probaer); return ok }

// HasDecisionFunction reports whether DecisionFunction is available.
func (m *Model) HasDecisionFunction() bool { _, ok := m.final.(decider); return ok }

// Predict returns scikit-learn's predict for each row of X: a class
// label (one of Classes) for a classifier, a float64 for a regressor (a
// []float64 of NOutputs values for a multi-output regressor). A
// regressor's values are boxed one by one; PredictFloats and
// AppendPredictFloats return them unboxed.
func (m *Model) Predict(X [][]float64) ([]any, error) {
	t, err := m.rowsTable(X)
	if err != nil {
		return nil, err
	}
	return m.predict(t)
}

// PredictRows is Predict for rows whose cells may be strings (categorical
// columns): each cell is a float64, an int, a string, or nil (missing).
func (m *Model) PredictRows(rows [][]any) ([]any, error) {
	t, err := m.anyTable(rows)
	if err != nil {
		return nil, err
	}
	return m.predict(t)
}

// PredictFloats returns a regressor's predictions as float64s: len(X) x
// NOutputs values, row-major. It fails with ErrNotAvailable on a
// classifier.
func (m *Model) PredictFloats(X [][]float64) ([]float64, error) {
	t, err := m.rowsTable(X)
	if err != nil {
		return nil, err
	}
	return m.appendFloats(nil, t)
}

// AppendPredictFloats appends a regressor's predictions for the rows of
// X to dst (X.Rows x NOutputs values, row-major) and returns the
// extended slice; pass dst[:0] to reuse a buffer. It fails with
// ErrNotAvailable on a classifier. On error the returned slice has dst's
// length.
func (m *Model) AppendPredictFloats(dst []float64, X Matrix) ([]float64, error) {
	t, err := m.matrixTable(X)
	if err != nil {
		return dst, err
	}
	return m.appendFloats(dst, t)
}

// AppendPredictClasses appends, for each row of X, the index into
// Classes of the class a classifier predicts, and returns the extended
// slice. It fails with ErrNotAvailable on a regressor. On error the
// returned slice has dst's length.
func (m *Model) AppendPredictClasses(dst []int, X Matrix) ([]int, error) {
	t, err := m.matrixTable(X)
	if err != nil {
		return dst, err
	}
	if _, ok := m.final.(classifier); !ok {
		return dst, fmt.Errorf("%w: class indices from regressor %s", ErrNotAvailable, m.class)
	}
	dst, out := grow(dst, t.n)
	if err := m.classify(t, out); err != nil {
		return dst, err
	}
	return dst[:len(dst)+t.n], nil
}

// AppendPredictProba appends predict_proba for the rows of X to dst
// (X.Rows x len(Classes) values, row-major) and returns the extended
// slice. It fails with ErrNotAvailable when the estimator has no
// predict_proba. On error the returned slice has dst's length.
func (m *Model) AppendPredictProba(dst []float64, X Matrix) ([]float64, error) {
	t, err := m.matrixTable(X)
	if err != nil {
		return dst, err
	}
	return m.appendProba(dst, t)
}

// PredictProba returns scikit-learn's predict_proba: one row of class
// probabilities (in the order of Classes) per input row. It fails with
// ErrNotAvailable when the estimator has no predict_proba.
func (m *Model) PredictProba(X [][]float64) ([][]float64, error) {
	t, err := m.rowsTable(X)
	if err != nil {
		return nil, err
	}
	return m.predictProba(t)
}

// PredictProbaRows is PredictProba for rows as in PredictRows.
func (m *Model) PredictProbaRows(rows [][]any) ([][]float64, error) {
	t, err := m.anyTable(rows)
	if err != nil {
		return nil, err
	}
	return m.predictProba(t)
}

// DecisionFunction returns scikit-learn's decision_function, one row per
// input row: one value for a binary classifier, one per class (or per
// pair of classes, as scikit-learn does) otherwise. It fails with
// ErrNotAvailable when the estimator has no decision_function.
func (m *Model) DecisionFunction(X [][]float64) ([][]float64, error) {
	t, err := m.rowsTable(X)
	if err != nil {
		return nil, err
	}
	return m.decisionFunction(t)
}

// DecisionFunctionRows is DecisionFunction for rows as in PredictRows.
func (m *Model) DecisionFunctionRows(rows [][]any) ([][]float64, error) {
	t, err := m.anyTable(rows)
	if err != nil {
		return nil, err
	}
	return m.decisionFunction(t)
}

// Row orders a named row (a JSON object, say) by FeatureNames. Every
// feature must be present and no other name may be.
func (m *Model) Row(named map[string]any) ([]any, error) {
	if m.extra == nil || m.extra.featureNames == nil {
		return nil, fmt.Errorf("%w: the model was not fitted on named columns", ErrUnknownFeature)
	}
	names := m.extra.featureNames
	row := make([]any, len(names))
	for i, name := range names {
		v, ok := named[name]
		if !ok {
			return nil, fmt.Errorf("%w: %q is missing", ErrUnknownFeature, name)
		}
		row[i] = v
	}
	if len(named) != len(names) {
		for k := range named {
			if !slices.Contains(names, k) {
				return nil, fmt.Errorf("%w: %q", ErrUnknownFeature, k)
			}
		}
	}
	return row, nil
}

// grow extends dst's capacity by n and returns it with the n zeroed
// elements after its length.
func grow[T any](dst []T, n int) ([]T, []T) {
	dst = slices.Grow(dst, n)
	out := dst[len(dst) : len(dst)+n]
	clear(out)
	return dst, out
}

func (m *Model) predict(t *table) ([]any, error) {
	out := make([]any, t.n)
	switch f := m.final.(type) {
	case classifier:
		if m.outClasses() != nil {
			idx := make([]int, t.n*m.NOutputs())
			if err := runChunks(m, t, m.NOutputs(), idx, f, classifier.predictIdx); err != nil {
				return nil, err
			}
			return m.outputLabels(idx, t.n)
		}
		idx := make([]int, t.n)
		if err := m.classify(t, idx); err != nil {
			return nil, err
		}
		classes := m.labels()
		for i, k := range idx {
			out[i] = classes[k]
		}
	case regressor:
		k := f.nOut()
		v := make([]float64, t.n*k)
		if err := runChunks(m, t, k, v, f, regressor.predictValues); err != nil {
			return nil, err
		}
		for i := range out {
			if k == 1 {
				out[i] = v[i]
			} else {
				out[i] = v[i*k : (i+1)*k : (i+1)*k]
			}
		}
	default:
		return nil, fmt.Errorf("%w: %s cannot predict", ErrInvalidModel, m.class)
	}
	return out, nil
}

// classify stores the class index of each row in out, checked against
// the classes.
func (m *Model) classify(t *table, out []int) error {
	c, ok := m.final.(classifier)
	if !ok {
		return fmt.Errorf("%w: %s cannot predict", ErrInvalidModel, m.class)
	}
	if m.outClasses() != nil {
		return fmt.Errorf("%w: %s has %d outputs: use Predict", ErrNotAvailable, m.class, m.NOutputs())
	}
	if err := runChunks(m, t, 1, out, c, classifier.predictIdx); err != nil {
		return err
	}
	nc := len(c.labels())
	for _, k := range out {
		if uint(k) >= uint(nc) {
			return fmt.Errorf("%w: class index %d of %d", ErrInvalidModel, k, nc)
		}
	}
	return nil
}

func (m *Model) appendFloats(dst []float64, t *table) ([]float64, error) {
	r, ok := m.final.(regressor)
	if !ok {
		return dst, fmt.Errorf("%w: PredictFloats on classifier %s", ErrNotAvailable, m.class)
	}
	k := r.nOut()
	dst, out := grow(dst, t.n*k)
	if err := runChunks(m, t, k, out, r, regressor.predictValues); err != nil {
		return dst, err
	}
	return dst[:len(dst)+len(out)], nil
}

func (m *Model) appendProba(dst []float64, t *table) ([]float64, error) {
	p, ok := m.final.(probaer)
	if !ok {
		if _, multi := m.final.(multiProbaer); multi {
			return dst, fmt.Errorf("%w: %s has %d outputs: use PredictProbaOutputs", ErrNotAvailable, m.class, m.NOutputs())
		}
		return dst, fmt.Errorf("%w: %s has no predict_proba", ErrNotAvailable, m.class)
	}
	k := len(m.labels())
	dst, out := grow(dst, t.n*k)
	if err := runChunks(m, t, k, out, p, probaer.proba); err != nil {
		return dst, err
	}
	return dst[:len(dst)+len(out)], nil
}

// outputLabels turns a multi-output classifier's class indices (n x
// NOutputs) into one []any of labels per row.
func (m *Model) outputLabels(idx []int, n int) ([]any, error) {
	oc := m.outClasses()
	k := len(oc)
	if len(idx) != n*k {
		return nil, fmt.Errorf("%w: %d class indices for %d rows of %d outputs", ErrInvalidModel, len(idx), n, k)
	}
	out := make([]any, n)
	for i := range out {
		row := make([]any, k)
		for o, c := range idx[i*k : (i+1)*k] {
			if c < 0 || c >= len(oc[o]) {
				return nil, fmt.Errorf("%w: output %d: class index %d of %d", ErrInvalidModel, o, c, len(oc[o]))
			}
			row[o] = oc[o][c]
		}
		out[i] = row
	}
	return out, nil
}

func (m *Model) predictProba(t *table) ([][]float64, error) {
	v, err := m.appendProba(nil, t)
	if err != nil {
		return nil, err
	}
	return split(v, t.n, len(m.labels())), nil
}

func (m *Model) decisionFunction(t *table) ([][]float64, error) {
	d, ok := m.final.(decider)
	if !ok {
		return nil, fmt.Errorf("%w: %s has no decision_function", ErrNotAvailable, m.class)
	}
	k := d.nDecision()
	v := make([]float64, t.n*k)
	if err := runChunks(m, t, k, v, d, decider.decision); err != nil {
		return nil, err
	}
	return split(v, t.n, k), nil
}

func split(v []float64, n, k int) [][]float64 {
	out := make([][]float64, n)
	for i := range out {
		out[i] = v[i*k : (i+1)*k : (i+1)*k]
	}
	return out
}

// parallelRows is the batch size from which rows are predicted on
// several goroutines (GOMAXPROCS); chunkRows is the size of the chunks
// they take in turn. An estimator that says what a row costs (rowCoster)
// goes parallel only from parallelWork multiply-adds on: a linear model
// of 10,000 rows of 30 features (300,000) runs as fast on one goroutine
// on the 2-core machine of BENCHMARKS.md (the rows stream from memory),
// and a helper goroutine the scheduler starts late only adds latency.
const (
	parallelRows = 2048
	chunkRows    = 1024
	parallelWork = 1 << 20
)

// rowCoster is implemented by estimators whose rows are cheap.
type rowCoster interface {
	// rowCost is about the number of multiply-adds one row takes.
	rowCost() int
}

// parallel reports whether t is worth predicting on several goroutines.
func (m *Model) parallel(t *table, e any) bool {
	if t.n < parallelRows || runtime.GOMAXPROCS(0) < 2 {
		return false
	}
	if c, ok := e.(rowCoster); ok && m.steps() == nil {
		return t.n*c.rowCost() >= parallelWork
	}
	return true
}

// runChunks runs the pipeline's transformers and then fn(e, ...) on t,
// whose results (width per row) go to out. A large batch is cut into
// chunks of chunkRows rows that the calling goroutine and up to
// GOMAXPROCS-1 helpers take in turn, each writing its own part of out: a
// helper the scheduler starts late takes fewer chunks (or none), and the
// call waits only for chunks being predicted, never for a helper to
// start. It returns the error of the first failing chunk (in row order),
// so the error names the first bad row as a serial run would.
//
// fn is a method expression (classifier.predictIdx) and e its receiver,
// not a method value, so a small batch allocates no closure.
func runChunks[T, E any](m *Model, t *table, width int, out []T, e E, fn func(E, *table, []T) error) error {
	if !m.parallel(t, e) {
		pt, err := m.pre(t)
		if err != nil {
			return err
		}
		return fn(e, pt, out)
	}
	chunks := (t.n + chunkRows - 1) / chunkRows
	errs := make([]error, chunks)
	var next atomic.Int64
	var done sync.WaitGroup
	done.Add(chunks)
	work := func() {
		for {
			c := int(next.Add(1) - 1)
			if c >= chunks {
				return
			}
			lo, hi := c*chunkRows, min((c+1)*chunkRows, t.n)
			pt, err := m.pre(t.slice(lo, hi))
			if err == nil {
				err = fn(e, pt, out[lo*width:hi*width])
			}
			errs[c] = err
			done.Done()
		}
	}
	for range min(runtime.GOMAXPROCS(0), chunks) - 1 {
		go work()
	}
	work()
	done.Wait()
	return firstErr(errs)
}

func firstErr(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// pre runs the pipeline's transformers; the result keeps t's row offset
// for error messages.
func (m *Model) pre(t *table) (*table, error) {
	off := t.off
	var err error
	for _, s := range m.steps() {
		if t, err = s.transform(t); err != nil {
			return nil, err
		}
		t.off = off
	}
	return t, nil
}

// rowsTable wraps the caller's rows (read in place) after checking their
// width.
func (m *Model) rowsTable(X [][]float64) (*table, error) {
	d := int(m.nFeatures)
	for i, row := range X {
		if len(row) != d {
			return nil, fmt.Errorf("%w: row %d has %d, the model expects %d", ErrFeatureCount, i, len(row), d)
		}
	}
	return &table{n: len(X), d: d, rows: X}, nil
}

// matrixTable wraps a Matrix (read in place) after checking its shape.
func (m *Model) matrixTable(X Matrix) (*table, error) {
	d := int(m.nFeatures)
	if X.Cols != d {
		return nil, fmt.Errorf("%w: rows have %d, the model expects %d", ErrFeatureCount, X.Cols, d)
	}
	if X.Rows < 0 || X.Rows > len(X.Data)/d || len(X.Data) != X.Rows*d {
		return nil, fmt.Errorf("%w: a %d x %d Matrix holds %d values", ErrFeatureCount, X.Rows, X.Cols, len(X.Data))
	}
	return &table{n: X.Rows, d: d, v: X.Data}, nil
}

func (m *Model) anyTable(rows [][]any) (*table, error) {
	d := int(m.nFeatures)
	t := &table{n: len(rows), d: d, v: make([]float64, len(rows)*d)}
	for i, row := range rows {
		if len(row) != d {
			return nil, fmt.Errorf("%w: row %d has %d, the model expects %d", ErrFeatureCount, i, len(row), d)
		}
		for j, c := range row {
			k := i*d + j
			switch x := c.(type) {
			case nil:
				t.v[k] = math.NaN()
			case float64:
				t.v[k] = x
			case float32:
				t.v[k] = float64(x)
			case int:
				t.v[k] = float64(x)
			case int64:
				t.v[k] = float64(x)
			case int32:
				t.v[k] = float64(x)
			case bool:
				if x {
					t.v[k] = 1
				}
			case string:
				if t.str == nil {
					t.str = make([]bool, len(t.v))
					t.s = make([]string, len(t.v))
				}
				t.str[k], t.s[k] = true, x
			case interface{ Float64() (float64, error) }: // json.Number
				f, err := x.Float64()
				if err != nil {
					return nil, fmt.Errorf("%w: row %d column %d: %v", ErrNotNumber, i, j, err)
				}
				t.v[k] = f
			default:
				return nil, fmt.Errorf("%w: row %d column %d is a %T", ErrNotNumber, i, j, c)
			}
		}
	}
	return t, nil
}
