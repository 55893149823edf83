package sklearn

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"strings"
	"unicode/utf8"

	"github.com/modelvault/modelvault/internal/pickle"
)

// obj is an estimator object being decoded; errors name its class and
// the attribute.
type obj struct {
	o    *pickle.Object
	name string // class name, for errors
}

func asObj(v pickle.Value, what string) (*obj, error) {
	o, ok := v.(*pickle.Object)
	if !ok || o == nil {
		return nil, fmt.Errorf("%w: %s is %s, not an object", ErrInvalidModel, what, typeName(v))
	}
	name := o.Class.Name
	if c, ok := classOf(name); ok {
		name = c.String() // the static string: an estimator keeping its name keeps nothing of the file
	}
	return &obj{o: o, name: name}, nil
}

func typeName(v pickle.Value) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case *pickle.Object:
		return x.Class.String()
	case *pickle.Array:
		return "ndarray " + x.Dtype.String()
	default:
		return fmt.Sprintf("%T", v)
	}
}

func (o *obj) errf(attr, format string, args ...any) error {
	return fmt.Errorf("%w: %s.%s: %s", ErrInvalidModel, o.name, attr, fmt.Sprintf(format, args...))
}

// get returns attribute name; a missing attribute is an error.
func (o *obj) get(name string) (pickle.Value, error) {
	v, ok := o.o.Attr(name)
	if !ok {
		return nil, o.errf(name, "missing")
	}
	return v, nil
}

// opt returns attribute name or nil.
func (o *obj) opt(name string) pickle.Value {
	v, _ := o.o.Attr(name)
	return v
}

func (o *obj) str(name string) (string, error) {
	v, err := o.get(name)
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", o.errf(name, "%s, not a str", typeName(v))
	}
	return s, nil
}

// strOr returns a str attribute, def when absent or None.
func (o *obj) strOr(name, def string) (string, error) {
	v := o.opt(name)
	if v == nil {
		return def, nil
	}
	s, ok := v.(string)
	if !ok {
		return "", o.errf(name, "%s, not a str", typeName(v))
	}
	return s, nil
}

func (o *obj) float(name string) (float64, error) {
	v, err := o.get(name)
	if err != nil {
		return 0, err
	}
	f, ok := toFloat(v)
	if !ok {
		return 0, o.errf(name, "%s, not a number", typeName(v))
	}
	return f, nil
}

func (o *obj) int(name string) (int, error) {
	v, err := o.get(name)
	if err != nil {
		return 0, err
	}
	n, ok := toInt(v)
	if !ok {
		return 0, o.errf(name, "%s, not an int", typeName(v))
	}
	return n, nil
}

func (o *obj) bool(name string, def bool) (bool, error) {
	v := o.opt(name)
	switch x := v.(type) {
	case nil:
		return def, nil
	case bool:
		return x, nil
	}
	if n, ok := toInt(v); ok {
		return n != 0, nil
	}
	return false, o.errf(name, "%s, not a bool", typeName(v))
}

// floats returns a float array attribute in C order with its shape.
func (o *obj) floats(name string) ([]float64, []int, error) {
	v, err := o.get(name)
	if err != nil {
		return nil, nil, err
	}
	f, shape, err := toFloats(v)
	if err != nil {
		return nil, nil, o.errf(name, "%v", err)
	}
	return f, shape, nil
}

// vec returns a 1-D float array (or a scalar as one element) of length n
// (n < 0: any length).
func (o *obj) vec(name string, n int) ([]float64, error) {
	f, shape, err := o.floats(name)
	if err != nil {
		return nil, err
	}
	long := 0 // a vector, or a matrix with one row or column
	for _, d := range shape {
		if d != 1 {
			long++
		}
	}
	if long > 1 {
		return nil, o.errf(name, "shape %v, want a vector", shape)
	}
	if n >= 0 && len(f) != n {
		return nil, o.errf(name, "%d values, want %d", len(f), n)
	}
	return f, nil
}

// mat returns a 2-D float array; a 1-D one is one row.
func (o *obj) mat(name string) ([]float64, int, int, error) {
	f, shape, err := o.floats(name)
	if err != nil {
		return nil, 0, 0, err
	}
	switch len(shape) {
	case 0:
		return f, 1, 1, nil
	case 1:
		return f, 1, shape[0], nil
	case 2:
		return f, shape[0], shape[1], nil
	}
	return nil, 0, 0, o.errf(name, "shape %v, want a matrix", shape)
}

func toFloat(v pickle.Value) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case *big.Int:
		f, _ := new(big.Float).SetInt(x).Float64()
		return f, true
	case *pickle.Scalar:
		f, err := decodeElems(x.Dtype, x.Data, 1)
		if err != nil || len(f) != 1 {
			return 0, false
		}
		return f[0], true
	case *pickle.Array:
		if x.Len() == 1 && len(x.Shape) == 0 {
			f, err := decodeElems(x.Dtype, x.Data, 1)
			if err == nil && len(f) == 1 {
				return f[0], true
			}
		}
	}
	return 0, false
}

func toInt(v pickle.Value) (int, bool) {
	switch x := v.(type) {
	case int64:
		if x < math.MinInt32 || x > math.MaxInt32 {
			return 0, false
		}
		return int(x), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case *pickle.Scalar:
		if x.Dtype == nil || (x.Dtype.Kind != 'i' && x.Dtype.Kind != 'u' && x.Dtype.Kind != 'b') {
			return 0, false
		}
		f, ok := toFloat(x)
		if !ok || f != math.Trunc(f) || math.Abs(f) > math.MaxInt32 {
			return 0, false
		}
		return int(f), true
	}
	return 0, false
}

// maxElems bounds the arrays a model may hold (the pickle budget bounds
// them first; this keeps index arithmetic in range).
const maxElems = 1 << 31

// toFloats decodes a numeric array (or a number, or a list of numbers) to
// float64 in C order.
func toFloats(v pickle.Value) ([]float64, []int, error) {
	switch x := v.(type) {
	case *pickle.Array:
		if x.Dtype == nil {
			return nil, nil, fmt.Errorf("array without dtype")
		}
		n := x.Len()
		if n < 0 || n > maxElems {
			return nil, nil, fmt.Errorf("array of %d elements", n)
		}
		var f []float64
		if x.Dtype.Kind == 'O' {
			if len(x.Objects) != n {
				return nil, nil, fmt.Errorf("object array of %d values for shape %v", len(x.Objects), x.Shape)
			}
			f = make([]float64, n)
			for i, e := range x.Objects {
				g, ok := toFloat(e)
				if !ok {
					return nil, nil, fmt.Errorf("object array holds %s", typeName(e))
				}
				f[i] = g
			}
		} else {
			var err error
			f, err = decodeElems(x.Dtype, x.Data, n)
			if err != nil {
				return nil, nil, err
			}
		}
		shape := append([]int(nil), x.Shape...)
		if x.Fortran && len(shape) > 1 {
			f = fortranToC(f, shape)
		}
		return f, shape, nil
	case *pickle.List:
		return listFloats(x.Items)
	case *pickle.Tuple:
		return listFloats(x.Items)
	}
	if f, ok := toFloat(v); ok {
		return []float64{f}, nil, nil
	}
	return nil, nil, fmt.Errorf("%s is not numeric", typeName(v))
}

func listFloats(items []pickle.Value) ([]float64, []int, error) {
	f := make([]float64, len(items))
	for i, e := range items {
		g, ok := toFloat(e)
		if !ok {
			return nil, nil, fmt.Errorf("list holds %s", typeName(e))
		}
		f[i] = g
	}
	return f, []int{len(items)}, nil
}

func fortranToC(f []float64, shape []int) []float64 {
	out := make([]float64, len(f))
	nd := len(shape)
	idx := make([]int, nd)
	for k := range f {
		// k is the Fortran (column-major) position; idx its index.
		c := 0
		for d := 0; d < nd; d++ {
			c = c*shape[d] + idx[d]
		}
		out[c] = f[k]
		for d := 0; d < nd; d++ {
			idx[d]++
			if idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out
}

func byteOrder(d *pickle.Dtype) binary.ByteOrder {
	if d.Order == pickle.BigEndian {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// decodeElems decodes n numeric elements of dtype d from data.
func decodeElems(d *pickle.Dtype, data []byte, n int) ([]float64, error) {
	if d == nil {
		return nil, fmt.Errorf("no dtype")
	}
	sz := d.ItemSize
	if sz <= 0 || len(data) != n*sz {
		return nil, fmt.Errorf("%d bytes for %d elements of %s", len(data), n, d)
	}
	bo := byteOrder(d)
	out := make([]float64, n)
	for i := range out {
		e := data[i*sz : (i+1)*sz]
		f, err := decodeElem(d, bo, e)
		if err != nil {
			return nil, err
		}
		out[i] = f
	}
	return out, nil
}

func decodeElem(d *pickle.Dtype, bo binary.ByteOrder, e []byte) (float64, error) {
	switch d.Kind {
	case 'f':
		switch len(e) {
		case 8:
			return math.Float64frombits(bo.Uint64(e)), nil
		case 4:
			return float64(math.Float32frombits(bo.Uint32(e))), nil
		}
	case 'i':
		switch len(e) {
		case 8:
			return float64(int64(bo.Uint64(e))), nil
		case 4:
			return float64(int32(bo.Uint32(e))), nil
		case 2:
			return float64(int16(bo.Uint16(e))), nil
		case 1:
			return float64(int8(e[0])), nil
		}
	case 'u':
		switch len(e) {
		case 8:
			return float64(bo.Uint64(e)), nil
		case 4:
			return float64(bo.Uint32(e)), nil
		case 2:
			return float64(bo.Uint16(e)), nil
		case 1:
			return float64(e[0]), nil
		}
	case 'b':
		if len(e) == 1 {
			if e[0] != 0 {
				return 1, nil
			}
			return 0, nil
		}
	}
	return 0, fmt.Errorf("unsupported dtype %s", d)
}

// toLabels decodes classes_: ints, floats, bools or strings.
func toLabels(v pickle.Value) ([]any, error) {
	switch x := v.(type) {
	case *pickle.Array:
		if x.Dtype == nil {
			return nil, fmt.Errorf("array without dtype")
		}
		n := x.Len()
		if n < 0 || n > maxElems {
			return nil, fmt.Errorf("array of %d elements", n)
		}
		switch x.Dtype.Kind {
		case 'O':
			if len(x.Objects) != n {
				return nil, fmt.Errorf("object array of %d values for shape %v", len(x.Objects), x.Shape)
			}
			return listLabels(x.Objects)
		case 'U', 'S':
			return decodeStrings(x.Dtype, x.Data, n)
		case 'i', 'u':
			f, err := decodeElems(x.Dtype, x.Data, n)
			if err != nil {
				return nil, err
			}
			out := make([]any, n)
			for i, g := range f {
				out[i] = int64(g)
			}
			return out, nil
		case 'b':
			f, err := decodeElems(x.Dtype, x.Data, n)
			if err != nil {
				return nil, err
			}
			out := make([]any, n)
			for i, g := range f {
				out[i] = g != 0
			}
			return out, nil
		case 'f':
			f, err := decodeElems(x.Dtype, x.Data, n)
			if err != nil {
				return nil, err
			}
			out := make([]any, n)
			for i, g := range f {
				out[i] = g
			}
			return out, nil
		}
		return nil, fmt.Errorf("labels of dtype %s", x.Dtype)
	case *pickle.List:
		return listLabels(x.Items)
	case *pickle.Tuple:
		return listLabels(x.Items)
	}
	return nil, fmt.Errorf("labels are %s", typeName(v))
}

func listLabels(items []pickle.Value) ([]any, error) {
	out := make([]any, len(items))
	for i, e := range items {
		switch y := e.(type) {
		case string, int64, float64, bool:
			out[i] = y
		case []byte:
			out[i] = string(y)
		case *pickle.Scalar:
			if y.Dtype != nil && (y.Dtype.Kind == 'i' || y.Dtype.Kind == 'u') {
				f, _ := toFloat(y)
				out[i] = int64(f)
			} else if y.Dtype != nil && y.Dtype.Kind == 'b' {
				f, _ := toFloat(y)
				out[i] = f != 0
			} else if y.Dtype != nil && (y.Dtype.Kind == 'U' || y.Dtype.Kind == 'S') {
				s, err := decodeStrings(y.Dtype, y.Data, 1)
				if err != nil {
					return nil, err
				}
				out[i] = s[0]
			} else {
				return nil, fmt.Errorf("label %s", typeName(e))
			}
		default:
			return nil, fmt.Errorf("label %s", typeName(e))
		}
	}
	return out, nil
}

// decodeStrings decodes a numpy 'U' (UTF-32) or 'S' array; trailing NULs
// are padding, as numpy strips them.
func decodeStrings(d *pickle.Dtype, data []byte, n int) ([]any, error) {
	sz := d.ItemSize
	if sz < 0 || len(data) != n*sz {
		return nil, fmt.Errorf("%d bytes for %d elements of %s", len(data), n, d)
	}
	bo := byteOrder(d)
	out := make([]any, n)
	for i := range out {
		e := data[i*sz : (i+1)*sz]
		if d.Kind == 'S' {
			out[i] = strings.TrimRight(string(e), "\x00")
			continue
		}
		if sz%4 != 0 {
			return nil, fmt.Errorf("unicode item size %d", sz)
		}
		var b strings.Builder
		for j := 0; j+4 <= len(e); j += 4 {
			r := rune(bo.Uint32(e[j:]))
			if r == 0 {
				break
			}
			if !utf8.ValidRune(r) {
				return nil, fmt.Errorf("invalid code point %#x", r)
			}
			b.WriteRune(r)
		}
		out[i] = b.String()
	}
	return out, nil
}

// field reads one field of a structured (record) array by its name, as
// float64 per record; ok is false when the dtype has no such field.
func field(a *pickle.Array, name string) ([]float64, bool, error) {
	if a.Dtype == nil || a.Dtype.Kind != 'V' {
		return nil, false, fmt.Errorf("not a structured array: %s", typeName(a))
	}
	n := a.Len()
	sz := a.Dtype.ItemSize
	if n < 0 || n > maxElems || sz <= 0 || len(a.Data) != n*sz {
		return nil, false, fmt.Errorf("%d bytes for %d records of size %d", len(a.Data), n, sz)
	}
	for _, f := range a.Dtype.Fields {
		if f.Name != name {
			continue
		}
		fd := f.Dtype
		if fd == nil || fd.ItemSize <= 0 || f.Offset < 0 || f.Offset+fd.ItemSize > sz {
			return nil, false, fmt.Errorf("field %q out of the record", name)
		}
		bo := byteOrder(fd)
		out := make([]float64, n)
		for i := range out {
			off := i*sz + f.Offset
			v, err := decodeElem(fd, bo, a.Data[off:off+fd.ItemSize])
			if err != nil {
				return nil, false, fmt.Errorf("field %q: %w", name, err)
			}
			out[i] = v
		}
		return out, true, nil
	}
	return nil, false, nil
}

// items returns the elements of a list, tuple or object array.
func items(v pickle.Value) ([]pickle.Value, bool) {
	switch x := v.(type) {
	case *pickle.List:
		return x.Items, true
	case *pickle.Tuple:
		return x.Items, true
	case *pickle.Array:
		if x.Dtype != nil && x.Dtype.Kind == 'O' && len(x.Objects) == x.Len() {
			return x.Objects, true
		}
	}
	return nil, false
}

// strs decodes a list or array of str.
func strs(v pickle.Value) ([]string, error) {
	l, err := toLabels(v)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(l))
	for i, e := range l {
		s, ok := e.(string)
		if !ok {
			return nil, fmt.Errorf("%T in a list of names", e)
		}
		out[i] = s
	}
	return out, nil
}
