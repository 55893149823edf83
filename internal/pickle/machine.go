package pickle

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// mode is the unpickler a pickle is loaded with.
type mode uint8

const (
	// modeJoblib: joblib's NumpyUnpickler (pickle._Unpickler). A BUILD
	// on a NumpyArrayWrapper reads raw array bytes (or a nested pickle)
	// from the file.
	modeJoblib mode = iota
	// modePlain: pickle.load; NumpyArrayWrapper is an ordinary class.
	modePlain
	// modeNested: the pickle.load joblib runs for an object-dtype array.
	modeNested
)

// mark is a MARK on the stack.
type mark struct{}

// wrapper is a joblib NumpyArrayWrapper before its BUILD.
type wrapper struct{}

// nodeMeta is what the machine records about one node of the graph.
type nodeMeta struct {
	id     int
	via    string // the opcode that made it
	builds int
	// frozen: a container that became an object's state, or a dtype used
	// by an array, scalar or field: no later mutation or BUILD.
	frozen bool
	built  bool // dtype or array: its BUILD was applied
	// fromWrapper: an array joblib read from the file.
	fromWrapper bool
	// depth: a built dtype's field nesting depth.
	depth int
	// reducer: an instance made by a __reduce__ reconstructor.
	reducer *reducedSchema
}

// machine parses one file into a value graph.
type machine struct {
	ctx   context.Context
	in    *input
	opts  Options
	allow map[Global]bool
	res   *Result
	load  bool // decode array data (Load) instead of skipping it (Scan)

	meta   map[any]*nodeMeta
	nodes  []any // every node with meta, in creation order
	spent  int64
	work   int64
	nested int

	// trace, when set, sees every opcode and its offset (tests).
	trace func(op byte, pos int64)
	// skipped, when set, sees every range of raw array data (tests).
	skipped func(start, end int64)
	// learn, when set, accepts every class and reports its BUILD keys
	// (tests derive schemas with it; never set in production).
	learn func(g Global, key string)
	// dictIndex finds a dict's keys without scanning them.
	dictIndex map[*Dict]map[string]int
	// lenient: STOP behaves as CPython's (ScanAll's pickle.load reading,
	// whose verdict is only about safety).
	lenient bool
}

func newMachine(ctx context.Context, o Options, load bool) *machine {
	m := &machine{
		ctx:   ctx,
		opts:  o,
		allow: make(map[Global]bool, len(o.Allow)),
		res:   &Result{},
		load:  load,
		meta:  make(map[any]*nodeMeta),

		dictIndex: make(map[*Dict]map[string]int),
	}
	for _, g := range o.Allow {
		m.allow[g] = true
	}
	return m
}

// node registers a new node and returns its meta.
func (m *machine) node(p any, via string) *nodeMeta {
	nm := &nodeMeta{id: len(m.nodes), via: via}
	m.meta[p] = nm
	m.nodes = append(m.nodes, p)
	return nm
}

// charge takes n bytes from the budget.
func (m *machine) charge(n int64, what string) error {
	if n < 0 || n > m.opts.Budget-m.spent {
		return &Error{Kind: KindLimit, Rule: "budget", Offset: m.in.pos,
			Msg: fmt.Sprintf("%s of %d bytes exceeds the budget (%d of %d bytes left)", what, n, m.opts.Budget-m.spent, m.opts.Budget)}
	}
	m.spent += n
	return nil
}

// frame is the state of one pickle stream being parsed.
type frame struct {
	m     *machine
	mode  mode
	proto int
	stack []Value
	marks []int
	memo  map[uint32]Value
}

func (m *machine) parse(md mode) (Value, error) {
	f := &frame{m: m, mode: md, memo: make(map[uint32]Value)}
	return f.run()
}

func (f *frame) invalid(format string, args ...any) *Error { return f.m.in.invalid(format, args...) }

// soft is an ErrInvalid for a rule stricter than CPython's.
func (f *frame) soft(format string, args ...any) *Error {
	e := f.m.in.invalid(format, args...)
	e.soft = true
	return e
}

func (f *frame) unsafe(g Global, rule, format string, args ...any) *Error {
	return &Error{Kind: KindUnsafe, Global: g, Rule: rule, Offset: f.m.in.pos, Msg: fmt.Sprintf(format, args...)}
}

// unsafeAt is unsafe about node p.
func (f *frame) unsafeAt(p any, rule, format string, args ...any) *Error {
	e := f.unsafe(Global{}, rule, format, args...)
	e.Node = f.m.describe(p)
	return e
}

func (f *frame) push(v Value) error {
	if len(f.stack) >= f.m.opts.MaxStack {
		return &Error{Kind: KindLimit, Rule: "max-stack", Offset: f.m.in.pos, Msg: fmt.Sprintf("stack deeper than %d entries", f.m.opts.MaxStack)}
	}
	f.stack = append(f.stack, v)
	return nil
}

func (f *frame) topIsMark() bool {
	return len(f.marks) > 0 && f.marks[len(f.marks)-1] == len(f.stack)-1
}

func (f *frame) pop() (Value, error) {
	if len(f.stack) == 0 || f.topIsMark() {
		return nil, f.invalid("stack underflow")
	}
	v := f.stack[len(f.stack)-1]
	f.stack = f.stack[:len(f.stack)-1]
	return v, nil
}

func (f *frame) top() (*Value, error) {
	if len(f.stack) == 0 || f.topIsMark() {
		return nil, f.invalid("stack underflow")
	}
	return &f.stack[len(f.stack)-1], nil
}

// popMark removes everything down to and including the last mark and
// returns a copy of what was above it.
func (f *frame) popMark() ([]Value, error) {
	if len(f.marks) == 0 {
		return nil, f.invalid("no mark on the stack")
	}
	i := f.marks[len(f.marks)-1]
	f.marks = f.marks[:len(f.marks)-1]
	items := append([]Value(nil), f.stack[i+1:]...)
	f.stack = f.stack[:i]
	f.m.work += int64(len(items))
	return items, f.m.charge(8*int64(len(items)), "container items")
}

func (f *frame) run() (Value, error) {
	m, in := f.m, f.m.in
	for {
		m.work++
		if m.work > 8*in.pos+1<<20 {
			return nil, &Error{Kind: KindLimit, Rule: "work", Offset: in.pos, Msg: "work budget exceeded"}
		}
		if m.work&0x3fff == 0 {
			if err := m.ctx.Err(); err != nil {
				return nil, err
			}
		}
		pos := in.pos
		op, err := in.opcode()
		if err != nil {
			return nil, err
		}
		if m.trace != nil {
			m.trace(op, pos)
		}
		err = f.step(op)
		if err == errStop {
			return f.stop()
		}
		if err != nil {
			return nil, err
		}
	}
}

type stopSignal struct{}

func (stopSignal) Error() string { return "STOP" }

var errStop error = stopSignal{}

func (f *frame) stop() (Value, error) {
	in := f.m.in
	if f.m.lenient {
		// pickle.load returns the top value and ignores the rest.
		t, err := f.top()
		if err != nil {
			return nil, err
		}
		return *t, nil
	}
	if in.inFrame && in.frameLeft > 0 {
		return nil, f.soft("STOP with %d bytes of the frame left", in.frameLeft)
	}
	in.inFrame = false
	if len(f.marks) > 0 || len(f.stack) != 1 {
		return nil, f.soft("STOP with %d values and %d marks on the stack, want one value", len(f.stack)-len(f.marks), len(f.marks))
	}
	return f.stack[0], nil
}

func le(b []byte) uint64 {
	var x [8]byte
	copy(x[:], b)
	return binary.LittleEndian.Uint64(x[:])
}

// step interprets one opcode.
func (f *frame) step(op byte) error {
	in := f.m.in
	switch op {
	case '\x80': // PROTO
		b, err := in.fixed(1)
		if err != nil {
			return err
		}
		if b[0] > 5 {
			return f.invalid("unsupported pickle protocol %d", b[0])
		}
		f.proto = int(b[0])
		if f.mode != modeNested && f.proto > f.m.res.Protocol {
			f.m.res.Protocol = f.proto
		}
		return nil
	case '\x95': // FRAME
		b, err := in.fixed(8)
		if err != nil {
			return err
		}
		n := le(b)
		if in.inFrame && in.frameLeft > 0 {
			return f.soft("FRAME with %d bytes of the previous frame left", in.frameLeft)
		}
		if n > math.MaxInt64/2 || (in.end >= 0 && int64(n) > in.remaining()) {
			return f.invalid("FRAME of %d bytes is larger than the input", n)
		}
		in.inFrame, in.frameLeft = true, int64(n)
		return nil
	case '.': // STOP
		return errStop
	case '(': // MARK
		if err := f.push(mark{}); err != nil {
			return err
		}
		f.marks = append(f.marks, len(f.stack)-1)
		return nil
	case '1': // POP_MARK
		_, err := f.popMark()
		return err
	case '0': // POP
		if len(f.stack) == 0 {
			return f.invalid("POP on an empty stack")
		}
		if f.topIsMark() {
			f.marks = f.marks[:len(f.marks)-1]
		}
		f.stack = f.stack[:len(f.stack)-1]
		return nil
	case '2': // DUP
		t, err := f.top()
		if err != nil {
			return err
		}
		return f.push(*t)
	case 'N':
		return f.push(nil)
	case '\x88':
		return f.push(true)
	case '\x89':
		return f.push(false)
	case 'I': // INT
		line, long, err := in.readLine()
		if err != nil {
			return err
		}
		switch {
		case !long && string(line) == "00":
			return f.push(false)
		case !long && string(line) == "01":
			return f.push(true)
		}
		v, err := f.decimal(line, long)
		if err != nil {
			return err
		}
		return f.push(v)
	case 'L': // LONG
		line, long, err := in.readLine()
		if err != nil {
			return err
		}
		if !long && len(line) > 0 && line[len(line)-1] == 'L' {
			line = line[:len(line)-1]
		}
		v, err := f.decimal(line, long)
		if err != nil {
			return err
		}
		return f.push(v)
	case 'J': // BININT
		b, err := in.fixed(4)
		if err != nil {
			return err
		}
		return f.push(int64(int32(binary.LittleEndian.Uint32(b))))
	case 'K': // BININT1
		b, err := in.fixed(1)
		if err != nil {
			return err
		}
		return f.push(int64(b[0]))
	case 'M': // BININT2
		b, err := in.fixed(2)
		if err != nil {
			return err
		}
		return f.push(int64(binary.LittleEndian.Uint16(b)))
	case '\x8a', '\x8b': // LONG1, LONG4
		var n int64
		if op == '\x8a' {
			b, err := in.fixed(1)
			if err != nil {
				return err
			}
			n = int64(b[0])
		} else {
			b, err := in.fixed(4)
			if err != nil {
				return err
			}
			n = int64(int32(binary.LittleEndian.Uint32(b)))
			if n < 0 {
				return f.invalid("LONG4 with negative length %d", n)
			}
		}
		if err := f.m.charge(n, "int"); err != nil {
			return err
		}
		b, err := in.readAll(n)
		if err != nil {
			return err
		}
		return f.push(decodeLong(b))
	case 'F': // FLOAT
		line, long, err := in.readLine()
		if err != nil {
			return err
		}
		if long {
			return f.soft("FLOAT argument longer than %d bytes", maxLine)
		}
		x, err := strconv.ParseFloat(strings.TrimSpace(string(line)), 64)
		if err != nil {
			return f.soft("malformed FLOAT %q", line)
		}
		return f.push(x)
	case 'G': // BINFLOAT
		b, err := in.fixed(8)
		if err != nil {
			return err
		}
		return f.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
	case 'S': // STRING: a quoted Python 2 repr, decoded to str
		line, err := f.longLine("STRING")
		if err != nil {
			return err
		}
		if len(line) < 2 || line[0] != line[len(line)-1] || (line[0] != '"' && line[0] != '\'') {
			return f.invalid("STRING argument is not quoted")
		}
		dec, ok := escapeDecode(line[1 : len(line)-1])
		if !ok {
			return f.invalid("STRING argument has an invalid escape")
		}
		return f.pushASCII(dec)
	case 'T', 'U', 'B', 'C', '\x8e', '\x96', 'X', '\x8c', '\x8d':
		return f.sized(op)
	case 'V': // UNICODE: raw-unicode-escape text
		line, err := f.longLine("UNICODE")
		if err != nil {
			return err
		}
		dec, ok := rawUnicodeEscapeDecode(line)
		if !ok {
			return f.invalid("UNICODE argument has an invalid escape")
		}
		return f.push(string(dec))
	case '\x97': // NEXT_BUFFER
		return f.invalid("NEXT_BUFFER: out-of-band buffers are not supported")
	case '\x98': // READONLY_BUFFER
		_, err := f.top()
		return err
	case ']':
		return f.pushNode(&List{}, "EMPTY_LIST")
	case ')':
		return f.pushNode(&Tuple{}, "EMPTY_TUPLE")
	case '}':
		return f.pushNode(&Dict{}, "EMPTY_DICT")
	case '\x8f':
		return f.pushNode(&Set{}, "EMPTY_SET")
	case 'l': // LIST
		items, err := f.popMark()
		if err != nil {
			return err
		}
		return f.pushNode(&List{Items: items}, "LIST")
	case 't': // TUPLE
		items, err := f.popMark()
		if err != nil {
			return err
		}
		return f.pushNode(&Tuple{Items: items}, "TUPLE")
	case '\x91': // FROZENSET
		items, err := f.popMark()
		if err != nil {
			return err
		}
		fs := &Set{Items: items, Frozen: true}
		for _, it := range items {
			if err := f.hashKey(fs, it); err != nil {
				return err
			}
		}
		return f.pushNode(fs, "FROZENSET")
	case 'd': // DICT
		items, err := f.popMark()
		if err != nil {
			return err
		}
		if len(items)%2 != 0 {
			return f.invalid("DICT with an odd number of items")
		}
		d := &Dict{}
		if err := f.pushNode(d, "DICT"); err != nil {
			return err
		}
		return f.setItems(d, items)
	case '\x85', '\x86', '\x87': // TUPLE1..3
		n := int(op-'\x85') + 1
		if len(f.stack) < n {
			return f.invalid("stack underflow")
		}
		items := append([]Value(nil), f.stack[len(f.stack)-n:]...)
		for _, it := range items {
			if _, ok := it.(mark); ok {
				return f.invalid("stack underflow")
			}
		}
		f.stack = f.stack[:len(f.stack)-n]
		return f.pushNode(&Tuple{Items: items}, "TUPLE"+strconv.Itoa(n))
	case 'a': // APPEND
		v, err := f.pop()
		if err != nil {
			return err
		}
		return f.appendItems("APPEND", []Value{v})
	case 'e': // APPENDS
		items, err := f.popMark()
		if err != nil {
			return err
		}
		return f.appendItems("APPENDS", items)
	case 's': // SETITEM
		v, err := f.pop()
		if err != nil {
			return err
		}
		k, err := f.pop()
		if err != nil {
			return err
		}
		return f.setItemsTop("SETITEM", []Value{k, v})
	case 'u': // SETITEMS
		items, err := f.popMark()
		if err != nil {
			return err
		}
		if len(items)%2 != 0 {
			return f.invalid("SETITEMS with an odd number of items")
		}
		return f.setItemsTop("SETITEMS", items)
	case '\x90': // ADDITEMS
		items, err := f.popMark()
		if err != nil {
			return err
		}
		t, err := f.top()
		if err != nil {
			return err
		}
		s, ok := (*t).(*Set)
		if !ok || s.Frozen {
			return f.unsafeAt(*t, "mutation", "ADDITEMS on a %s would call its add method", typeName(*t))
		}
		if err := f.mutable(s, "ADDITEMS"); err != nil {
			return err
		}
		for _, it := range items {
			if err := f.hashKey(s, it); err != nil {
				return err
			}
		}
		s.Items = append(s.Items, items...)
		return nil
	case 'g', 'h', 'j': // GET, BINGET, LONG_BINGET
		idx, err := f.memoIndex(op)
		if err != nil {
			return err
		}
		v, ok := f.memo[idx]
		if !ok {
			return f.invalid("memo key %d not found", idx)
		}
		return f.push(v)
	case 'p', 'q', 'r': // PUT, BINPUT, LONG_BINPUT
		idx, err := f.memoIndex(op)
		if err != nil {
			return err
		}
		return f.memoPut(idx)
	case '\x94': // MEMOIZE
		return f.memoPut(uint32(len(f.memo)))
	case 'c': // GLOBAL
		mod, name, err := f.twoLines(false)
		if err != nil {
			return err
		}
		g, err := f.global(mod, name)
		if err != nil {
			return err
		}
		return f.push(g)
	case '\x93': // STACK_GLOBAL
		name, err := f.pop()
		if err != nil {
			return err
		}
		mod, err := f.pop()
		if err != nil {
			return err
		}
		ms, ok1 := mod.(string)
		ns, ok2 := name.(string)
		if !ok1 || !ok2 {
			return f.invalid("STACK_GLOBAL requires str, got %s and %s", typeName(mod), typeName(name))
		}
		if len(ms) > maxName || len(ns) > maxName {
			return f.unsafe(Global{}, "global", "STACK_GLOBAL with a name longer than %d bytes", maxName)
		}
		g, err := f.global(ms, ns)
		if err != nil {
			return err
		}
		return f.push(g)
	case 'i': // INST
		mod, name, err := f.twoLines(true)
		if err != nil {
			return err
		}
		g, err := f.global(mod, name)
		if err != nil {
			return err
		}
		items, err := f.popMark()
		if err != nil {
			return err
		}
		v, err := f.call("INST", g, items, nil)
		if err != nil {
			return err
		}
		return f.push(v)
	case 'o': // OBJ
		items, err := f.popMark()
		if err != nil {
			return err
		}
		if len(items) == 0 {
			return f.invalid("OBJ without a class")
		}
		v, err := f.call("OBJ", items[0], items[1:], nil)
		if err != nil {
			return err
		}
		return f.push(v)
	case 'R': // REDUCE
		args, err := f.pop()
		if err != nil {
			return err
		}
		fn, err := f.pop()
		if err != nil {
			return err
		}
		t, ok := args.(*Tuple)
		if !ok {
			return f.invalid("REDUCE with %s arguments, want a tuple", typeName(args))
		}
		v, err := f.call("REDUCE", fn, t.Items, nil)
		if err != nil {
			return err
		}
		return f.push(v)
	case '\x81': // NEWOBJ
		args, err := f.pop()
		if err != nil {
			return err
		}
		cls, err := f.pop()
		if err != nil {
			return err
		}
		t, ok := args.(*Tuple)
		if !ok {
			return f.invalid("NEWOBJ with %s arguments, want a tuple", typeName(args))
		}
		v, err := f.call("NEWOBJ", cls, t.Items, nil)
		if err != nil {
			return err
		}
		return f.push(v)
	case '\x92': // NEWOBJ_EX
		kwargs, err := f.pop()
		if err != nil {
			return err
		}
		args, err := f.pop()
		if err != nil {
			return err
		}
		cls, err := f.pop()
		if err != nil {
			return err
		}
		t, ok := args.(*Tuple)
		kw, ok2 := kwargs.(*Dict)
		if !ok || !ok2 {
			return f.invalid("NEWOBJ_EX with %s arguments and %s keywords, want a tuple and a dict", typeName(args), typeName(kwargs))
		}
		v, err := f.call("NEWOBJ_EX", cls, t.Items, kw)
		if err != nil {
			return err
		}
		return f.push(v)
	case 'b': // BUILD
		return f.build()
	case 'P', 'Q': // PERSID, BINPERSID
		return f.unsafe(Global{}, "persistent-id", "persistent IDs are not supported (opcode %q): the loader's persistent_load decides what they run", op)
	case '\x82', '\x83', '\x84': // EXT1, EXT2, EXT4
		return f.unsafe(Global{}, "extension-code", "extension registry code (opcode 0x%02x) names a global that cannot be checked", op)
	}
	return f.invalid("unknown opcode 0x%02x", op)
}

func (f *frame) pushNode(p any, via string) error {
	f.m.node(p, via)
	return f.push(p)
}

// pushASCII pushes a protocol-0/1 string, which the unpicklers decode
// as ASCII (their default encoding).
func (f *frame) pushASCII(b []byte) error {
	for _, c := range b {
		if c >= 0x80 {
			return f.invalid("8-bit STRING argument: the unpicklers decode it as ASCII")
		}
	}
	return f.push(string(b))
}

// longLine reads a text argument of any length within the budget.
func (f *frame) longLine(op string) ([]byte, error) {
	line, ok, err := f.m.in.readFullLine(f.m.opts.Budget - f.m.spent)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &Error{Kind: KindLimit, Rule: "budget", Offset: f.m.in.pos, Msg: op + " argument exceeds the budget"}
	}
	return line, f.m.charge(int64(len(line)), op)
}

// sized handles the opcodes whose argument is a length then data.
func (f *frame) sized(op byte) error {
	in := f.m.in
	var n int64
	switch op {
	case 'U', 'C', '\x8c': // 1-byte length
		b, err := in.fixed(1)
		if err != nil {
			return err
		}
		n = int64(b[0])
	case 'T': // signed 4-byte length
		b, err := in.fixed(4)
		if err != nil {
			return err
		}
		n = int64(int32(binary.LittleEndian.Uint32(b)))
		if n < 0 {
			return f.invalid("BINSTRING with negative length %d", n)
		}
	case 'B', 'X': // unsigned 4-byte length
		b, err := in.fixed(4)
		if err != nil {
			return err
		}
		n = int64(binary.LittleEndian.Uint32(b))
	default: // 8-byte length
		b, err := in.fixed(8)
		if err != nil {
			return err
		}
		u := le(b)
		if u > math.MaxInt64 {
			return f.invalid("length %d is larger than the input", u)
		}
		n = int64(u)
	}
	if err := f.m.charge(n, "string"); err != nil {
		return err
	}
	b, err := in.readAll(n)
	if err != nil {
		return err
	}
	switch op {
	case 'B', 'C', '\x8e':
		return f.push(b)
	case '\x96':
		return f.push(b)
	case 'T', 'U':
		return f.pushASCII(b)
	}
	if !utf8.Valid(b) {
		return f.soft("str argument is not valid UTF-8")
	}
	return f.push(string(b))
}

// decodeLong decodes a little-endian two's complement integer.
func decodeLong(b []byte) Value {
	if len(b) == 0 {
		return int64(0)
	}
	if len(b) <= 8 {
		x := le(b)
		shift := 64 - 8*uint(len(b))
		return int64(x<<shift) >> shift
	}
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	n := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	if n.IsInt64() {
		return n.Int64()
	}
	return n
}

// decimal parses a protocol-0 integer strictly: an optional sign and
// decimal digits without leading zeros.
func (f *frame) decimal(line []byte, long bool) (Value, error) {
	if long {
		return nil, f.soft("integer longer than %d digits", maxLine)
	}
	s := string(line)
	s = strings.TrimPrefix(s, "+")
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || (len(digits) > 1 && digits[0] == '0') {
		return nil, f.soft("malformed integer %q", line)
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return nil, f.soft("malformed integer %q", line)
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return nil, f.soft("malformed integer %q", line)
	}
	return n, nil
}

func (f *frame) memoIndex(op byte) (uint32, error) {
	in := f.m.in
	switch op {
	case 'h', 'q':
		b, err := in.fixed(1)
		if err != nil {
			return 0, err
		}
		return uint32(b[0]), nil
	case 'j', 'r':
		b, err := in.fixed(4)
		if err != nil {
			return 0, err
		}
		return binary.LittleEndian.Uint32(b), nil
	}
	line, long, err := in.readLine()
	if err != nil {
		return 0, err
	}
	v, err := f.decimal(line, long)
	if err != nil {
		return 0, err
	}
	n, ok := v.(int64)
	if !ok || n < 0 || n > math.MaxUint32 {
		return 0, f.soft("memo index %q out of range", line)
	}
	return uint32(n), nil
}

func (f *frame) memoPut(idx uint32) error {
	t, err := f.top()
	if err != nil {
		return err
	}
	if _, ok := f.memo[idx]; !ok && len(f.memo) >= f.m.opts.MaxMemo {
		return &Error{Kind: KindLimit, Rule: "max-memo", Offset: f.m.in.pos, Msg: fmt.Sprintf("more than %d memo entries", f.m.opts.MaxMemo)}
	}
	f.memo[idx] = *t
	return nil
}

// mutable rejects a mutation of a frozen node.
func (f *frame) mutable(p any, op string) error {
	if nm := f.m.metaOf(p); nm != nil && nm.frozen {
		return f.unsafeAt(p, "frozen", "%s after the node became an object's state or an array's part: the loader has already consumed it", op)
	}
	return nil
}

// appendItems implements APPEND and APPENDS: the target must be a real
// list; on any other object the unpicklers would call its append or
// extend method.
func (f *frame) appendItems(op string, items []Value) error {
	t, err := f.top()
	if err != nil {
		return err
	}
	l, ok := (*t).(*List)
	if !ok {
		return f.unsafeAt(*t, "mutation", "%s on a %s would call its append or extend method", op, typeName(*t))
	}
	if err := f.mutable(l, op); err != nil {
		return err
	}
	l.Items = append(l.Items, items...)
	return nil
}

// setItemsTop implements SETITEM and SETITEMS on a real dict.
func (f *frame) setItemsTop(op string, items []Value) error {
	t, err := f.top()
	if err != nil {
		return err
	}
	d, ok := (*t).(*Dict)
	if !ok {
		return f.unsafeAt(*t, "mutation", "%s on a %s would call its __setitem__ method", op, typeName(*t))
	}
	if err := f.mutable(d, op); err != nil {
		return err
	}
	return f.setItems(d, items)
}

// setItems stores key, value pairs as Python does: an equal key is
// replaced in place. Keys must be hashable values the machine can compare;
// an index per dict keeps this linear.
func (f *frame) setItems(d *Dict, items []Value) error {
	idx := f.m.dictIndex[d]
	if idx == nil {
		idx = make(map[string]int, len(d.Keys))
		for i, k := range d.Keys {
			idx[keyRepr(k)] = i
		}
		f.m.dictIndex[d] = idx
	}
	for i := 0; i+1 < len(items); i += 2 {
		k, v := items[i], items[i+1]
		if err := f.hashKey(d, k); err != nil {
			return err
		}
		r := keyRepr(k)
		if j, ok := idx[r]; ok {
			d.Vals[j] = v
			continue
		}
		idx[r] = len(d.Keys)
		d.Keys = append(d.Keys, k)
		d.Vals = append(d.Vals, v)
	}
	return nil
}

// hashKey checks a value the loader will hash as a dict key or set item
// of node p.
func (f *frame) hashKey(p any, k Value) error {
	if keySize(k, maxKeySize) > maxKeySize {
		return &Error{Kind: KindLimit, Rule: "key-size", Node: f.m.describe(p), Offset: f.m.in.pos,
			Msg: fmt.Sprintf("a key expands to more than %d items: hashing it would take exponential time", maxKeySize)}
	}
	if !hashable(k) {
		return f.unsafeAt(p, "hash", "key of type %s: its __hash__ and __eq__ could run code", typeName(k))
	}
	return nil
}

// maxKeySize bounds the expanded size of a hashed tuple: CPython does not
// cache tuple hashes, so a tuple DAG hashes in exponential time.
const maxKeySize = 1 << 12

// keySize returns the number of items a tree walk of v visits, stopping
// past limit.
func keySize(v Value, limit int) int {
	t, ok := v.(*Tuple)
	if !ok {
		return 1
	}
	n := 1
	for _, it := range t.Items {
		n += keySize(it, limit-n)
		if n > limit {
			return n
		}
	}
	return n
}

// keyRepr is a canonical form of a hashable key: equal under Python's ==
// (True == 1 == 1.0) exactly when the forms are equal.
func keyRepr(v Value) string {
	switch x := v.(type) {
	case nil:
		return "N"
	case bool:
		if x {
			return "i1"
		}
		return "i0"
	case int64:
		return "i" + strconv.FormatInt(x, 10)
	case *big.Int:
		return "i" + x.String()
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<63 {
			return "i" + strconv.FormatInt(int64(x), 10)
		}
		if x != x {
			return "nan" + strconv.FormatUint(math.Float64bits(x), 16) // NaN != NaN
		}
		return "f" + strconv.FormatFloat(x, 'g', -1, 64)
	case string:
		return "s" + x
	case []byte:
		return "b" + string(x)
	case Global:
		return "g" + x.String()
	case *Scalar:
		if n, ok := scalarInt(x); ok {
			return "i" + strconv.FormatInt(n, 10)
		}
		return fmt.Sprintf("S%s%x", x.Dtype, x.Data)
	case *Tuple:
		var sb strings.Builder
		sb.WriteString("t(")
		for _, it := range x.Items {
			r := keyRepr(it)
			sb.WriteString(strconv.Itoa(len(r)))
			sb.WriteByte(':')
			sb.WriteString(r)
		}
		sb.WriteByte(')')
		return sb.String()
	}
	return fmt.Sprintf("p%p", v)
}

// twoLines reads the module and name lines of GLOBAL and INST.
func (f *frame) twoLines(ascii bool) (string, string, error) {
	var parts [2]string
	for i := range parts {
		line, long, err := f.m.in.readLine()
		if err != nil {
			return "", "", err
		}
		if long {
			return "", "", f.unsafe(Global{}, "global", "global name longer than %d bytes", maxLine)
		}
		if !utf8.Valid(line) {
			return "", "", f.invalid("global name is not valid UTF-8")
		}
		if ascii {
			for _, c := range line {
				if c >= 0x80 {
					return "", "", f.invalid("INST name is not ASCII")
				}
			}
		}
		parts[i] = string(line)
	}
	return parts[0], parts[1], nil
}

// global checks a looked-up global against the policy. Protocol 0-2
// names are first renamed as Python's fix_imports does, and numpy 2's
// numpy._core spelled numpy.core.
func (f *frame) global(mod, name string) (Value, error) {
	g := Global{mod, name}
	if f.proto < 3 {
		if r, ok := compatNames[g]; ok {
			g = r
		} else if r, ok := compatImports[mod]; ok {
			g.Module = r
		}
	}
	desc := g.String()
	if g.Module != mod || g.Name != name {
		desc = fmt.Sprintf("%s (written %s.%s)", g, mod, name)
	}
	if strings.HasPrefix(g.Module, "numpy._core") {
		g.Module = "numpy.core" + strings.TrimPrefix(g.Module, "numpy._core")
	}
	f.m.res.noteGlobal(g)
	switch {
	case strings.Contains(g.Name, "."):
		return nil, f.unsafe(g, "global", "global %q from module %q: dotted names are resolved attribute by attribute and are never allowed", g.Name, g.Module)
	case g.Module == "" || g.Name == "":
		return nil, f.unsafe(g, "global", "global with an empty module or name")
	case g == gNDArrayCompat || g == gZNDArrayCompat:
		return nil, f.unsafe(g, "global", "global %s: pre-0.10 joblib arrays load an external file with pickles enabled", g)
	case f.mode == modeNested && g == gArrayWrapper:
		return nil, f.unsafe(g, "global", "global %s inside an object-array pickle", g)
	}
	if !f.m.known(g) {
		var e *Error
		if why := whyBlocked(g); why != "" {
			e = f.unsafe(g, "global", "global %s (module %q, name %q) is blocked: it %s", desc, g.Module, g.Name, why)
		} else {
			e = f.unsafe(g, "global", "global %s (module %q, name %q) is not allow-listed", desc, g.Module, g.Name)
		}
		e.Node = fmt.Sprintf("node #%d (lookup of %s)", len(f.m.nodes), g)
		return nil, e
	}
	return g, nil
}

// typeName names a value's Python type for messages.
func typeName(v Value) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case mark:
		return "mark"
	case bool:
		return "bool"
	case int64, *big.Int:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case *List:
		return "list"
	case *Tuple:
		return "tuple"
	case *Dict:
		return "dict"
	case *Set:
		if x.Frozen {
			return "frozenset"
		}
		return "set"
	case *Object:
		return "instance of " + x.Class.String()
	case *Array:
		return "numpy.ndarray"
	case *Dtype:
		return "numpy.dtype"
	case *Scalar:
		return "numpy scalar"
	case Global:
		return "global " + x.String()
	case *wrapper:
		return "joblib NumpyArrayWrapper"
	}
	return fmt.Sprintf("%T", v)
}

// metaOf returns the meta of a graph node, nil for plain values (some,
// such as []byte, cannot even be map keys).
func (m *machine) metaOf(v Value) *nodeMeta {
	switch v.(type) {
	case *List, *Tuple, *Dict, *Set, *Object, *Array, *Dtype, *wrapper:
		return m.meta[v]
	}
	return nil
}

// describe names node p for messages: its type and creation number.
func (m *machine) describe(p any) string {
	if nm := m.metaOf(p); nm != nil {
		return fmt.Sprintf("node #%d (%s, made by %s)", nm.id, typeName(p), nm.via)
	}
	return typeName(p)
}

// maxName bounds the length of a module or attribute name.
const maxName = 256

// scalarInt returns the value of a numpy bool, int or uint scalar that
// fits an int64.
func scalarInt(s *Scalar) (int64, bool) {
	b := s.Data
	if s.Dtype.Order == BigEndian {
		b = make([]byte, len(s.Data))
		for i := range b {
			b[i] = s.Data[len(b)-1-i]
		}
	}
	switch s.Dtype.Kind {
	case 'b', 'u':
		if len(b) == 8 && b[7]&0x80 != 0 {
			return 0, false
		}
		return int64(le(b)), true
	case 'i':
		return decodeLong(b).(int64), true
	}
	return 0, false
}
