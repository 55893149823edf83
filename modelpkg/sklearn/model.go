package sklearn

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
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

// table is the input of a transformer or estimator: n rows of d cells,
// row-major. A cell is numeric (v) unless str is non-nil and str[i] is
// set, then it is the string s[i].
type table struct {
	n, d int
	v    []float64
	str  []bool
	s    []string
}

func (t *table) row(i int) []float64 { return t.v[i*t.d : (i+1)*t.d] }

// numeric returns an error if any cell is a string.
func (t *table) numeric(who string) error {
	for i, isStr := range t.str {
		if isStr {
			return fmt.Errorf("%w: %s: row %d column %d is the string %q", ErrNotNumber, who, i/t.d, i%t.d, t.s[i])
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
	for i, x := range t.v {
		if math.IsNaN(x) {
			if !allowNaN {
				return fmt.Errorf("%w: %s: row %d column %d is NaN", ErrMissingValue, who, i/t.d, i%t.d)
			}
		} else if math.IsInf(x, 0) {
			return fmt.Errorf("%w: %s: row %d column %d is infinite", ErrNotNumber, who, i/t.d, i%t.d)
		}
	}
	return nil
}

// transformer is a fitted preprocessing step.
type transformer interface {
	transform(t *table) (*table, error)
}

// estimator is a fitted final step: a classifier or a regressor.
type estimator interface {
	// nIn is the number of input features, -1 when unknown.
	nIn() int
}

type classifier interface {
	estimator
	// labels returns classes_.
	labels() []any
	// predictIdx returns the index into classes for each row.
	predictIdx(t *table) ([]int, error)
}

type regressor interface {
	estimator
	predictValues(t *table) ([]float64, error)
}

type probaer interface {
	proba(t *table) ([]float64, error) // n x len(classes), row-major
}

type decider interface {
	// decision returns n x k values, row-major, and k (1 for a binary
	// classifier, whose decision function is one column).
	decision(t *table) ([]float64, int, error)
}

// Model is a loaded scikit-learn estimator (a single estimator or a
// Pipeline ending in one). It is immutable and safe for concurrent use.
type Model struct {
	className    string
	steps        []transformer
	final        estimator
	classes      []any
	nFeatures    int
	featureNames []string
	nOutputs     int     // 1, or the outputs of a multi-output estimator
	outClasses   [][]any // a multi-output classifier's classes per output
}

// ClassName returns the Python class name of the loaded estimator (the
// specification's model_type): "LogisticRegression", "Pipeline", ...
func (m *Model) ClassName() string { return m.className }

// IsClassifier reports whether Predict returns class labels.
func (m *Model) IsClassifier() bool { _, ok := m.final.(classifier); return ok }

// Classes returns the class labels (string, int64, float64 or bool, as
// pickled in classes_) of a classifier, in the order of PredictProba's
// columns; nil for a regressor.
func (m *Model) Classes() []any { return slices.Clone(m.classes) }

// NFeatures returns the number of input features the model expects.
func (m *Model) NFeatures() int { return m.nFeatures }

// NOutputs returns the number of outputs: 1, or the number of targets a
// multi-output estimator was fitted on (the columns of a 2-D y:
// scikit-learn's n_outputs_, or the labels of a multilabel
// MLPClassifier). With several outputs, Predict returns one []any (a
// classifier's labels) or []float64 (a regressor's values) per row,
// PredictFloats NOutputs values per row, and a classifier's class
// probabilities come from PredictProbaOutputs (or, for a multilabel
// MLPClassifier, PredictProba: one probability per label).
func (m *Model) NOutputs() int { return m.nOutputs }

// OutputClasses returns the class labels of output k of a classifier
// (scikit-learn's classes_[k] for a multi-output classifier; 0 and 1 for
// each label of a multilabel MLPClassifier; Classes for output 0 of a
// single-output one), or nil.
func (m *Model) OutputClasses(k int) []any {
	if m.outClasses != nil {
		if k < 0 || k >= len(m.outClasses) {
			return nil
		}
		return slices.Clone(m.outClasses[k])
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
	t, err := m.numericTable(X)
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
		return nil, fmt.Errorf("%w: %s has no multi-output predict_proba", ErrNotAvailable, m.className)
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
		out[k] = split(pk, t.n, len(m.outClasses[k]))
	}
	return out, nil
}

// FeatureNames returns the input feature names when the model was fitted
// on named columns (a pandas DataFrame), else nil.
func (m *Model) FeatureNames() []string { return slices.Clone(m.featureNames) }

// HasPredictProba reports whether PredictProba is available.
func (m *Model) HasPredictProba() bool { _, ok := m.final.(probaer); return ok }

// HasDecisionFunction reports whether DecisionFunction is available.
func (m *Model) HasDecisionFunction() bool { _, ok := m.final.(decider); return ok }

// Predict returns scikit-learn's predict for each row of X: a class
// label (one of Classes) for a classifier, a float64 for a regressor.
func (m *Model) Predict(X [][]float64) ([]any, error) {
	t, err := m.numericTable(X)
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
// NOutputs values, row-major.
func (m *Model) PredictFloats(X [][]float64) ([]float64, error) {
	r, ok := m.final.(regressor)
	if !ok {
		return nil, fmt.Errorf("%w: PredictFloats on classifier %s", ErrNotAvailable, m.className)
	}
	t, err := m.numericTable(X)
	if err != nil {
		return nil, err
	}
	k := m.nOutputs
	out := make([]float64, t.n*k)
	err = inChunks(t, func(lo int, sub *table) error {
		sub, err := m.pre(sub)
		if err != nil {
			return err
		}
		v, err := r.predictValues(sub)
		copy(out[lo*k:], v)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PredictProba returns scikit-learn's predict_proba: one row of class
// probabilities (in the order of Classes) per input row. It fails with
// ErrNotAvailable when the estimator has no predict_proba.
func (m *Model) PredictProba(X [][]float64) ([][]float64, error) {
	t, err := m.numericTable(X)
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
	t, err := m.numericTable(X)
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
	if m.featureNames == nil {
		return nil, fmt.Errorf("%w: the model was not fitted on named columns", ErrUnknownFeature)
	}
	row := make([]any, len(m.featureNames))
	for i, name := range m.featureNames {
		v, ok := named[name]
		if !ok {
			return nil, fmt.Errorf("%w: %q is missing", ErrUnknownFeature, name)
		}
		row[i] = v
	}
	if len(named) != len(m.featureNames) {
		for k := range named {
			if !slices.Contains(m.featureNames, k) {
				return nil, fmt.Errorf("%w: %q", ErrUnknownFeature, k)
			}
		}
	}
	return row, nil
}

func (m *Model) predict(t *table) ([]any, error) {
	out := make([]any, t.n)
	err := inChunks(t, func(lo int, sub *table) error {
		p, err := m.predictChunk(sub)
		copy(out[lo:], p)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// parallelRows is the batch size from which rows are predicted on
// several goroutines (GOMAXPROCS), in contiguous chunks.
const parallelRows = 2048

// inChunks runs fn on row ranges of t, concurrently for large batches;
// it returns the error of the first failing chunk (in row order).
func inChunks(t *table, fn func(lo int, sub *table) error) error {
	workers := runtime.GOMAXPROCS(0)
	if t.n < parallelRows || workers < 2 {
		return fn(0, t)
	}
	size := (t.n + workers - 1) / workers
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := w*size, min((w+1)*size, t.n)
		if lo >= hi {
			break
		}
		sub := &table{n: hi - lo, d: t.d, v: t.v[lo*t.d : hi*t.d]}
		if t.str != nil {
			sub.str, sub.s = t.str[lo*t.d:hi*t.d], t.s[lo*t.d:hi*t.d]
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = fn(lo, sub)
		}()
	}
	wg.Wait()
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

func (m *Model) predictChunk(t *table) ([]any, error) {
	t, err := m.pre(t)
	if err != nil {
		return nil, err
	}
	switch f := m.final.(type) {
	case classifier:
		idx, err := f.predictIdx(t)
		if err != nil {
			return nil, err
		}
		if m.outClasses != nil {
			return m.outputLabels(idx, t.n)
		}
		out := make([]any, len(idx))
		for i, k := range idx {
			if k < 0 || k >= len(m.classes) {
				return nil, fmt.Errorf("%w: class index %d of %d", ErrInvalidModel, k, len(m.classes))
			}
			out[i] = m.classes[k]
		}
		return out, nil
	case regressor:
		v, err := f.predictValues(t)
		if err != nil {
			return nil, err
		}
		if k := m.nOutputs; k > 1 {
			out := make([]any, t.n)
			for i := range out {
				out[i] = v[i*k : (i+1)*k : (i+1)*k]
			}
			return out, nil
		}
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = x
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: %s cannot predict", ErrInvalidModel, m.className)
}

// outputLabels turns a multi-output classifier's class indices (n x
// NOutputs) into one []any of labels per row.
func (m *Model) outputLabels(idx []int, n int) ([]any, error) {
	k := len(m.outClasses)
	if len(idx) != n*k {
		return nil, fmt.Errorf("%w: %d class indices for %d rows of %d outputs", ErrInvalidModel, len(idx), n, k)
	}
	out := make([]any, n)
	for i := range out {
		row := make([]any, k)
		for o, c := range idx[i*k : (i+1)*k] {
			if c < 0 || c >= len(m.outClasses[o]) {
				return nil, fmt.Errorf("%w: output %d: class index %d of %d", ErrInvalidModel, o, c, len(m.outClasses[o]))
			}
			row[o] = m.outClasses[o][c]
		}
		out[i] = row
	}
	return out, nil
}

func (m *Model) predictProba(t *table) ([][]float64, error) {
	p, ok := m.final.(probaer)
	if !ok {
		if _, multi := m.final.(multiProbaer); multi {
			return nil, fmt.Errorf("%w: %s has %d outputs: use PredictProbaOutputs", ErrNotAvailable, m.className, m.nOutputs)
		}
		return nil, fmt.Errorf("%w: %s has no predict_proba", ErrNotAvailable, m.className)
	}
	k := len(m.classes)
	out := make([]float64, t.n*k)
	err := inChunks(t, func(lo int, sub *table) error {
		sub, err := m.pre(sub)
		if err != nil {
			return err
		}
		v, err := p.proba(sub)
		copy(out[lo*k:], v)
		return err
	})
	if err != nil {
		return nil, err
	}
	return split(out, t.n, k), nil
}

func (m *Model) decisionFunction(t *table) ([][]float64, error) {
	d, ok := m.final.(decider)
	if !ok {
		return nil, fmt.Errorf("%w: %s has no decision_function", ErrNotAvailable, m.className)
	}
	t, err := m.pre(t)
	if err != nil {
		return nil, err
	}
	v, k, err := d.decision(t)
	if err != nil {
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

// pre runs the pipeline's transformers.
func (m *Model) pre(t *table) (*table, error) {
	var err error
	for _, s := range m.steps {
		if t, err = s.transform(t); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func (m *Model) numericTable(X [][]float64) (*table, error) {
	d := m.nFeatures
	t := &table{n: len(X), d: d, v: make([]float64, len(X)*d)}
	for i, row := range X {
		if len(row) != d {
			return nil, fmt.Errorf("%w: row %d has %d, the model expects %d", ErrFeatureCount, i, len(row), d)
		}
		copy(t.v[i*d:], row)
	}
	return t, nil
}

func (m *Model) anyTable(rows [][]any) (*table, error) {
	d := m.nFeatures
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
