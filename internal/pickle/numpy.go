package pickle

import (
	"encoding/binary"
	"math"
	"strconv"
)

// parseTypestr accepts exactly the type strings numpy's dtype.__reduce__
// writes: a kind and a size ("f8", "U5", "V16", "O8").
func parseTypestr(s string) (*Dtype, bool) {
	if len(s) < 2 {
		return nil, false
	}
	kind := s[0]
	digits := s[1:]
	if digits[0] == '0' && len(digits) > 1 {
		return nil, false
	}
	n, err := strconv.ParseInt(digits, 10, 32)
	if err != nil || n < 0 {
		return nil, false
	}
	d := &Dtype{Kind: kind, ItemSize: int(n), Order: LittleEndian}
	ok := false
	switch kind {
	case 'b':
		ok = n == 1
	case 'i', 'u':
		ok = n == 1 || n == 2 || n == 4 || n == 8
	case 'f':
		ok = n == 2 || n == 4 || n == 8
	case 'c':
		ok = n == 8 || n == 16
	case 'O':
		ok = n == 8
	case 'S', 'V':
		ok = true
	case 'U':
		ok = n <= math.MaxInt32/4
		d.ItemSize = 4 * int(n)
	}
	if d.ItemSize <= 1 || kind == 'O' || kind == 'S' || kind == 'V' {
		d.Order = NotApplicable
	}
	return d, ok
}

// flexible kinds take their itemsize from the BUILD state.
func flexible(kind byte) bool { return kind == 'S' || kind == 'U' || kind == 'V' }

// hasObject reports whether a dtype holds Python objects. Fields never
// do: dtypeSetState rejects them.
func hasObject(d *Dtype) bool { return d.Kind == 'O' }

// npyObjectFlags are the flags of numpy's object dtype.
const npyObjectFlags = 63

// maxFields bounds the fields of a structured dtype, maxDtypeDepth its
// nesting.
const (
	maxFields     = 64
	maxDtypeDepth = 4
)

// dtypeDepth is the nesting depth of a dtype's fields, from the depths
// recorded when its field dtypes were built (linear, even for a DAG).
func (m *machine) dtypeDepth(d *Dtype) int {
	n := 0
	for _, fl := range d.Fields {
		if nm := m.meta[fl.Dtype]; nm != nil {
			n = max(n, nm.depth)
		}
	}
	return n + 1
}

// useDtype freezes a dtype that an array, scalar or field uses: numpy
// copies what it needs at that point, so a later BUILD would make the
// graph disagree with the loader.
func (f *frame) useDtype(v Value, who string) (*Dtype, error) {
	d, ok := v.(*Dtype)
	if !ok {
		return nil, f.unsafe(Global{}, "dtype", "%s has a %s where a numpy.dtype belongs", who, typeName(v))
	}
	f.m.meta[d].frozen = true
	return d, nil
}

// dtypeSetState applies numpy's dtype.__setstate__ for the state tuples
// numpy writes (versions 3 and 4) and rejects anything else.
func (f *frame) dtypeSetState(d *Dtype, state Value) error {
	nm := f.m.meta[d]
	rule := "dtype-state"
	bad := func(format string, args ...any) error { return f.unsafeAt(d, rule, format, args...) }
	if nm.built || nm.frozen {
		return bad("a second BUILD, or a BUILD after the dtype was used: numpy already copied it")
	}
	nm.built = true
	t, ok := state.(*Tuple)
	if !ok {
		return bad("state is a %s, want a tuple", typeName(state))
	}
	it := t.Items
	if !(len(it) == 8 && it[0] == int64(3)) && !(len(it) == 9 && it[0] == int64(4) && it[8] == nil) {
		return bad("state is not a version 3 or version 4 tuple without metadata")
	}
	order, _ := it[1].(string)
	if len(order) != 1 || !containsByte("<>|=", order[0]) {
		return bad("bad byte order %v", it[1])
	}
	if order == "=" {
		order = "<"
	}
	if it[2] != nil {
		return bad("subarray dtypes are not supported")
	}
	elsize, ok1 := it[5].(int64)
	_, ok2 := it[6].(int64)
	flags, ok3 := it[7].(int64)
	if !ok1 || !ok2 || !ok3 {
		return bad("itemsize, alignment and flags must be ints")
	}
	if flexible(d.Kind) {
		if elsize <= 0 || elsize > f.m.opts.MaxItemSize || (d.Kind == 'U' && elsize%4 != 0) {
			return bad("itemsize %d for kind %c is outside 1..%d", elsize, d.Kind, f.m.opts.MaxItemSize)
		}
		d.ItemSize = int(elsize)
	} else if elsize != -1 {
		return bad("itemsize %d set on a fixed-size kind %c", elsize, d.Kind)
	}
	d.Order = ByteOrder(order[0])
	names, fields := it[3], it[4]
	if (names == nil) != (fields == nil) {
		return bad("names without fields")
	}
	if fields != nil {
		nt, ok1 := names.(*Tuple)
		fd, ok2 := fields.(*Dict)
		if d.Kind != 'V' || !ok1 || !ok2 || len(nt.Items) != len(fd.Keys) || len(nt.Items) > maxFields {
			return bad("fields must be a dict matching the names tuple (at most %d) of a void dtype", maxFields)
		}
		for _, n := range nt.Items {
			name, ok := n.(string)
			if !ok {
				return bad("field name is a %s", typeName(n))
			}
			fv, _ := fd.Get(name)
			ft, ok := fv.(*Tuple)
			if !ok || len(ft.Items) != 2 {
				return bad("field %q is not a (dtype, offset) tuple", name)
			}
			if ft.Items[0] == Value(d) {
				return bad("field %q is the dtype itself", name)
			}
			sub, err := f.useDtype(ft.Items[0], "field "+name)
			if err != nil {
				return err
			}
			off, ok := ft.Items[1].(int64)
			if !ok || off < 0 || off > elsize-int64(sub.ItemSize) {
				return bad("field %q does not fit the itemsize %d", name, elsize)
			}
			if hasObject(sub) {
				return bad("field %q holds Python objects", name)
			}
			d.Fields = append(d.Fields, Field{Name: name, Dtype: sub, Offset: int(off)})
		}
		nm.depth = f.m.dtypeDepth(d)
		if nm.depth > maxDtypeDepth {
			return bad("fields nested deeper than %d", maxDtypeDepth)
		}
	}
	switch {
	case d.Kind == 'O' && flags != npyObjectFlags:
		return bad("object dtype has flags %d, want %d", flags, npyObjectFlags)
	case d.Kind != 'O' && flags&7 != 0:
		return bad("flags %d claim Python objects in a dtype without any", flags)
	}
	return nil
}

func containsByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}

// shapeCount checks a shape tuple and returns its dimensions and element
// count; the count times itemsize must fit the budget.
func (f *frame) shapeCount(v Value, itemsize int, who string) ([]int, int64, error) {
	t, ok := v.(*Tuple)
	if !ok || len(t.Items) > 32 {
		return nil, 0, f.unsafe(Global{}, "shape", "%s shape is a %s, want a tuple of at most 32 dimensions", who, typeName(v))
	}
	dims := make([]int, len(t.Items))
	count := int64(1)
	for i, x := range t.Items {
		n, ok := x.(int64)
		if !ok || n < 0 {
			return nil, 0, f.unsafe(Global{}, "shape", "%s shape has a dimension %v, want a non-negative int", who, x)
		}
		if n != 0 && count > math.MaxInt64/n {
			return nil, 0, &Error{Kind: KindLimit, Rule: "budget", Offset: f.m.in.pos, Msg: who + " shape overflows"}
		}
		count *= n
		dims[i] = int(n)
	}
	size := int64(max(itemsize, 1))
	if count != 0 && size > math.MaxInt64/count {
		return nil, 0, &Error{Kind: KindLimit, Rule: "budget", Offset: f.m.in.pos, Msg: who + " size overflows"}
	}
	return dims, count, f.m.charge(count*size, who)
}

// reconstructSetState applies ndarray.__setstate__ to an array made by
// numpy.core.multiarray._reconstruct: (version, shape, dtype, is_fortran,
// rawdata), rawdata holding exactly the array's bytes, or for object
// arrays a list of exactly its elements (numpy 1.24 reads past the end of
// a shorter list).
func (f *frame) reconstructSetState(a *Array, state Value) error {
	nm := f.m.meta[a]
	bad := func(format string, args ...any) error { return f.unsafeAt(a, "ndarray-state", format, args...) }
	if nm.built {
		return bad("a second BUILD on an array")
	}
	nm.built = true
	t, ok := state.(*Tuple)
	if !ok || len(t.Items) != 5 || t.Items[0] != int64(1) {
		return bad("state is not numpy's (1, shape, dtype, is_fortran, data) tuple")
	}
	dt, err := f.useDtype(t.Items[2], f.m.describe(a))
	if err != nil {
		return err
	}
	fortran, ok := t.Items[3].(bool)
	if !ok {
		return bad("is_fortran is a %s, want a bool", typeName(t.Items[3]))
	}
	shape, count, err := f.shapeCount(t.Items[1], dt.ItemSize, f.m.describe(a))
	if err != nil {
		return err
	}
	a.Dtype, a.Shape, a.Fortran = dt, shape, fortran
	if dt.Kind == 'O' {
		l, ok := t.Items[4].(*List)
		if !ok || int64(len(l.Items)) != count {
			return bad("object array data must be a list of exactly %d items", count)
		}
		a.Objects = append([]Value(nil), l.Items...)
		return nil
	}
	if hasObject(dt) {
		return bad("structured dtype with Python objects")
	}
	b, ok := t.Items[4].([]byte)
	if !ok || int64(len(b)) != count*int64(dt.ItemSize) {
		return bad("array data must be exactly %d bytes", count*int64(dt.ItemSize))
	}
	a.Data = b
	return nil
}

// wrapperKeys is the fixed grammar of joblib's NumpyArrayWrapper state
// (joblib/numpy_pickle.py): five fields, and the alignment field joblib
// >= 0.12 adds.
var wrapperKeys = map[string]bool{
	"subclass": true, "shape": true, "order": true, "dtype": true, "allow_mmap": true,
	"numpy_array_alignment_bytes": true,
}

// wrapperBuild parses a NumpyArrayWrapper's state as a fixed grammar and
// reads what joblib reads after it (NumpyArrayWrapper.read): a nested
// pickle for object dtypes, otherwise an optional padding-length byte,
// that many padding bytes and prod(shape) * itemsize raw bytes. The byte
// split is derived from the validated state, whose dtype is frozen.
func (f *frame) wrapperBuild(w *wrapper, state Value) (Value, error) {
	nm := f.m.meta[w]
	bad := func(format string, args ...any) (Value, error) {
		return nil, f.unsafeAt(w, "array-wrapper", format, args...)
	}
	if nm.built {
		return bad("a second BUILD on a NumpyArrayWrapper")
	}
	nm.built = true
	d, ok := state.(*Dict)
	if !ok {
		return bad("state is a %s, want a dict", typeName(state))
	}
	for _, k := range d.Keys {
		s, ok := k.(string)
		if !ok || !wrapperKeys[s] {
			return bad("state key %v is not one of joblib's fields (subclass, shape, order, dtype, allow_mmap, numpy_array_alignment_bytes): it could shadow a method such as read or read_array", k)
		}
	}
	if len(d.Keys) < 5 {
		return bad("state has %d of joblib's fields, want all of subclass, shape, order, dtype and allow_mmap", len(d.Keys))
	}
	sub, _ := d.Get("subclass")
	if sub != gNDArray && sub != gMemmap {
		return bad("subclass is %s, want numpy.ndarray or numpy.memmap", typeName(sub))
	}
	order, _ := d.Get("order")
	if order != "C" && order != "F" {
		return bad("order is %v, want 'C' or 'F'", order)
	}
	mm, _ := d.Get("allow_mmap")
	mmap, ok := mm.(bool)
	if !ok {
		return bad("allow_mmap is a %s, want a bool", typeName(mm))
	}
	dv, _ := d.Get("dtype")
	dt, err := f.useDtype(dv, f.m.describe(w))
	if err != nil {
		return nil, err
	}
	align, hasAlign := d.Get("numpy_array_alignment_bytes")
	if hasAlign && align != nil && align != int64(8) && align != int64(16) {
		return bad("numpy_array_alignment_bytes is %v, want None, 8 or 16", align)
	}
	sv, _ := d.Get("shape")
	shape, count, err := f.shapeCount(sv, dt.ItemSize, f.m.describe(w))
	if err != nil {
		return nil, err
	}
	if f.mode != modeJoblib {
		// pickle.load: an ordinary instance; what follows are opcodes.
		return nil, nil
	}
	in := f.m.in
	if in.inFrame && in.frameLeft > 0 {
		return nil, f.soft("array data inside a frame (%d bytes of the frame left)", in.frameLeft)
	}
	in.inFrame = false
	if dt.Kind == 'O' {
		if mmap {
			return bad("allow_mmap on an object array")
		}
		f.m.nested++
		if f.m.nested > 1<<16 {
			return nil, &Error{Kind: KindLimit, Rule: "nested-pickles", Offset: in.pos, Msg: "more than 65536 object-array pickles"}
		}
		root, err := f.m.parse(modeNested)
		if err != nil {
			return nil, err
		}
		a, ok := root.(*Array)
		if !ok || a.Dtype == nil {
			return nil, f.unsafe(Global{}, "array-wrapper", "object-array pickle holds a %s, want a built numpy.ndarray", typeName(root))
		}
		f.m.res.NestedPickles++
		return a, nil
	}
	if hasObject(dt) {
		return bad("dtype holds Python objects")
	}
	start := in.pos
	if f.m.skipped != nil {
		defer func() { f.m.skipped(start, in.pos) }()
	}
	if hasAlign && align != nil {
		b, err := in.fixed(1)
		if err != nil {
			return nil, err
		}
		if err := in.discard(int64(b[0])); err != nil {
			return nil, err
		}
	}
	n := count * int64(dt.ItemSize)
	a := &Array{Dtype: dt, Shape: shape, Fortran: order == "F"}
	f.m.node(a, "joblib array").fromWrapper = true
	f.m.meta[a].built = true
	if f.m.load {
		b, err := in.readAll(n)
		if err != nil {
			return nil, err
		}
		a.Data = b
	} else if err := in.discard(n); err != nil {
		return nil, err
	}
	f.m.res.Arrays++
	f.m.res.ArrayBytes += n
	return a, nil
}

// scalarValue decodes numpy.core.multiarray.scalar(dtype, bytes): float
// kinds become float64, others a *Scalar.
func scalarValue(d *Dtype, b []byte) Value {
	bo := binary.ByteOrder(binary.LittleEndian)
	if d.Order == BigEndian {
		bo = binary.BigEndian
	}
	if d.Kind == 'f' {
		switch d.ItemSize {
		case 8:
			return math.Float64frombits(bo.Uint64(b))
		case 4:
			return float64(math.Float32frombits(bo.Uint32(b)))
		}
	}
	return &Scalar{Dtype: d, Data: b}
}
