package picklescan

import (
	"math"
	"strconv"
)

// dtypeState is what the scanner knows of a numpy.dtype: enough to compute
// its itemsize and whether it holds Python objects, exactly as numpy does
// after unpickling (numpy trusts the pickled elsize of flexible types and
// the pickled flags, so both are taken from the state and checked).
type dtypeState struct {
	kind  byte  // b i u f c O M m S U V
	size  int64 // itemsize implied by the type string
	built bool  // BUILD applied a state
	// From the state:
	elsize int64
	flags  int64
}

func flexible(kind byte) bool { return kind == 'S' || kind == 'U' || kind == 'V' }

// itemsize returns the dtype's itemsize as numpy computes it.
func (d *dtypeState) itemsize() int64 {
	if d.built && flexible(d.kind) {
		return d.elsize
	}
	return d.size
}

// hasObject returns dtype.hasobject: the NPY_ITEM_REFCOUNT flag.
func (d *dtypeState) hasObject() bool {
	if d.built {
		return d.flags&1 != 0
	}
	return d.kind == 'O'
}

// parseTypestr accepts exactly the type strings numpy's dtype.__reduce__
// writes: a kind and a size ("f8", "U5", "V16", "O8", "M8").
func parseTypestr(s string) (byte, int64, bool) {
	if len(s) < 2 {
		return 0, 0, false
	}
	kind := s[0]
	digits := s[1:]
	if digits[0] == '0' && len(digits) > 1 {
		return 0, 0, false
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt32 {
		return 0, 0, false
	}
	switch kind {
	case 'b':
		return kind, n, n == 1
	case 'i', 'u':
		return kind, n, n == 1 || n == 2 || n == 4 || n == 8
	case 'f':
		return kind, n, n == 2 || n == 4 || n == 8 || n == 12 || n == 16
	case 'c':
		return kind, n, n == 8 || n == 16 || n == 24 || n == 32
	case 'O':
		return kind, n, n == 4 || n == 8
	case 'M', 'm':
		return kind, n, n == 8
	case 'S', 'V':
		return kind, n, true
	case 'U':
		return kind, 4 * n, true
	}
	return 0, 0, false
}

// newDtype checks the arguments of numpy.dtype(typestr, False, True).
func (w *walker) newDtype(args value) (*dtypeState, error) {
	it := args.o.items
	if args.o.lost || len(it) != 3 || it[0].k != kStr || it[0].big ||
		it[1].k != kBool || it[1].n != 0 || it[2].k != kBool || it[2].n != 1 {
		return nil, w.invalid("numpy.dtype arguments are not (typestr, False, True)")
	}
	kind, size, ok := parseTypestr(it[0].s)
	if !ok {
		return nil, w.invalid("numpy.dtype type string %q is not supported", it[0].s)
	}
	return &dtypeState{kind: kind, size: size}, nil
}

// dtypeSetState models numpy's dtype.__setstate__ for the state tuples
// numpy writes (versions 3 and 4) and rejects anything else.
func (w *walker) dtypeSetState(d *dtypeState, state value) error {
	if state.k != kTuple || state.o.lost {
		return w.invalid("numpy.dtype state is a %s, want a tuple", state.k)
	}
	it := state.o.items
	if !(len(it) == 8 && it[0].k == kInt && it[0].n == 3) && !(len(it) == 9 && it[0].k == kInt && it[0].n == 4) {
		return w.invalid("numpy.dtype state is not a version 3 or 4 tuple")
	}
	if it[1].k != kStr || len(it[1].s) != 1 || !containsByte("<>|=", it[1].s[0]) {
		return w.invalid("numpy.dtype state has a bad byte order")
	}
	sub, names, fields := it[2], it[3], it[4]
	for _, x := range it[5:8] {
		if x.k != kInt || x.big {
			return w.invalid("numpy.dtype state has a non-integer size, alignment or flags")
		}
	}
	elsize, flags := it[5].n, it[7].n
	if flexible(d.kind) {
		if elsize <= 0 || elsize > math.MaxInt32 || (d.kind == 'U' && elsize%4 != 0) {
			return w.invalid("numpy.dtype state has itemsize %d for kind %c", elsize, d.kind)
		}
	} else if elsize != -1 {
		return w.invalid("numpy.dtype state sets itemsize %d on a fixed-size kind %c", elsize, d.kind)
	}
	computed := d.kind == 'O'
	if sub.k != kNone {
		if d.kind != 'V' || sub.k != kTuple || sub.o.lost || len(sub.o.items) != 2 {
			return w.invalid("numpy.dtype state has a bad subarray")
		}
		base, shape := sub.o.items[0], sub.o.items[1]
		if base.k != kInstance || base.o.role != roleDtype {
			return w.invalid("numpy.dtype subarray base is not a dtype")
		}
		n, ok := shapeCount(shape)
		if !ok || base.o.dt.itemsize() <= 0 || n > elsize/base.o.dt.itemsize() {
			return w.invalid("numpy.dtype subarray does not fit its itemsize %d", elsize)
		}
		computed = computed || base.o.dt.hasObject()
	}
	if (names.k == kNone) != (fields.k == kNone) {
		return w.invalid("numpy.dtype state has names without fields")
	}
	if fields.k != kNone {
		if d.kind != 'V' || names.k != kTuple || fields.k != kDict || fields.o.lost {
			return w.invalid("numpy.dtype state has bad fields")
		}
		for i := 1; i < len(fields.o.items); i += 2 {
			f := fields.o.items[i]
			if f.k != kTuple || f.o.lost || len(f.o.items) < 2 || len(f.o.items) > 3 {
				return w.invalid("numpy.dtype field is not a (dtype, offset) tuple")
			}
			fd, off := f.o.items[0], f.o.items[1]
			if fd.k != kInstance || fd.o.role != roleDtype {
				return w.invalid("numpy.dtype field type is not a dtype")
			}
			fsize := fd.o.dt.itemsize()
			if off.k != kInt || off.big || off.n < 0 || fsize < 0 || off.n > elsize-fsize {
				return w.invalid("numpy.dtype field does not fit its itemsize %d", elsize)
			}
			computed = computed || fd.o.dt.hasObject()
		}
	}
	// Flags are trusted by numpy: hasobject (NPY_ITEM_REFCOUNT) and
	// NPY_LIST_PICKLE must say exactly whether the dtype holds objects,
	// and NPY_ITEM_IS_POINTER only goes with objects.
	switch {
	case d.kind == 'O' && flags != npyObjectFlags:
		return w.invalid("numpy.dtype object state has flags %d, want %d", flags, npyObjectFlags)
	case computed && flags&3 != 3, !computed && flags&7 != 0:
		return w.invalid("numpy.dtype state flags %d disagree with whether the dtype holds objects", flags)
	}
	d.built, d.elsize, d.flags = true, elsize, flags
	return nil
}

// npyObjectFlags are the flags of numpy's object dtype
// (NPY_OBJECT_DTYPE_FLAGS).
const npyObjectFlags = 63

// shapeCount returns the number of elements of a shape tuple.
func shapeCount(shape value) (int64, bool) {
	if shape.k != kTuple || shape.o.lost {
		return 0, false
	}
	count := int64(1)
	for _, d := range shape.o.items {
		if d.k != kInt || d.big || d.n < 0 {
			return 0, false
		}
		if d.n != 0 && count > math.MaxInt64/d.n {
			return 0, false
		}
		count *= d.n
	}
	return count, true
}

func containsByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}

// wrapperSetState models BUILD on a NumpyArrayWrapper: the state dict (and
// optional slot state) updates its attributes.
func (w *walker) wrapperSetState(o *object, state value) error {
	var dicts []value
	switch state.k {
	case kDict:
		dicts = []value{state}
	case kTuple:
		if state.o.lost || len(state.o.items) != 2 {
			return w.invalid("NumpyArrayWrapper state is not a dict")
		}
		for _, d := range state.o.items {
			if d.k != kNone {
				dicts = append(dicts, d)
			}
		}
	default:
		return w.invalid("NumpyArrayWrapper state is a %s, want a dict", state.k)
	}
	for _, d := range dicts {
		if d.k != kDict || d.o.lost {
			return w.invalid("NumpyArrayWrapper state is not a small dict")
		}
		for i := 0; i < len(d.o.items); i += 2 {
			if k := d.o.items[i]; k.k != kStr || k.big {
				return w.invalid("NumpyArrayWrapper state has a %s key", k.k)
			}
		}
		if len(o.attrs)+len(d.o.items) > maxItems {
			return w.invalid("NumpyArrayWrapper state is too large")
		}
		o.attrs = append(o.attrs, d.o.items...)
	}
	return nil
}

// readArray models NumpyArrayWrapper.read (joblib/numpy_pickle.py): after
// the wrapper is built, joblib reads the array from the file right after
// the BUILD opcode: a nested pickle for object dtypes, otherwise an
// optional padding-length byte, that many padding bytes, and
// prod(shape) * itemsize raw bytes, which are skipped unread.
func (w *walker) readArray(o *object) (value, error) {
	in := w.in
	shape, _ := lookup(o.attrs, "shape")
	count, ok := shapeCount(shape)
	if !ok {
		return value{}, w.invalid("NumpyArrayWrapper shape is not a tuple of dimensions")
	}
	dtv, ok := lookup(o.attrs, "dtype")
	if !ok || dtv.k != kInstance || dtv.o.role != roleDtype {
		return value{}, w.invalid("NumpyArrayWrapper without a numpy.dtype")
	}
	dt := dtv.o.dt
	order, ok := lookup(o.attrs, "order")
	if !ok || order.k != kStr || (order.s != "C" && order.s != "F") {
		return value{}, w.invalid("NumpyArrayWrapper order is not 'C' or 'F'")
	}
	if sc, ok := lookup(o.attrs, "subclass"); !ok || sc.k != kGlobal {
		return value{}, w.invalid("NumpyArrayWrapper subclass is not a class")
	}
	if in.inFrame && in.frameLeft > 0 {
		return value{}, w.invalid("array data inside a frame (%d bytes of the frame left)", in.frameLeft)
	}
	in.inFrame = false
	mmap, _ := lookup(o.attrs, "allow_mmap")
	arr := value{k: kInstance, o: &object{g: gNDArray, role: roleNDArray}}
	if dt.hasObject() {
		if mmap.truthy() {
			return value{}, w.invalid("NumpyArrayWrapper allows mmap of an object array")
		}
		root, err := w.s.walk(modeNested)
		if err != nil {
			return value{}, err
		}
		if root.k != kInstance || root.o.role != roleNDArray {
			return value{}, w.invalid("object-array pickle does not hold an ndarray")
		}
		w.s.res.NestedPickles++
		return arr, nil
	}
	if align, ok := lookup(o.attrs, "numpy_array_alignment_bytes"); ok && align.k != kNone {
		b, err := in.br.ReadByte()
		if err != nil {
			return value{}, in.fail(err)
		}
		in.pos++
		if err := in.discard(int64(b)); err != nil {
			return value{}, err
		}
	}
	size := dt.itemsize()
	if size <= 0 {
		return value{}, w.invalid("array dtype has itemsize %d", size)
	}
	if count != 0 && size > math.MaxInt64/count {
		return value{}, w.invalid("array size overflows")
	}
	n := count * size
	if err := in.discard(n); err != nil {
		return value{}, err
	}
	w.s.res.Arrays++
	w.s.res.ArrayBytes += n
	return arr, nil
}
