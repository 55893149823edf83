package irismodel

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
)

// dtype is the part of a numpy.dtype the decoder needs.
type dtype struct {
	kind      byte // b i u f O U
	itemsize  int
	bigEndian bool
}

// ndarray is a decoded numpy array: raw little- or big-endian data for
// numeric and string kinds, or the Python values of an object array.
type ndarray struct {
	dt      dtype
	shape   []int
	fortran bool
	raw     []byte // len == count*itemsize, unless the kind is 'O'
	objs    []any  // len == count, for kind 'O'
}

func (a *ndarray) count() int {
	n := 1
	for _, d := range a.shape {
		n *= d
	}
	return n
}

// parseDtype interprets numpy.dtype(typestr, False, True) with the state
// numpy's dtype.__reduce__ writes: (version, byteorder, subarray, names,
// fields, elsize, alignment, flags[, metadata]).
func parseDtype(v any) (dtype, error) {
	o, ok := v.(*object)
	if !ok || o.class != gDtype || !o.built {
		return dtype{}, fmt.Errorf("%w: array dtype is a %T, want a built numpy.dtype", ErrInvalidModel, v)
	}
	if len(o.args) != 3 || o.args[1] != false || o.args[2] != true {
		return dtype{}, fmt.Errorf("%w: numpy.dtype arguments are not (typestr, False, True)", ErrInvalidModel)
	}
	ts, ok := o.args[0].(string)
	if !ok || len(ts) < 2 || len(ts) > 12 {
		return dtype{}, fmt.Errorf("%w: numpy.dtype type string is not a short string", ErrInvalidModel)
	}
	size, err := strconv.Atoi(ts[1:])
	if err != nil || size <= 0 {
		return dtype{}, fmt.Errorf("%w: numpy.dtype type string %q", ErrInvalidModel, ts)
	}
	dt := dtype{kind: ts[0], itemsize: size}
	switch dt.kind {
	case 'f':
		ok = size == 4 || size == 8
	case 'i', 'u':
		ok = size == 1 || size == 2 || size == 4 || size == 8
	case 'b':
		ok = size == 1
	case 'O':
		ok = size == 8
	case 'U':
		ok = size <= 1<<20
		dt.itemsize = 4 * size
	default:
		ok = false
	}
	if !ok {
		return dtype{}, fmt.Errorf("%w: numpy.dtype %q is not supported", ErrInvalidModel, ts)
	}
	st, ok := o.state.(tuple)
	if !ok || len(st) < 8 || len(st) > 9 {
		return dtype{}, fmt.Errorf("%w: numpy.dtype state is not a version 3 or 4 tuple", ErrInvalidModel)
	}
	if ver, _ := st[0].(int64); ver != 3 && ver != 4 {
		return dtype{}, fmt.Errorf("%w: numpy.dtype state version %v", ErrInvalidModel, st[0])
	}
	if st[2] != nil || st[3] != nil || st[4] != nil {
		return dtype{}, fmt.Errorf("%w: structured and subarray dtypes are not supported", ErrInvalidModel)
	}
	switch st[1] {
	case "<", "|", "=":
	case ">":
		dt.bigEndian = true
	default:
		return dtype{}, fmt.Errorf("%w: numpy.dtype byte order %v", ErrInvalidModel, st[1])
	}
	if dt.kind == 'U' {
		if es, _ := st[5].(int64); es != int64(dt.itemsize) {
			return dtype{}, fmt.Errorf("%w: numpy.dtype itemsize %v for %q", ErrInvalidModel, st[5], ts)
		}
	}
	return dt, nil
}

// parseShape checks a shape tuple and returns it with its element count,
// bounded by limit (the bytes or items the array may still use).
func parseShape(v any, itemsize int, limit int) ([]int, int, error) {
	t, ok := v.(tuple)
	if !ok || len(t) > 32 {
		return nil, 0, fmt.Errorf("%w: array shape is a %T, want a short tuple", ErrInvalidModel, v)
	}
	shape := make([]int, len(t))
	count := 1
	for i, d := range t {
		n, ok := d.(int64)
		if !ok || n < 0 || n > int64(limit) {
			return nil, 0, fmt.Errorf("%w: array dimension %v", ErrInvalidModel, d)
		}
		shape[i] = int(n)
		if n != 0 && count > limit/int(n) {
			return nil, 0, fmt.Errorf("%w: array larger than the input", ErrInvalidModel)
		}
		count *= int(n)
	}
	if itemsize > 0 && count > limit/itemsize {
		return nil, 0, fmt.Errorf("%w: array of %d items of %d bytes is larger than the input", ErrInvalidModel, count, itemsize)
	}
	return shape, count, nil
}

// readWrapped models NumpyArrayWrapper.read (joblib/numpy_pickle.py) for
// the BUILT wrapper o: the array data follows the BUILD opcode, outside
// any frame. An object array is a nested protocol-2 pickle; any other
// array is an optional padding-length byte (when the wrapper has
// numpy_array_alignment_bytes), that many padding bytes, and
// prod(shape)*itemsize raw bytes in the wrapper's order.
func readWrapped(in *input, o *object) (*ndarray, error) {
	st, ok := o.state.(*dict)
	if !ok || len(o.args) != 0 {
		return nil, in.errorf("NumpyArrayWrapper state is a %T, want a dict", o.state)
	}
	dtv, _ := st.get("dtype")
	dt, err := parseDtype(dtv)
	if err != nil {
		return nil, err
	}
	order, _ := st.get("order")
	if order != "C" && order != "F" {
		return nil, in.errorf("NumpyArrayWrapper order is not 'C' or 'F'")
	}
	if sc, _ := st.get("subclass"); sc != gNDArray {
		return nil, in.errorf("NumpyArrayWrapper subclass is not numpy.ndarray")
	}
	if in.pos < in.frameEnd {
		return nil, in.errorf("array data inside a frame")
	}
	in.frameEnd = 0
	shv, _ := st.get("shape")
	if dt.kind == 'O' {
		shape, count, err := parseShape(shv, 0, in.remaining())
		if err != nil {
			return nil, err
		}
		root, err := unpickle(in, modeNested)
		if err != nil {
			return nil, err
		}
		arr, err := reconstruct(root)
		if err != nil {
			return nil, err
		}
		if arr.count() != count || len(arr.shape) != len(shape) {
			return nil, in.errorf("object array shape disagrees with its wrapper")
		}
		return arr, nil
	}
	if align, ok := st.get("numpy_array_alignment_bytes"); ok && align != nil {
		n, err := in.uint(1)
		if err != nil {
			return nil, err
		}
		if _, err := in.read(n); err != nil {
			return nil, err
		}
	}
	shape, count, err := parseShape(shv, dt.itemsize, in.remaining())
	if err != nil {
		return nil, err
	}
	raw, err := in.read(uint64(count) * uint64(dt.itemsize))
	if err != nil {
		return nil, err
	}
	return &ndarray{dt: dt, shape: shape, fortran: order == "F", raw: raw}, nil
}

// reconstruct interprets the root of an object array's nested pickle:
// numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), b'b') built
// with the state (version, shape, dtype, is_fortran, data).
func reconstruct(v any) (*ndarray, error) {
	o, ok := v.(*object)
	if !ok || o.class != gReconstruct || !o.built {
		return nil, fmt.Errorf("%w: object-array pickle holds a %T, want an ndarray", ErrInvalidModel, v)
	}
	if len(o.args) != 3 || o.args[0] != gNDArray {
		return nil, fmt.Errorf("%w: _reconstruct arguments", ErrInvalidModel)
	}
	st, ok := o.state.(tuple)
	if !ok || len(st) != 5 || st[0] != int64(1) {
		return nil, fmt.Errorf("%w: ndarray state is not a version 1 tuple", ErrInvalidModel)
	}
	dt, err := parseDtype(st[2])
	if err != nil {
		return nil, err
	}
	fortran, ok := st[3].(bool)
	if !ok {
		return nil, fmt.Errorf("%w: ndarray is_fortran is a %T", ErrInvalidModel, st[3])
	}
	arr := &ndarray{dt: dt, fortran: fortran}
	if dt.kind == 'O' {
		l, ok := st[4].(*list)
		if !ok {
			return nil, fmt.Errorf("%w: object array data is a %T, want a list", ErrInvalidModel, st[4])
		}
		shape, count, err := parseShape(st[1], 0, len(l.items))
		if err != nil {
			return nil, err
		}
		if count != len(l.items) {
			return nil, fmt.Errorf("%w: object array has %d items for %d elements", ErrInvalidModel, len(l.items), count)
		}
		arr.shape, arr.objs = shape, l.items
		return arr, nil
	}
	raw, ok := st[4].([]byte)
	if !ok {
		return nil, fmt.Errorf("%w: array data is a %T, want bytes", ErrInvalidModel, st[4])
	}
	shape, count, err := parseShape(st[1], dt.itemsize, len(raw))
	if err != nil {
		return nil, err
	}
	if count*dt.itemsize != len(raw) {
		return nil, fmt.Errorf("%w: array has %d bytes for %d elements", ErrInvalidModel, len(raw), count)
	}
	arr.shape, arr.raw = shape, raw
	return arr, nil
}

// float64s returns a float array's elements in C order.
func (a *ndarray) float64s() ([]float64, error) {
	if a.dt.kind != 'f' {
		return nil, fmt.Errorf("%w: array of kind %q, want floats", ErrInvalidModel, a.dt.kind)
	}
	n := a.count()
	out := make([]float64, n)
	for i := range out {
		b := a.raw[i*a.dt.itemsize : (i+1)*a.dt.itemsize]
		if a.dt.itemsize == 4 {
			out[i] = float64(math.Float32frombits(a.order().Uint32(b)))
		} else {
			out[i] = math.Float64frombits(a.order().Uint64(b))
		}
	}
	return a.toC(out), nil
}

func (a *ndarray) order() binary.ByteOrder {
	if a.dt.bigEndian {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// toC reorders the elements of a 2-D Fortran-order array into C order.
func (a *ndarray) toC(x []float64) []float64 {
	if !a.fortran || len(a.shape) != 2 {
		return x
	}
	r, c := a.shape[0], a.shape[1]
	out := make([]float64, len(x))
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			out[i*c+j] = x[j*r+i]
		}
	}
	return out
}

// labels returns a 1-D array's elements as strings: the str values of an
// object array, a numpy unicode array, or integers in decimal.
func (a *ndarray) labels() ([]string, error) {
	if len(a.shape) != 1 {
		return nil, fmt.Errorf("%w: classes_ has %d dimensions, want 1", ErrInvalidModel, len(a.shape))
	}
	n := a.shape[0]
	out := make([]string, n)
	switch a.dt.kind {
	case 'O':
		for i, v := range a.objs {
			switch x := v.(type) {
			case string:
				out[i] = x
			case int64:
				out[i] = strconv.FormatInt(x, 10)
			default:
				return nil, fmt.Errorf("%w: class label is a %T", ErrInvalidModel, v)
			}
		}
	case 'U':
		for i := range out {
			b := a.raw[i*a.dt.itemsize : (i+1)*a.dt.itemsize]
			rs := make([]rune, 0, len(b)/4)
			for j := 0; j < len(b); j += 4 {
				r := rune(a.order().Uint32(b[j:]))
				if r == 0 {
					break
				}
				if !utf8.ValidRune(r) {
					return nil, fmt.Errorf("%w: class label is not valid text", ErrInvalidModel)
				}
				rs = append(rs, r)
			}
			out[i] = string(rs)
		}
	case 'i', 'u':
		for i := range out {
			b := a.raw[i*a.dt.itemsize : (i+1)*a.dt.itemsize]
			var x [8]byte
			if a.dt.bigEndian {
				copy(x[8-len(b):], b)
			} else {
				copy(x[:], b)
			}
			u := a.order().Uint64(x[:])
			if a.dt.kind == 'u' {
				out[i] = strconv.FormatUint(u, 10)
				continue
			}
			shift := 64 - 8*uint(len(b))
			out[i] = strconv.FormatInt(int64(u<<shift)>>shift, 10)
		}
	default:
		return nil, fmt.Errorf("%w: classes_ of kind %q", ErrInvalidModel, a.dt.kind)
	}
	return out, nil
}
