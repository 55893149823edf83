package sklearn

import (
	"fmt"
	"math"

	"github.com/modelvault/modelvault/internal/pickle"
)

// elementwise is StandardScaler, MinMaxScaler, MaxAbsScaler and
// RobustScaler: x = (x - sub) / div * mul + add per column, each step
// only when its vector is set, in scikit-learn's order.
type elementwise struct {
	name     string
	d        int
	sub, div []float64 // StandardScaler, RobustScaler, MaxAbsScaler
	mul, add []float64 // MinMaxScaler
	clip     []float64 // MinMaxScaler(clip=True): feature_range
}

func (e *elementwise) nIn() int { return e.d }

func decodeScaler(o *obj) (any, error) {
	e := &elementwise{name: o.name}
	var err error
	if e.d, err = o.int("n_features_in_"); err != nil {
		return nil, err
	}
	optVec := func(name string) ([]float64, error) {
		if o.opt(name) == nil {
			return nil, nil
		}
		return o.vec(name, e.d)
	}
	switch o.name {
	case "StandardScaler":
		if e.sub, err = optVec("mean_"); err != nil {
			return nil, err
		}
		if e.div, err = optVec("scale_"); err != nil {
			return nil, err
		}
	case "RobustScaler":
		if e.sub, err = optVec("center_"); err != nil {
			return nil, err
		}
		if e.div, err = optVec("scale_"); err != nil {
			return nil, err
		}
	case "MaxAbsScaler":
		if e.div, err = o.vec("scale_", e.d); err != nil {
			return nil, err
		}
	case "MinMaxScaler":
		if e.mul, err = o.vec("scale_", e.d); err != nil {
			return nil, err
		}
		if e.add, err = o.vec("min_", e.d); err != nil {
			return nil, err
		}
		if clip, _ := o.bool("clip", false); clip {
			r, err := o.get("feature_range")
			if err != nil {
				return nil, err
			}
			if e.clip, _, err = toFloats(r); err != nil || len(e.clip) != 2 {
				return nil, o.errf("feature_range", "want two numbers")
			}
		}
	}
	return e, nil
}

func (e *elementwise) transform(t *table) (*table, error) {
	if t.d != e.d {
		return nil, fmt.Errorf("%w: %s expects %d features, got %d", ErrFeatureCount, e.name, e.d, t.d)
	}
	// Scalers accept NaN (they pass it through) but not infinities.
	if err := t.finite(e.name, true); err != nil {
		return nil, err
	}
	out := &table{n: t.n, d: t.d, v: make([]float64, t.n*t.d)}
	for i := 0; i < t.n; i++ {
		r := out.row(i)
		copy(r, t.row(i))
		if e.sub != nil {
			for j := range r {
				r[j] -= e.sub[j]
			}
		}
		if e.div != nil {
			for j := range r {
				r[j] /= e.div[j]
			}
		}
		if e.mul != nil {
			for j := range r {
				r[j] = r[j]*e.mul[j] + e.add[j]
			}
		}
		if e.clip != nil {
			for j := range r {
				r[j] = math.Min(math.Max(r[j], e.clip[0]), e.clip[1])
			}
		}
	}
	return out, nil
}

// simpleImputer is SimpleImputer with a numeric missing_values (NaN or a
// number), with or without the indicator columns of add_indicator=True.
type simpleImputer struct {
	d         int
	missing   float64
	stats     []float64
	keep      []int             // columns kept (statistics not NaN, or keep_empty_features)
	indicator *missingIndicator // indicator_, nil without add_indicator
}

func decodeImputer(o *obj) (any, error) {
	m := &simpleImputer{}
	var err error
	if m.d, err = o.int("n_features_in_"); err != nil {
		return nil, err
	}
	if m.missing, err = missingValue(o); err != nil {
		return nil, err
	}
	if v := o.opt("indicator_"); v != nil {
		io, err := asObj(v, "SimpleImputer.indicator_")
		if err != nil {
			return nil, err
		}
		if io.name != "MissingIndicator" {
			return nil, o.errf("indicator_", "%s, not a MissingIndicator", io.o.Class)
		}
		if m.indicator, err = decodeMissingIndicator(io); err != nil {
			return nil, err
		}
		if m.indicator.d != m.d {
			return nil, o.errf("indicator_", "%d features, the imputer has %d", m.indicator.d, m.d)
		}
		// The imputer's mask is its indicator's input (precomputed).
		m.indicator.missing, m.indicator.errorOnNew = m.missing, false
	}
	if m.stats, err = o.vec("statistics_", m.d); err != nil {
		return nil, err
	}
	keepEmpty, _ := o.bool("keep_empty_features", false)
	if s, _ := o.strOr("strategy", "mean"); s == "constant" {
		keepEmpty = true
	}
	for j, s := range m.stats {
		if !math.IsNaN(s) || keepEmpty {
			m.keep = append(m.keep, j)
		}
	}
	return m, nil
}

func (m *simpleImputer) nIn() int { return m.d }

func (m *simpleImputer) transform(t *table) (*table, error) {
	if t.d != m.d {
		return nil, fmt.Errorf("%w: SimpleImputer expects %d features, got %d", ErrFeatureCount, m.d, t.d)
	}
	// check_array's allow-nan only when NaN is the missing value.
	if err := t.finite("SimpleImputer", math.IsNaN(m.missing)); err != nil {
		return nil, err
	}
	d := len(m.keep)
	width := d
	if m.indicator != nil {
		width += len(m.indicator.features)
	}
	out := &table{n: t.n, d: width, v: make([]float64, t.n*width)}
	for i := 0; i < t.n; i++ {
		in, r := t.row(i), out.row(i)
		for k, j := range m.keep {
			x := in[j]
			if isMissing(x, m.missing) {
				x = m.stats[j]
				if math.IsNaN(x) {
					x = 0 // keep_empty_features: an all-missing column becomes 0
				}
			}
			r[k] = x
		}
	}
	if m.indicator != nil {
		m.indicator.indicate(t, out, d)
	}
	return out, nil
}

// polynomial is PolynomialFeatures (dense), computed column by column
// as scikit-learn does so products round alike.
type polynomial struct {
	d               int
	minDeg, maxDeg  int
	interactionOnly bool
	bias            bool
	nOut            int
}

func decodePoly(o *obj) (any, error) {
	p := &polynomial{}
	var err error
	if p.d, err = o.int("n_features_in_"); err != nil {
		return nil, err
	}
	if p.nOut, err = o.int("n_output_features_"); err != nil {
		return nil, err
	}
	if p.interactionOnly, err = o.bool("interaction_only", false); err != nil {
		return nil, err
	}
	if p.bias, err = o.bool("include_bias", true); err != nil {
		return nil, err
	}
	p.minDeg, p.maxDeg = 0, 0
	if v := o.opt("_max_degree"); v != nil {
		if p.minDeg, err = o.int("_min_degree"); err != nil {
			return nil, err
		}
		if p.maxDeg, err = o.int("_max_degree"); err != nil {
			return nil, err
		}
	} else if p.maxDeg, err = o.int("degree"); err != nil {
		return nil, fmt.Errorf("%w: PolynomialFeatures with a degree tuple from an old release", ErrUnsupported)
	}
	if p.maxDeg < 0 || p.maxDeg > 16 || p.minDeg < 0 || p.minDeg > p.maxDeg || p.d <= 0 {
		return nil, o.errf("degree", "(%d, %d)", p.minDeg, p.maxDeg)
	}
	// The output width must be what the fitted object says.
	x := &table{n: 1, d: p.d, v: make([]float64, p.d)}
	if t, err := p.expand(x); err != nil || t.d != p.nOut {
		return nil, o.errf("n_output_features_", "%d does not match the degree", p.nOut)
	}
	return p, nil
}

func (p *polynomial) nIn() int { return p.d }

func (p *polynomial) transform(t *table) (*table, error) {
	if t.d != p.d {
		return nil, fmt.Errorf("%w: PolynomialFeatures expects %d features, got %d", ErrFeatureCount, p.d, t.d)
	}
	if err := t.finite("PolynomialFeatures", true); err != nil {
		return nil, err
	}
	return p.expand(t)
}

// expand is PolynomialFeatures.transform's dense branch.
func (p *polynomial) expand(t *table) (*table, error) {
	const limit = 1 << 18
	// Columns of the full expansion (before dropping degrees < min).
	var cols [][]float64 // each column, t.n values
	col := func(i int) []float64 { return cols[i] }
	n, d := t.n, p.d
	if p.bias {
		c := make([]float64, n)
		for i := range c {
			c[i] = 1
		}
		cols = append(cols, c)
	}
	var current int
	index := make([]int, 0, d+1)
	if p.maxDeg >= 1 {
		for j := 0; j < d; j++ {
			c := make([]float64, n)
			for i := range c {
				c[i] = t.row(i)[j]
			}
			index = append(index, len(cols))
			cols = append(cols, c)
		}
		current = len(cols)
		index = append(index, current)
		for deg := 2; deg <= p.maxDeg; deg++ {
			var newIndex []int
			end := index[len(index)-1]
			for j := 0; j < d; j++ {
				start := index[j]
				newIndex = append(newIndex, current)
				if p.interactionOnly {
					start += index[j+1] - index[j]
				}
				next := current + end - start
				if next <= current {
					break
				}
				if next > limit {
					return nil, fmt.Errorf("%w: PolynomialFeatures of more than %d columns", ErrUnsupported, limit)
				}
				for s := start; s < end; s++ {
					src := col(s)
					c := make([]float64, n)
					for i := range c {
						c[i] = src[i] * t.row(i)[j]
					}
					cols = append(cols, c)
				}
				current = next
			}
			newIndex = append(newIndex, current)
			index = newIndex
		}
	}
	// Drop the columns of degrees below min_degree (keeping the bias).
	if p.minDeg > 1 {
		first := 0
		if p.bias {
			first = 1
		}
		// Columns of degree < minDeg are the first ones after the bias:
		// count combinations of degree 1..minDeg-1.
		drop := 0
		for deg := 1; deg < p.minDeg; deg++ {
			drop += combinations(d, deg, p.interactionOnly)
		}
		cols = append(cols[:first], cols[first+drop:]...)
	}
	out := &table{n: n, d: len(cols), v: make([]float64, n*len(cols))}
	for j, c := range cols {
		for i, x := range c {
			out.v[i*out.d+j] = x
		}
	}
	return out, nil
}

// combinations counts the monomials of exactly degree deg in d variables.
func combinations(d, deg int, interactionOnly bool) int {
	// C(d, deg) without replacement, C(d+deg-1, deg) with.
	n := d
	if !interactionOnly {
		n = d + deg - 1
	}
	if deg > n {
		return 0
	}
	r := 1
	for i := 1; i <= deg; i++ {
		r = r * (n - deg + i) / i
	}
	return r
}

// pca is PCA.transform.
type pca struct {
	d, k       int
	mean       []float64
	components []float64 // k x d
	whiten     []float64 // sqrt(explained_variance_) or nil
}

func decodePCA(o *obj) (any, error) {
	p := &pca{}
	var err error
	if p.components, p.k, p.d, err = o.mat("components_"); err != nil {
		return nil, err
	}
	if o.opt("mean_") != nil {
		if p.mean, err = o.vec("mean_", p.d); err != nil {
			return nil, err
		}
	}
	if w, _ := o.bool("whiten", false); w {
		ev, err := o.vec("explained_variance_", p.k)
		if err != nil {
			return nil, err
		}
		p.whiten = make([]float64, p.k)
		for i, v := range ev {
			p.whiten[i] = math.Sqrt(v)
		}
	}
	return p, nil
}

func (p *pca) nIn() int { return p.d }

func (p *pca) transform(t *table) (*table, error) {
	if err := checkInput(t, p.d, "PCA", false); err != nil {
		return nil, err
	}
	out := &table{n: t.n, d: p.k, v: make([]float64, t.n*p.k)}
	x := make([]float64, p.d)
	for i := 0; i < t.n; i++ {
		copy(x, t.row(i))
		if p.mean != nil {
			for j := range x {
				x[j] -= p.mean[j]
			}
		}
		r := out.row(i)
		for c := range r {
			r[c] = dot(x, p.components[c*p.d:(c+1)*p.d])
			if p.whiten != nil {
				r[c] /= p.whiten[c]
			}
		}
	}
	return out, nil
}

// category is one fitted category: a number or a string.
type category struct {
	isStr bool
	s     string
	f     float64
}

// oneHot is OneHotEncoder (dense output; the sparse choice does not
// change the values), with infrequent categories grouped into one column
// per feature when min_frequency or max_categories made any.
type oneHot struct {
	d            int
	cats         [][]category
	drop         []int   // per feature, the dropped (grouped) category, -1 for none
	ignore       bool    // handle_unknown is not "error"
	toInfrequent bool    // handle_unknown="infrequent_if_exist"
	infrequent   [][]int // per feature, _infrequent_indices (nil: none)
	mapping      [][]int // per feature, _default_to_infrequent_mappings (nil: none)
	offsets      []int
	nOut         int
}

func decodeOneHot(o *obj) (any, error) {
	m := &oneHot{}
	var err error
	if m.d, err = o.int("n_features_in_"); err != nil {
		return nil, err
	}
	hu, err := o.strOr("handle_unknown", "error")
	if err != nil {
		return nil, err
	}
	switch hu {
	case "error":
	case "ignore":
		m.ignore = true
	case "infrequent_if_exist":
		m.ignore, m.toInfrequent = true, true
	default:
		return nil, fmt.Errorf("%w: OneHotEncoder with handle_unknown=%q", ErrUnsupported, hu)
	}
	cv, err := o.get("categories_")
	if err != nil {
		return nil, err
	}
	list, ok := items(cv)
	if !ok || len(list) != m.d {
		return nil, o.errf("categories_", "want %d arrays", m.d)
	}
	for i, c := range list {
		labels, err := toLabels(c)
		if err != nil {
			return nil, o.errf("categories_", "feature %d: %v", i, err)
		}
		cs := make([]category, len(labels))
		for j, l := range labels {
			switch x := l.(type) {
			case string:
				cs[j] = category{isStr: true, s: x}
			case int64:
				cs[j] = category{f: float64(x)}
			case float64:
				cs[j] = category{f: x}
			case bool:
				if x {
					cs[j] = category{f: 1}
				}
			}
		}
		m.cats = append(m.cats, cs)
	}
	// The width of each feature's encoding before a drop: its categories,
	// the infrequent ones counted once.
	widths := make([]int, m.d)
	for i, cs := range m.cats {
		widths[i] = len(cs)
	}
	if inf, _ := o.bool("_infrequent_enabled", false); inf {
		if err := m.decodeInfrequent(o, widths); err != nil {
			return nil, err
		}
	}
	m.drop = make([]int, m.d)
	for i := range m.drop {
		m.drop[i] = -1
	}
	// scikit-learn >= 1.3 keeps the grouped indices transform uses in
	// _drop_idx_after_grouping (drop_idx_ then indexes categories_); 1.2
	// has them in drop_idx_.
	dv := o.opt("drop_idx_")
	if v, ok := o.o.Attr("_drop_idx_after_grouping"); ok {
		dv = v
	}
	if dv != nil {
		dl, ok := items(dv)
		if !ok {
			f, _, err := toFloats(dv)
			if err != nil {
				return nil, o.errf("drop_idx_", "%v", err)
			}
			for _, x := range f {
				dl = append(dl, x)
			}
		}
		if len(dl) != m.d {
			return nil, o.errf("drop_idx_", "want %d entries", m.d)
		}
		for i, e := range dl {
			if e == nil {
				continue
			}
			// drop_idx_ indexes the grouped categories.
			f, ok := toFloat(e)
			if !ok || f < 0 || f != math.Trunc(f) || int(f) >= widths[i] {
				return nil, o.errf("drop_idx_", "entry %d: %v", i, e)
			}
			m.drop[i] = int(f)
		}
	}
	for i, w := range widths {
		if m.drop[i] >= 0 {
			w--
		}
		m.offsets = append(m.offsets, m.nOut)
		m.nOut += w
		widths[i] = w
	}
	if v := o.opt("_n_features_outs"); v != nil {
		f, _, err := toFloats(v)
		if err != nil || len(f) != m.d {
			return nil, o.errf("_n_features_outs", "want %d counts", m.d)
		}
		for i, x := range f {
			if int(x) != widths[i] || x != math.Trunc(x) {
				return nil, o.errf("_n_features_outs", "feature %d: %v columns, the categories make %d", i, x, widths[i])
			}
		}
	}
	return m, nil
}

// decodeInfrequent reads the grouping of infrequent categories
// (_infrequent_indices, _default_to_infrequent_mappings) and sets each
// grouped feature's width.
func (m *oneHot) decodeInfrequent(o *obj, widths []int) error {
	iv, err := o.get("_infrequent_indices")
	if err != nil {
		return err
	}
	mv, err := o.get("_default_to_infrequent_mappings")
	if err != nil {
		return err
	}
	il, ok1 := items(iv)
	ml, ok2 := items(mv)
	if !ok1 || !ok2 || len(il) != m.d || len(ml) != m.d {
		return o.errf("_infrequent_indices", "want %d entries", m.d)
	}
	m.infrequent, m.mapping = make([][]int, m.d), make([][]int, m.d)
	ints := func(v pickle.Value, n, limit int) ([]int, bool) {
		f, _, err := toFloats(v)
		if err != nil || (n >= 0 && len(f) != n) || len(f) == 0 {
			return nil, false
		}
		out := make([]int, len(f))
		for i, x := range f {
			if x < 0 || x >= float64(limit) || x != math.Trunc(x) {
				return nil, false
			}
			out[i] = int(x)
		}
		return out, true
	}
	for i := range il {
		if (il[i] == nil) != (ml[i] == nil) {
			return o.errf("_infrequent_indices", "feature %d: indices and mapping disagree", i)
		}
		if il[i] == nil {
			continue
		}
		nc := len(m.cats[i])
		inf, ok := ints(il[i], -1, nc)
		if !ok || len(inf) > nc {
			return o.errf("_infrequent_indices", "feature %d", i)
		}
		w := nc - len(inf) + 1
		mp, ok := ints(ml[i], nc, w)
		if !ok {
			return o.errf("_default_to_infrequent_mappings", "feature %d", i)
		}
		m.infrequent[i], m.mapping[i], widths[i] = inf, mp, w
	}
	return nil
}

func (m *oneHot) nIn() int { return m.d }

func (m *oneHot) transform(t *table) (*table, error) {
	if t.d != m.d {
		return nil, fmt.Errorf("%w: OneHotEncoder expects %d features, got %d", ErrFeatureCount, m.d, t.d)
	}
	out := &table{n: t.n, d: m.nOut, v: make([]float64, t.n*m.nOut)}
	for i := 0; i < t.n; i++ {
		r := out.row(i)
		for j, cs := range m.cats {
			k, x := i*t.d+j, t.row(i)[j]
			isStr := t.str != nil && t.str[k]
			found := -1
			for c, cat := range cs {
				if cat.isStr != isStr {
					continue
				}
				if isStr && cat.s == t.s[k] || !isStr && (cat.f == x || math.IsNaN(cat.f) && math.IsNaN(x)) {
					found = c
					break
				}
			}
			valid, idx := found >= 0, found
			if !valid {
				if !m.ignore {
					if isStr {
						return nil, fmt.Errorf("%w: %q in column %d of row %d", ErrUnknownCategory, t.s[k], j, i)
					}
					if math.IsNaN(x) {
						return nil, fmt.Errorf("%w: OneHotEncoder: row %d column %d is missing", ErrMissingValue, i, j)
					}
					return nil, fmt.Errorf("%w: %v in column %d of row %d", ErrUnknownCategory, x, j, i)
				}
				idx = 0
			}
			// OneHotEncoder._map_infrequent_categories: an unknown value
			// is the infrequent category (kept with infrequent_if_exist),
			// then categories are renumbered with the infrequent ones
			// grouped last.
			if m.mapping != nil && m.mapping[j] != nil {
				mp := m.mapping[j]
				if !valid {
					idx = m.infrequent[j][0]
					valid = m.toInfrequent
				}
				idx = mp[idx]
			}
			if d := m.drop[j]; d >= 0 {
				if idx == d {
					continue
				}
				if idx > d {
					idx--
				}
			}
			if valid {
				r[m.offsets[j]+idx] = 1
			}
		}
	}
	return out, nil
}

// columnTransformer is ColumnTransformer: each part selects columns and
// transforms them (or passes them through); the outputs are concatenated.
type columnTransformer struct {
	d     int
	parts []ctPart
}

type ctPart struct {
	cols  []int
	trans transformer // nil: passthrough
}

func decodeColumnTransformer(o *obj, depth int) (any, error) {
	m := &columnTransformer{}
	var err error
	if m.d, err = o.int("n_features_in_"); err != nil {
		return nil, err
	}
	var names []string
	if fv := o.opt("feature_names_in_"); fv != nil {
		if names, err = strs(fv); err != nil {
			return nil, o.errf("feature_names_in_", "%v", err)
		}
	}
	tv, err := o.get("transformers_")
	if err != nil {
		return nil, err
	}
	list, ok := items(tv)
	if !ok {
		return nil, o.errf("transformers_", "want a list")
	}
	for i, e := range list {
		tup, ok := items(e)
		if !ok || len(tup) < 3 {
			return nil, o.errf("transformers_", "entry %d is not (name, transformer, columns)", i)
		}
		cols, err := columnIndices(tup[2], m.d, names)
		if err != nil {
			return nil, o.errf("transformers_", "entry %d: %v", i, err)
		}
		switch x := tup[1].(type) {
		case string:
			switch x {
			case "drop":
				continue
			case "passthrough":
				m.parts = append(m.parts, ctPart{cols: cols})
				continue
			}
			return nil, o.errf("transformers_", "entry %d is %q", i, x)
		}
		step, err := decodeValue(tup[1], fmt.Sprintf("ColumnTransformer.transformers_[%d]", i), depth+1)
		if err != nil {
			return nil, err
		}
		tr, ok := step.(transformer)
		if !ok {
			return nil, fmt.Errorf("%w: ColumnTransformer holds an estimator that is not a transformer", ErrUnsupported)
		}
		if len(cols) == 0 {
			continue
		}
		m.parts = append(m.parts, ctPart{cols: cols, trans: tr})
	}
	return m, nil
}

// columnIndices resolves a ColumnTransformer column selection.
func columnIndices(v pickle.Value, d int, names []string) ([]int, error) {
	check := func(i int) (int, error) {
		if i < 0 {
			i += d
		}
		if i < 0 || i >= d {
			return 0, fmt.Errorf("column %d of %d", i, d)
		}
		return i, nil
	}
	if f, ok := toInt(v); ok {
		if _, isBool := v.(bool); !isBool {
			i, err := check(f)
			return []int{i}, err
		}
	}
	if s, ok := v.(string); ok {
		for i, n := range names {
			if n == s {
				return []int{i}, nil
			}
		}
		return nil, fmt.Errorf("column %q not in feature_names_in_", s)
	}
	if o, ok := v.(*pickle.Object); ok && o.Class.Module == "builtins" && o.Class.Name == "slice" {
		return nil, fmt.Errorf("%w: ColumnTransformer with a slice column selection", ErrUnsupported)
	}
	if a, ok := v.(*pickle.Array); ok && a.Dtype != nil && a.Dtype.Kind == 'b' {
		f, _, err := toFloats(a)
		if err != nil || len(f) != d {
			return nil, fmt.Errorf("bool mask of %d for %d columns", len(f), d)
		}
		var out []int
		for i, x := range f {
			if x != 0 {
				out = append(out, i)
			}
		}
		return out, nil
	}
	if a, ok := v.(*pickle.Array); ok && a.Dtype != nil && (a.Dtype.Kind == 'i' || a.Dtype.Kind == 'u') {
		f, _, err := toFloats(a)
		if err != nil {
			return nil, err
		}
		out := make([]int, len(f))
		for i, x := range f {
			if out[i], err = check(int(x)); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	list, ok := items(v)
	if !ok {
		if a, ok := v.(*pickle.Array); ok && (a.Dtype.Kind == 'U' || a.Dtype.Kind == 'S') {
			l, err := toLabels(a)
			if err != nil {
				return nil, err
			}
			list = l
		} else {
			return nil, fmt.Errorf("column selection %s", typeName(v))
		}
	}
	out := make([]int, 0, len(list))
	allBool := len(list) == d
	for _, e := range list {
		if _, ok := e.(bool); !ok {
			allBool = false
		}
	}
	for i, e := range list {
		if allBool {
			if e.(bool) {
				out = append(out, i)
			}
			continue
		}
		if s, ok := e.(string); ok {
			idx, err := columnIndices(s, d, names)
			if err != nil {
				return nil, err
			}
			out = append(out, idx...)
			continue
		}
		n, ok := toInt(e)
		if !ok {
			return nil, fmt.Errorf("column selection holds %s", typeName(e))
		}
		c, err := check(n)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func (m *columnTransformer) nIn() int { return m.d }

func (m *columnTransformer) transform(t *table) (*table, error) {
	if t.d != m.d {
		return nil, fmt.Errorf("%w: ColumnTransformer expects %d features, got %d", ErrFeatureCount, m.d, t.d)
	}
	var outs []*table
	width := 0
	for _, p := range m.parts {
		sub := &table{n: t.n, d: len(p.cols), v: make([]float64, t.n*len(p.cols))}
		for i := 0; i < t.n; i++ {
			for k, c := range p.cols {
				src := i*t.d + c
				sub.v[i*sub.d+k] = t.row(i)[c]
				if t.str != nil && t.str[src] {
					if sub.str == nil {
						sub.str = make([]bool, len(sub.v))
						sub.s = make([]string, len(sub.v))
					}
					sub.str[i*sub.d+k], sub.s[i*sub.d+k] = true, t.s[src]
				}
			}
		}
		if p.trans != nil {
			var err error
			if sub, err = p.trans.transform(sub); err != nil {
				return nil, err
			}
		}
		outs = append(outs, sub)
		width += sub.d
	}
	out := &table{n: t.n, d: width, v: make([]float64, t.n*width)}
	off := 0
	for _, s := range outs {
		for i := 0; i < t.n; i++ {
			copy(out.v[i*width+off:], s.row(i))
			if s.str != nil {
				for k := 0; k < s.d; k++ {
					if s.str[i*s.d+k] {
						if out.str == nil {
							out.str = make([]bool, len(out.v))
							out.s = make([]string, len(out.v))
						}
						out.str[i*width+off+k], out.s[i*width+off+k] = true, s.s[i*s.d+k]
					}
				}
			}
		}
		off += s.d
	}
	return out, nil
}
