package sklearn

import "math"

// bitset256 is a set of categories 0..255, as HistGradientBoosting's
// predictor stores them: eight uint32 words, category c in bit c%32 of
// word c/32.
type bitset256 [8]uint32

func (b *bitset256) has(c uint8) bool { return b[c/32]>>(c%32)&1 == 1 }

func anyNonZero(f []float64) bool {
	for _, x := range f {
		if x != 0 {
			return true
		}
	}
	return false
}

// knownCategories returns, for each feature of a HistGradientBoosting
// model, the categories seen at fit time (nil for a numeric feature):
// _BinMapper.make_known_categories_bitsets reads them from
// bin_thresholds_ of the categorical features (is_categorical_). It
// returns nil when no feature is categorical.
func knownCategories(o *obj, nFeatures int) ([]*bitset256, error) {
	v := o.opt("is_categorical_")
	if v == nil {
		return nil, nil
	}
	isCat, _, err := toFloats(v)
	if err != nil || len(isCat) != nFeatures {
		return nil, o.errf("is_categorical_", "want %d flags", nFeatures)
	}
	if !anyNonZero(isCat) {
		return nil, nil
	}
	bmv, err := o.get("_bin_mapper")
	if err != nil {
		return nil, err
	}
	bm, err := asObj(bmv, o.name+"._bin_mapper")
	if err != nil {
		return nil, err
	}
	tv, err := bm.get("bin_thresholds_")
	if err != nil {
		return nil, err
	}
	list, ok := items(tv)
	if !ok || len(list) != nFeatures {
		return nil, bm.errf("bin_thresholds_", "want %d arrays", nFeatures)
	}
	known := make([]*bitset256, nFeatures)
	for f, c := range isCat {
		if c == 0 {
			continue
		}
		cats, _, err := toFloats(list[f])
		if err != nil {
			return nil, bm.errf("bin_thresholds_", "feature %d: %v", f, err)
		}
		b := new(bitset256)
		for _, x := range cats {
			if x < 0 || x > 255 || x != math.Trunc(x) {
				return nil, bm.errf("bin_thresholds_", "feature %d: category %v is not in 0..255", f, x)
			}
			b[int(x)/32] |= 1 << (int(x) % 32)
		}
		known[f] = b
	}
	return known, nil
}

// categorical records node i's categorical split: row idx of the tree's
// raw_left_cat_bitsets holds the categories that go left.
func (t *hgbTree) categorical(o *obj, i int, idx float64, known []*bitset256) error {
	f := t.feature[i]
	if known == nil || known[f] == nil {
		return o.errf("nodes", "node %d splits feature %d as categorical, a numeric feature", i, f)
	}
	if t.leftCats == nil {
		bv, err := o.get("raw_left_cat_bitsets")
		if err != nil {
			return err
		}
		words, shape, err := toFloats(bv)
		if err != nil || len(shape) != 2 || shape[1] != 8 {
			return o.errf("raw_left_cat_bitsets", "want an (n, 8) array")
		}
		t.leftCats = make([]bitset256, shape[0])
		for k, w := range words {
			if w < 0 || w > math.MaxUint32 {
				return o.errf("raw_left_cat_bitsets", "word %v", w)
			}
			t.leftCats[k/8][k%8] = uint32(w)
		}
		n := len(t.leaf)
		t.cat, t.bitset, t.known = make([]bool, n), make([]int32, n), known
	}
	if idx < 0 || idx >= float64(len(t.leftCats)) {
		return o.errf("nodes", "node %d: bitset %v of %d", i, idx, len(t.leftCats))
	}
	t.cat[i], t.bitset[i] = true, int32(idx)
	return nil
}

// categoricalChild is the child of categorical node n for a value v that
// is not NaN: scikit-learn's _predict_one_from_raw_data. A negative value
// is missing; otherwise the value is cast to uint8 as the predictor's C
// code does, then it goes left if its category does, right if it is a
// known category, and as a missing value if it is unknown.
func (t *hgbTree) categoricalChild(n int32, v float64) int32 {
	if v >= 0 {
		c := castUint8(v)
		switch {
		case t.leftCats[t.bitset[n]].has(c):
			return t.left[n]
		case t.known[t.feature[n]].has(c):
			return t.right[n]
		}
	}
	if t.missingLeft[n] {
		return t.left[n]
	}
	return t.right[n]
}

// castUint8 is the C conversion <uint8_t>v of a non-negative double as
// scikit-learn's x86-64 build computes it (cvttsd2si to a 32-bit integer,
// then its low byte): 256 is 0, 300 is 44, and a value beyond the int32
// range (or +Inf) is 0. The fixture hist_gradient_boosting_categorical
// holds such rows.
func castUint8(v float64) uint8 {
	t := math.Trunc(v)
	if !(t <= math.MaxInt32) { // also +Inf
		return 0
	}
	return uint8(int32(t))
}
