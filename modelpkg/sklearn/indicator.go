package sklearn

import (
	"fmt"
	"math"
)

// missingIndicator is MissingIndicator, on its own or as a SimpleImputer's
// indicator_ (add_indicator=True): one 0/1 column per feature of features_
// saying whether the value is missing.
type missingIndicator struct {
	d          int
	missing    float64 // missing_values: NaN or a number
	features   []int   // features_
	errorOnNew bool    // error_on_new with features="missing-only"
}

func decodeMissingIndicator(o *obj) (*missingIndicator, error) {
	m := &missingIndicator{}
	var err error
	if m.d, err = o.int("_n_features"); err != nil {
		return nil, err
	}
	if m.d <= 0 {
		return nil, o.errf("_n_features", "%d", m.d)
	}
	if m.missing, err = missingValue(o); err != nil {
		return nil, err
	}
	f, err := o.vec("features_", -1)
	if err != nil {
		return nil, err
	}
	for i, x := range f {
		if x < 0 || x >= float64(m.d) || x != math.Trunc(x) || (i > 0 && x <= f[i-1]) {
			return nil, o.errf("features_", "%v for %d features", f, m.d)
		}
		m.features = append(m.features, int(x))
	}
	features, err := o.strOr("features", "missing-only")
	if err != nil {
		return nil, err
	}
	switch features {
	case "missing-only":
		m.errorOnNew, _ = o.bool("error_on_new", true)
	case "all":
		if len(m.features) != m.d {
			return nil, o.errf("features_", "%d of %d features with features='all'", len(m.features), m.d)
		}
	default:
		return nil, o.errf("features", "%q", features)
	}
	return m, nil
}

// missingValue reads missing_values: NaN (np.nan, None) or a number.
func missingValue(o *obj) (float64, error) {
	mv, err := o.get("missing_values")
	if err != nil {
		return 0, err
	}
	f, ok := toFloat(mv)
	if !ok {
		return 0, fmt.Errorf("%w: %s with missing_values=%s", ErrUnsupported, o.name, typeName(mv))
	}
	return f, nil
}

func isMissing(x, missing float64) bool {
	if math.IsNaN(missing) {
		return math.IsNaN(x)
	}
	return x == missing
}

func (m *missingIndicator) nIn() int { return m.d }

// check is MissingIndicator's input validation: NaN is accepted only
// when it is the missing value (check_array's allow-nan).
func (m *missingIndicator) check(t *table) error {
	if t.d != m.d {
		return fmt.Errorf("%w: MissingIndicator expects %d features, got %d", ErrFeatureCount, m.d, t.d)
	}
	return t.finite("MissingIndicator", math.IsNaN(m.missing))
}

func (m *missingIndicator) transform(t *table) (*table, error) {
	if err := m.check(t); err != nil {
		return nil, err
	}
	if m.errorOnNew && len(m.features) < m.d {
		fitted := make([]bool, m.d)
		for _, j := range m.features {
			fitted[j] = true
		}
		for i := 0; i < t.n; i++ {
			for j, x := range t.row(i) {
				if !fitted[j] && isMissing(x, m.missing) {
					return nil, fmt.Errorf("%w: MissingIndicator: column %d has missing values in row %d but had none at fit time", ErrMissingValue, j, i)
				}
			}
		}
	}
	out := &table{n: t.n, d: len(m.features), v: make([]float64, t.n*len(m.features))}
	m.indicate(t, out, 0)
	return out, nil
}

// indicate writes the indicator columns of t into out's columns from
// off on.
func (m *missingIndicator) indicate(t, out *table, off int) {
	for i := 0; i < t.n; i++ {
		in, r := t.row(i), out.row(i)[off:]
		for k, j := range m.features {
			if isMissing(in[j], m.missing) {
				r[k] = 1
			}
		}
	}
}
