package irismodel

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf8"
)

// The pickle VM below builds a plain Go value graph and never calls
// anything: a global is only a name, and REDUCE, NEWOBJ and BUILD record
// their arguments in an *object for the model decoder to interpret. The one
// exception is _codecs.encode(str, "latin1"), which protocol 2 uses to
// spell bytes and which is evaluated in place.
//
// Values are:
//
//	nil (None), bool, int64, float64, string, []byte,
//	tuple, *list, *dict, global, *object, *ndarray.

// tuple is a Python tuple.
type tuple []any

// list is a Python list; a pointer so that APPEND through a memo
// reference is seen by every holder.
type list struct{ items []any }

// dict is a Python dict in insertion order. Only string keys are ever
// looked up; as in Python, setting a string key again replaces its value.
type dict struct {
	keys, vals []any
	index      map[string]int // of string keys, into keys and vals
}

func (d *dict) get(key string) (any, bool) {
	if i, ok := d.index[key]; ok {
		return d.vals[i], true
	}
	return nil, false
}

func (d *dict) set(k, v any) {
	if s, ok := k.(string); ok {
		if i, ok := d.index[s]; ok {
			d.vals[i] = v
			return
		}
		if d.index == nil {
			d.index = map[string]int{}
		}
		d.index[s] = len(d.keys)
	}
	d.keys = append(d.keys, k)
	d.vals = append(d.vals, v)
}

// global is a Python global named by GLOBAL or STACK_GLOBAL.
type global struct{ module, name string }

func (g global) String() string { return g.module + "." + g.name }

// object is what REDUCE or NEWOBJ makes of an allow-listed class or
// function: the call is recorded, not made. BUILD stores its state.
type object struct {
	class global
	args  tuple
	state any
	built bool
}

// Allow-listed globals: exactly what scikit-learn's LogisticRegression,
// numpy and joblib write, in both of numpy's module spellings.
var (
	gLogReg      = global{"sklearn.linear_model._logistic", "LogisticRegression"}
	gWrapper     = global{"joblib.numpy_pickle", "NumpyArrayWrapper"}
	gNDArray     = global{"numpy", "ndarray"}
	gDtype       = global{"numpy", "dtype"}
	gEncode      = global{"_codecs", "encode"}
	gReconstruct = global{"numpy.core.multiarray", "_reconstruct"}
	gScalar      = global{"numpy.core.multiarray", "scalar"}
)

// canonical maps an allow-listed global to its canonical spelling and
// reports whether it is allowed. numpy 2 writes numpy._core for
// numpy.core.
func canonical(g global) (global, bool) {
	switch g.module {
	case "numpy._core.multiarray":
		g.module = "numpy.core.multiarray"
	case "numpy.core.numeric", "numpy._core.numeric", "numpy.core", "numpy._core":
		// numpy.dtype is sometimes pickled through these modules.
		if g.name == "dtype" || g.name == "ndarray" {
			g.module = "numpy"
		}
	}
	switch g {
	case gLogReg, gWrapper, gNDArray, gDtype, gEncode, gReconstruct, gScalar:
		return g, true
	}
	return g, false
}

// pickleMode says which unpickler the stream is read by.
type pickleMode uint8

const (
	// modeJoblib is joblib's NumpyUnpickler: a BUILD that leaves a
	// NumpyArrayWrapper on the stack reads the array that follows.
	modeJoblib pickleMode = iota
	// modeNested is the pickle.load joblib runs for an object array; its
	// root must be an ndarray.
	modeNested
)

// Limits of the VM. The fixtures need a few dozen stack entries and a few
// hundred values; a LogisticRegression's size is in its raw arrays, which
// these do not count.
const (
	// maxStack bounds the stack (marks included).
	maxStack = 1 << 16
	// maxValues bounds the values pushed, memoized or added to containers
	// over the whole file, nested pickles included, so that memory stays
	// a small multiple of the input whatever the opcodes do.
	maxValues = 1 << 18
)

// input is the whole model file, read into memory under MaxModelSize, so
// that every declared length is checked against the bytes that remain
// before anything is allocated from it.
type input struct {
	data     []byte
	pos      int
	frameEnd int // end of the current FRAME; <= pos when outside one
	values   int // values made so far, bounded by maxValues
}

// spend accounts for n more values.
func (in *input) spend(n int) error {
	in.values += n
	if in.values > maxValues {
		return in.errorf("more than %d values", maxValues)
	}
	return nil
}

func (in *input) remaining() int { return len(in.data) - in.pos }

func (in *input) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: offset %d: %s", ErrInvalidModel, in.pos, fmt.Sprintf(format, args...))
}

// read returns the next n bytes (a sub-slice of the input, not a copy).
func (in *input) read(n uint64) ([]byte, error) {
	if n > uint64(in.remaining()) {
		return nil, in.errorf("truncated: need %d bytes, %d left", n, in.remaining())
	}
	end := in.pos + int(n)
	if in.pos < in.frameEnd && end > in.frameEnd {
		return nil, in.errorf("read crosses the end of a frame")
	}
	b := in.data[in.pos:end]
	in.pos = end
	return b, nil
}

func (in *input) uint(n uint64) (uint64, error) {
	b, err := in.read(n)
	if err != nil {
		return 0, err
	}
	var x [8]byte
	copy(x[:], b)
	return binary.LittleEndian.Uint64(x[:]), nil
}

// vm runs one pickle, from its first opcode to STOP.
type vm struct {
	in    *input
	mode  pickleMode
	stack []any
	marks []int
	memo  map[uint64]any
}

// mark is the stack entry of MARK; it is never visible to opcodes.
type mark struct{}

// unpickle runs a pickle from in's current position and returns its root.
func unpickle(in *input, mode pickleMode) (any, error) {
	m := &vm{in: in, mode: mode, memo: map[uint64]any{}}
	return m.run()
}

func (m *vm) errorf(format string, args ...any) error { return m.in.errorf(format, args...) }

func (m *vm) push(v any) error {
	if len(m.stack) >= maxStack {
		return m.errorf("stack deeper than %d", maxStack)
	}
	if err := m.in.spend(1); err != nil {
		return err
	}
	m.stack = append(m.stack, v)
	return nil
}

func (m *vm) topIsMark() bool {
	return len(m.marks) > 0 && m.marks[len(m.marks)-1] == len(m.stack)-1
}

func (m *vm) pop() (any, error) {
	if len(m.stack) == 0 || m.topIsMark() {
		return nil, m.errorf("stack underflow")
	}
	v := m.stack[len(m.stack)-1]
	m.stack = m.stack[:len(m.stack)-1]
	return v, nil
}

func (m *vm) top() (any, error) {
	if len(m.stack) == 0 || m.topIsMark() {
		return nil, m.errorf("stack underflow")
	}
	return m.stack[len(m.stack)-1], nil
}

// popMark removes everything down to and including the last mark and
// returns a copy of what was above it.
func (m *vm) popMark() ([]any, error) {
	if len(m.marks) == 0 {
		return nil, m.errorf("no mark on the stack")
	}
	i := m.marks[len(m.marks)-1]
	m.marks = m.marks[:len(m.marks)-1]
	items := append([]any(nil), m.stack[i+1:]...)
	m.stack = m.stack[:i]
	return items, nil
}

func (m *vm) run() (any, error) {
	for {
		if m.in.remaining() == 0 {
			return nil, m.errorf("truncated: no STOP")
		}
		if m.in.pos >= m.in.frameEnd {
			m.in.frameEnd = 0
		}
		op := m.in.data[m.in.pos]
		if _, err := m.in.read(1); err != nil {
			return nil, err
		}
		if op == '.' { // STOP
			if m.in.pos < m.in.frameEnd {
				return nil, m.errorf("STOP inside a frame")
			}
			if len(m.marks) != 0 || len(m.stack) != 1 {
				return nil, m.errorf("STOP with %d stack entries and %d marks, want one value", len(m.stack), len(m.marks))
			}
			return m.stack[0], nil
		}
		if err := m.step(op); err != nil {
			return nil, err
		}
	}
}

// step interprets one opcode other than STOP.
func (m *vm) step(op byte) error {
	in := m.in
	switch op {
	case 0x80: // PROTO
		p, err := in.uint(1)
		if err != nil {
			return err
		}
		if p < 2 || p > 5 {
			return m.errorf("unsupported pickle protocol %d", p)
		}
		return nil
	case 0x95: // FRAME
		n, err := in.uint(8)
		if err != nil {
			return err
		}
		if in.pos < in.frameEnd {
			return m.errorf("FRAME inside a frame")
		}
		if n > uint64(in.remaining()) {
			return m.errorf("FRAME of %d bytes, %d left", n, in.remaining())
		}
		in.frameEnd = in.pos + int(n)
		return nil
	case '(': // MARK
		if err := m.push(mark{}); err != nil {
			return err
		}
		m.marks = append(m.marks, len(m.stack)-1)
		return nil
	case '1': // POP_MARK
		_, err := m.popMark()
		return err
	case '0': // POP
		_, err := m.pop()
		return err
	case '2': // DUP
		v, err := m.top()
		if err != nil {
			return err
		}
		return m.push(v)
	case 'N': // NONE
		return m.push(nil)
	case 0x88: // NEWTRUE
		return m.push(true)
	case 0x89: // NEWFALSE
		return m.push(false)
	case 'J': // BININT
		x, err := in.uint(4)
		if err != nil {
			return err
		}
		return m.push(int64(int32(uint32(x))))
	case 'K': // BININT1
		x, err := in.uint(1)
		if err != nil {
			return err
		}
		return m.push(int64(x))
	case 'M': // BININT2
		x, err := in.uint(2)
		if err != nil {
			return err
		}
		return m.push(int64(x))
	case 0x8a: // LONG1
		n, err := in.uint(1)
		if err != nil {
			return err
		}
		if n > 8 {
			return m.errorf("LONG1 of %d bytes does not fit in 64 bits", n)
		}
		x, err := in.uint(n)
		if err != nil {
			return err
		}
		if n > 0 && n < 8 {
			shift := 64 - 8*n
			return m.push(int64(x<<shift) >> shift) // sign-extend
		}
		return m.push(int64(x))
	case 'G': // BINFLOAT (big-endian)
		b, err := in.read(8)
		if err != nil {
			return err
		}
		return m.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
	case 0x8c, 'X', 0x8d: // SHORT_BINUNICODE, BINUNICODE, BINUNICODE8
		b, err := m.sized(op, 0x8c, 'X')
		if err != nil {
			return err
		}
		if !utf8.Valid(b) {
			return m.errorf("string is not valid UTF-8")
		}
		return m.push(string(b))
	case 'C', 'B', 0x8e: // SHORT_BINBYTES, BINBYTES, BINBYTES8
		b, err := m.sized(op, 'C', 'B')
		if err != nil {
			return err
		}
		return m.push(append([]byte(nil), b...))
	case ']': // EMPTY_LIST
		return m.push(&list{})
	case ')': // EMPTY_TUPLE
		return m.push(tuple{})
	case '}': // EMPTY_DICT
		return m.push(&dict{})
	case 'l': // LIST
		items, err := m.popMark()
		if err != nil {
			return err
		}
		return m.push(&list{items: items})
	case 't': // TUPLE
		items, err := m.popMark()
		if err != nil {
			return err
		}
		return m.push(tuple(items))
	case 'd': // DICT
		items, err := m.popMark()
		if err != nil {
			return err
		}
		d := &dict{}
		if err := m.setItems(d, items); err != nil {
			return err
		}
		return m.push(d)
	case 0x85, 0x86, 0x87: // TUPLE1, TUPLE2, TUPLE3
		n := int(op-0x85) + 1
		t := make(tuple, n)
		for i := n - 1; i >= 0; i-- {
			v, err := m.pop()
			if err != nil {
				return err
			}
			t[i] = v
		}
		return m.push(t)
	case 'a': // APPEND
		v, err := m.pop()
		if err != nil {
			return err
		}
		return m.appendTo([]any{v})
	case 'e': // APPENDS
		items, err := m.popMark()
		if err != nil {
			return err
		}
		return m.appendTo(items)
	case 's': // SETITEM
		v, err := m.pop()
		if err != nil {
			return err
		}
		k, err := m.pop()
		if err != nil {
			return err
		}
		return m.setItemsOnTop([]any{k, v})
	case 'u': // SETITEMS
		items, err := m.popMark()
		if err != nil {
			return err
		}
		return m.setItemsOnTop(items)
	case 'c': // GLOBAL: "module\nname\n"
		mod, err := m.line()
		if err != nil {
			return err
		}
		name, err := m.line()
		if err != nil {
			return err
		}
		return m.pushGlobal(global{mod, name})
	case 0x93: // STACK_GLOBAL
		name, err := m.pop()
		if err != nil {
			return err
		}
		mod, err := m.pop()
		if err != nil {
			return err
		}
		ms, ok1 := mod.(string)
		ns, ok2 := name.(string)
		if !ok1 || !ok2 {
			return m.errorf("STACK_GLOBAL arguments are %T and %T, want strings", mod, name)
		}
		return m.pushGlobal(global{ms, ns})
	case 0x94: // MEMOIZE
		v, err := m.top()
		if err != nil {
			return err
		}
		if err := m.in.spend(1); err != nil {
			return err
		}
		m.memo[uint64(len(m.memo))] = v
		return nil
	case 'q', 'r': // BINPUT, LONG_BINPUT
		n := uint64(1)
		if op == 'r' {
			n = 4
		}
		idx, err := in.uint(n)
		if err != nil {
			return err
		}
		v, err := m.top()
		if err != nil {
			return err
		}
		if err := m.in.spend(1); err != nil {
			return err
		}
		m.memo[idx] = v
		return nil
	case 'h', 'j': // BINGET, LONG_BINGET
		n := uint64(1)
		if op == 'j' {
			n = 4
		}
		idx, err := in.uint(n)
		if err != nil {
			return err
		}
		v, ok := m.memo[idx]
		if !ok {
			return m.errorf("memo key %d is not defined", idx)
		}
		return m.push(v)
	case 'R': // REDUCE
		args, err := m.pop()
		if err != nil {
			return err
		}
		fn, err := m.pop()
		if err != nil {
			return err
		}
		v, err := m.reduce(fn, args)
		if err != nil {
			return err
		}
		return m.push(v)
	case 0x81: // NEWOBJ
		args, err := m.pop()
		if err != nil {
			return err
		}
		cls, err := m.pop()
		if err != nil {
			return err
		}
		g, ok := cls.(global)
		at, ok2 := args.(tuple)
		if !ok || !ok2 {
			return m.errorf("NEWOBJ of a %T with %T arguments", cls, args)
		}
		if g != gLogReg && g != gWrapper {
			return m.errorf("NEWOBJ of %s", g)
		}
		return m.push(&object{class: g, args: at})
	case 'b': // BUILD
		state, err := m.pop()
		if err != nil {
			return err
		}
		v, err := m.top()
		if err != nil {
			return err
		}
		o, ok := v.(*object)
		if !ok || o.built {
			return m.errorf("BUILD on a %T", v)
		}
		o.state, o.built = state, true
		if o.class == gWrapper {
			if m.mode != modeJoblib {
				return m.errorf("NumpyArrayWrapper inside an object-array pickle")
			}
			arr, err := readWrapped(m.in, o)
			if err != nil {
				return err
			}
			m.stack[len(m.stack)-1] = arr
		}
		return nil
	}
	return m.errorf("unsupported opcode 0x%02x", op)
}

// sized reads the length-prefixed payload of a string or bytes opcode:
// a 1-byte length for short, 4 for normal and 8 for the 8-byte forms.
func (m *vm) sized(op, short, normal byte) ([]byte, error) {
	w := uint64(8)
	switch op {
	case short:
		w = 1
	case normal:
		w = 4
	}
	n, err := m.in.uint(w)
	if err != nil {
		return nil, err
	}
	return m.in.read(n)
}

// line reads a newline-terminated name of GLOBAL.
func (m *vm) line() (string, error) {
	rest := m.in.data[m.in.pos:]
	if m.in.pos < m.in.frameEnd {
		rest = m.in.data[m.in.pos:m.in.frameEnd]
	}
	i := bytes.IndexByte(rest[:min(len(rest), 256)], '\n')
	if i < 0 {
		return "", m.errorf("GLOBAL name without a newline within 256 bytes")
	}
	b, err := m.in.read(uint64(i + 1))
	if err != nil {
		return "", err
	}
	return string(b[:i]), nil
}

func (m *vm) pushGlobal(g global) error {
	c, ok := canonical(g)
	if !ok {
		return fmt.Errorf("%w: %s.%s at offset %d", ErrUnsafeGlobal, g.module, g.name, m.in.pos)
	}
	return m.push(c)
}

func (m *vm) appendTo(items []any) error {
	v, err := m.top()
	if err != nil {
		return err
	}
	l, ok := v.(*list)
	if !ok {
		return m.errorf("APPEND to a %T", v)
	}
	if err := m.in.spend(len(items)); err != nil {
		return err
	}
	l.items = append(l.items, items...)
	return nil
}

func (m *vm) setItemsOnTop(items []any) error {
	v, err := m.top()
	if err != nil {
		return err
	}
	d, ok := v.(*dict)
	if !ok {
		return m.errorf("SETITEM on a %T", v)
	}
	return m.setItems(d, items)
}

func (m *vm) setItems(d *dict, items []any) error {
	if len(items)%2 != 0 {
		return m.errorf("odd number of dict items")
	}
	if err := m.in.spend(len(items)); err != nil {
		return err
	}
	for i := 0; i < len(items); i += 2 {
		switch items[i].(type) {
		case nil, bool, int64, float64, string, []byte, global:
		default:
			return m.errorf("dict key is a %T", items[i])
		}
		if _, ok := items[i].([]byte); ok {
			return m.errorf("dict key is bytes")
		}
		d.set(items[i], items[i+1])
	}
	return nil
}

// reduce records a call of an allow-listed callable, except
// _codecs.encode(str, "latin1"), which it evaluates.
func (m *vm) reduce(fn, args any) (any, error) {
	g, ok := fn.(global)
	at, ok2 := args.(tuple)
	if !ok || !ok2 {
		return nil, m.errorf("REDUCE of a %T with %T arguments", fn, args)
	}
	switch g {
	case gEncode:
		if len(at) != 2 {
			return nil, m.errorf("_codecs.encode with %d arguments", len(at))
		}
		s, ok1 := at[0].(string)
		enc, ok2 := at[1].(string)
		if !ok1 || !ok2 || (enc != "latin1" && enc != "latin-1") {
			return nil, m.errorf("_codecs.encode arguments are not (str, 'latin1')")
		}
		b := make([]byte, 0, len(s))
		for _, r := range s {
			if r > 0xff {
				return nil, m.errorf("_codecs.encode: character U+%04X is not latin1", r)
			}
			b = append(b, byte(r))
		}
		return b, nil
	case gDtype, gReconstruct, gScalar:
		return &object{class: g, args: at}, nil
	}
	return nil, m.errorf("REDUCE of %s", g)
}
