package picklescan

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// mode is the unpickler a pickle is loaded with.
type mode uint8

const (
	// modeJoblib: joblib's NumpyUnpickler (pickle._Unpickler). A BUILD that
	// leaves a NumpyArrayWrapper on the stack reads raw array bytes (or a
	// nested pickle) from the file.
	modeJoblib mode = iota
	// modePlain: pickle.load (the C unpickler); wrappers are ordinary.
	modePlain
	// modeNested: the pickle.load joblib runs for an object-dtype array;
	// its root must be an ndarray and wrappers are not expected.
	modeNested
)

// walker follows one pickle, from its first opcode to STOP.
type walker struct {
	s     *scanner
	in    *input
	mode  mode
	proto int
	stack []value
	marks []int // indexes of the marks in stack
	memo  map[uint32]value
	// fault is an error found while adding container items, reported
	// after the current opcode.
	fault error
}

func (w *walker) invalid(format string, args ...any) *Error { return w.in.invalid(format, args...) }

func (w *walker) unsafe(g Global, format string, args ...any) *Error {
	return &Error{Kind: KindUnsafe, Global: g, Offset: w.in.pos, Msg: fmt.Sprintf(format, args...)}
}

func (w *walker) push(v value) error {
	if len(w.stack) >= w.s.opts.MaxStack {
		return w.invalid("stack deeper than %d entries", w.s.opts.MaxStack)
	}
	w.stack = append(w.stack, v)
	return nil
}

// topIsMark reports whether the top of the stack is a mark.
func (w *walker) topIsMark() bool {
	return len(w.marks) > 0 && w.marks[len(w.marks)-1] == len(w.stack)-1
}

// pop removes the top value; it never pops through a mark, as the
// unpicklers' per-mark stacks do not.
func (w *walker) pop() (value, error) {
	if len(w.stack) == 0 || w.topIsMark() {
		return value{}, w.invalid("stack underflow")
	}
	v := w.stack[len(w.stack)-1]
	w.stack = w.stack[:len(w.stack)-1]
	return v, nil
}

// top returns the top value without removing it.
func (w *walker) top() (*value, error) {
	if len(w.stack) == 0 || w.topIsMark() {
		return nil, w.invalid("stack underflow")
	}
	return &w.stack[len(w.stack)-1], nil
}

// popMark removes everything down to and including the last mark and
// returns what was above it. The slice is only valid until the next push.
func (w *walker) popMark() ([]value, error) {
	if len(w.marks) == 0 {
		return nil, w.invalid("no mark on the stack")
	}
	m := w.marks[len(w.marks)-1]
	w.marks = w.marks[:len(w.marks)-1]
	items := w.stack[m+1:]
	w.stack = w.stack[:m]
	w.s.work += int64(len(items))
	return items, nil
}

// container builds a container value from items, keeping at most maxItems
// of them within the scan's retention budget.
func (w *walker) container(k vkind, items []value) value {
	o := &object{}
	w.addItems(o, items)
	return value{k: k, o: o}
}

func (w *walker) addItems(o *object, items []value) {
	for _, it := range items {
		if it.k == kGlobal && it.o.g == gArrayWrapper && w.fault == nil {
			// The class may only be called by NEWOBJ: inside a container
			// it could reach a constructor the scanner does not model.
			w.fault = w.invalid("%s used as a value, not only as NEWOBJ's class", gArrayWrapper)
		}
		if len(o.items) >= maxItems || w.s.kept >= w.s.opts.MaxTracked {
			o.lost = true
			return
		}
		if (it.k == kStr || it.k == kBytes) && len(it.s) > maxItemString {
			// Strings in containers never become names again.
			it.s, it.big = "", true
		}
		o.items = append(o.items, it)
		w.s.kept++
	}
}

func (w *walker) str(b []byte, n int64) value {
	v := value{k: kStr}
	if n > maxName || b == nil && n > 0 {
		v.big = true
		return v
	}
	v.s = string(b)
	return v
}

// run interprets opcodes until STOP and returns the root value.
func (w *walker) run() (value, error) {
	in := w.in
	for {
		w.s.work++
		if w.s.work > 8*in.pos+1<<20 {
			return value{}, w.invalid("work budget exceeded")
		}
		if w.s.work&0x3fff == 0 {
			if err := w.s.ctx.Err(); err != nil {
				return value{}, err
			}
		}
		op, err := in.opcode()
		if err != nil {
			return value{}, err
		}
		err = w.step(op)
		if w.fault != nil {
			return value{}, w.fault
		}
		if err == errStop {
			return w.stop()
		}
		if err != nil {
			return value{}, err
		}
	}
}

type stopSignal struct{}

func (stopSignal) Error() string { return "STOP" }

var errStop error = stopSignal{}

func (w *walker) stop() (value, error) {
	in := w.in
	if in.inFrame && in.frameLeft > 0 {
		return value{}, w.invalid("STOP with %d bytes of the frame left", in.frameLeft)
	}
	in.inFrame = false
	if len(w.marks) > 0 || len(w.stack) != 1 {
		return value{}, w.invalid("STOP with %d values and %d marks on the stack, want one value", len(w.stack)-len(w.marks), len(w.marks))
	}
	return w.stack[0], nil
}

func le(b []byte) uint64 {
	var x [8]byte
	copy(x[:], b)
	return binary.LittleEndian.Uint64(x[:])
}

// step interprets one opcode.
func (w *walker) step(op byte) error {
	in := w.in
	switch op {
	case '\x80': // PROTO
		b, err := in.fixed(1)
		if err != nil {
			return err
		}
		if b[0] > 5 {
			return w.invalid("unsupported pickle protocol %d", b[0])
		}
		w.proto = int(b[0])
		w.s.res.noteProto(w.proto, w.mode)
		return nil
	case '\x95': // FRAME
		b, err := in.fixed(8)
		if err != nil {
			return err
		}
		n := le(b)
		if in.inFrame && in.frameLeft > 0 {
			return w.invalid("FRAME with %d bytes of the previous frame left", in.frameLeft)
		}
		if n > math.MaxInt64/2 || (in.end >= 0 && int64(n) > in.remaining()) {
			return w.invalid("FRAME of %d bytes is larger than the input", n)
		}
		in.inFrame, in.frameLeft = true, int64(n)
		return nil
	case '.': // STOP
		return errStop
	case '(': // MARK
		if err := w.push(value{k: kMark}); err != nil {
			return err
		}
		w.marks = append(w.marks, len(w.stack)-1)
		return nil
	case '1': // POP_MARK
		_, err := w.popMark()
		return err
	case '0': // POP
		if len(w.stack) == 0 {
			return w.invalid("POP on an empty stack")
		}
		if w.topIsMark() {
			w.marks = w.marks[:len(w.marks)-1]
		}
		w.stack = w.stack[:len(w.stack)-1]
		return nil
	case '2': // DUP
		t, err := w.top()
		if err != nil {
			return err
		}
		return w.push(*t)
	case 'N':
		return w.push(value{k: kNone})
	case '\x88':
		return w.push(value{k: kBool, n: 1})
	case '\x89':
		return w.push(value{k: kBool})
	case 'I': // INT
		line, long, err := in.readLine()
		if err != nil {
			return err
		}
		switch {
		case !long && string(line) == "00":
			return w.push(value{k: kBool})
		case !long && string(line) == "01":
			return w.push(value{k: kBool, n: 1})
		}
		v, err := w.decimal(line, long)
		if err != nil {
			return err
		}
		return w.push(v)
	case 'L': // LONG
		line, long, err := in.readLine()
		if err != nil {
			return err
		}
		if !long && len(line) > 0 && line[len(line)-1] == 'L' {
			line = line[:len(line)-1]
		}
		v, err := w.decimal(line, long)
		if err != nil {
			return err
		}
		return w.push(v)
	case 'J': // BININT
		b, err := in.fixed(4)
		if err != nil {
			return err
		}
		return w.push(value{k: kInt, n: int64(int32(binary.LittleEndian.Uint32(b)))})
	case 'K': // BININT1
		b, err := in.fixed(1)
		if err != nil {
			return err
		}
		return w.push(value{k: kInt, n: int64(b[0])})
	case 'M': // BININT2
		b, err := in.fixed(2)
		if err != nil {
			return err
		}
		return w.push(value{k: kInt, n: int64(binary.LittleEndian.Uint16(b))})
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
				return w.invalid("LONG4 with negative length %d", n)
			}
		}
		b, err := in.data(n, 8)
		if err != nil {
			return err
		}
		v := value{k: kInt}
		if n > 8 {
			v.big = true
		} else if n > 0 {
			x := le(b)
			if shift := 64 - 8*uint(n); shift > 0 {
				v.n = int64(x<<shift) >> shift // sign-extend
			} else {
				v.n = int64(x)
			}
		}
		return w.push(v)
	case 'F': // FLOAT
		if _, _, err := in.readLine(); err != nil {
			return err
		}
		return w.push(value{k: kFloat})
	case 'G': // BINFLOAT
		if _, err := in.fixed(8); err != nil {
			return err
		}
		return w.push(value{k: kFloat})
	case 'S': // STRING: a quoted Python 2 repr, decoded to str
		line, long, err := in.readLine()
		if err != nil {
			return err
		}
		if long {
			return w.push(value{k: kStr, big: true})
		}
		if len(line) < 2 || line[0] != line[len(line)-1] || (line[0] != '"' && line[0] != '\'') {
			return w.invalid("STRING argument is not quoted")
		}
		dec, ok := escapeDecode(line[1 : len(line)-1])
		if !ok {
			return w.invalid("STRING argument has an invalid escape")
		}
		return w.push(w.str(dec, int64(len(dec))))
	case 'T', 'U', 'B', 'C', '\x8e', '\x96', 'X', '\x8c', '\x8d':
		return w.sized(op)
	case 'V': // UNICODE: raw-unicode-escape text
		line, long, err := in.readLine()
		if err != nil {
			return err
		}
		if long {
			return w.push(value{k: kStr, big: true})
		}
		dec, ok := rawUnicodeEscapeDecode(line)
		if !ok {
			return w.invalid("UNICODE argument has an invalid escape")
		}
		return w.push(w.str(dec, int64(len(dec))))
	case '\x97': // NEXT_BUFFER
		return w.invalid("NEXT_BUFFER: out-of-band buffers are not supported")
	case '\x98': // READONLY_BUFFER
		_, err := w.top()
		return err
	case ']':
		return w.push(value{k: kList, o: &object{}})
	case ')':
		return w.push(value{k: kTuple, o: &object{}})
	case '}':
		return w.push(value{k: kDict, o: &object{}})
	case '\x8f':
		return w.push(value{k: kSet, o: &object{}})
	case 'l', 't', '\x91': // LIST, TUPLE, FROZENSET
		items, err := w.popMark()
		if err != nil {
			return err
		}
		k := kSet
		switch op {
		case 'l':
			k = kList
		case 't':
			k = kTuple
		}
		return w.push(w.container(k, items))
	case 'd': // DICT
		items, err := w.popMark()
		if err != nil {
			return err
		}
		if len(items)%2 != 0 {
			return w.invalid("DICT with an odd number of items")
		}
		return w.push(w.container(kDict, items))
	case '\x85', '\x86', '\x87': // TUPLE1..3
		n := int(op-'\x85') + 1
		if len(w.stack) < n {
			return w.invalid("stack underflow")
		}
		items := w.stack[len(w.stack)-n:]
		for i := range items {
			if items[i].k == kMark {
				return w.invalid("stack underflow")
			}
		}
		v := w.container(kTuple, items)
		w.stack = w.stack[:len(w.stack)-n]
		return w.push(v)
	case 'a': // APPEND
		v, err := w.pop()
		if err != nil {
			return err
		}
		return w.extend("APPEND", kList, []value{v})
	case 'e': // APPENDS
		items, err := w.popMark()
		if err != nil {
			return err
		}
		return w.extend("APPENDS", kList, items)
	case 's': // SETITEM
		v, err := w.pop()
		if err != nil {
			return err
		}
		k, err := w.pop()
		if err != nil {
			return err
		}
		return w.extend("SETITEM", kDict, []value{k, v})
	case 'u': // SETITEMS
		items, err := w.popMark()
		if err != nil {
			return err
		}
		if len(items)%2 != 0 {
			return w.invalid("SETITEMS with an odd number of items")
		}
		return w.extend("SETITEMS", kDict, items)
	case '\x90': // ADDITEMS
		items, err := w.popMark()
		if err != nil {
			return err
		}
		return w.extend("ADDITEMS", kSet, items)
	case 'g', 'h', 'j': // GET, BINGET, LONG_BINGET
		idx, err := w.memoIndex(op)
		if err != nil {
			return err
		}
		v, ok := w.memo[idx]
		if !ok {
			return w.invalid("memo key %d not found", idx)
		}
		return w.push(v)
	case 'p', 'q', 'r': // PUT, BINPUT, LONG_BINPUT
		idx, err := w.memoIndex(op)
		if err != nil {
			return err
		}
		return w.memoPut(idx)
	case '\x94': // MEMOIZE
		return w.memoPut(uint32(len(w.memo)))
	case 'c': // GLOBAL
		mod, name, err := w.twoLines(false)
		if err != nil {
			return err
		}
		g, err := w.global(mod, name)
		if err != nil {
			return err
		}
		return w.push(g)
	case '\x93': // STACK_GLOBAL
		name, err := w.pop()
		if err != nil {
			return err
		}
		mod, err := w.pop()
		if err != nil {
			return err
		}
		if mod.k != kStr || name.k != kStr {
			return w.invalid("STACK_GLOBAL requires str, got %s and %s", mod.k, name.k)
		}
		if mod.big || name.big {
			return w.unsafe(Global{}, "STACK_GLOBAL with a name longer than %d bytes", maxName)
		}
		g, err := w.global(mod.s, name.s)
		if err != nil {
			return err
		}
		return w.push(g)
	case 'i': // INST
		mod, name, err := w.twoLines(true)
		if err != nil {
			return err
		}
		g, err := w.global(mod, name)
		if err != nil {
			return err
		}
		items, err := w.popMark()
		if err != nil {
			return err
		}
		v, err := w.call("INST", g, w.container(kTuple, items), nil)
		if err != nil {
			return err
		}
		return w.push(v)
	case 'o': // OBJ
		items, err := w.popMark()
		if err != nil {
			return err
		}
		if len(items) == 0 {
			return w.invalid("OBJ without a class")
		}
		cls := items[0]
		args := w.container(kTuple, items[1:])
		v, err := w.call("OBJ", cls, args, nil)
		if err != nil {
			return err
		}
		return w.push(v)
	case 'R': // REDUCE
		args, err := w.pop()
		if err != nil {
			return err
		}
		fn, err := w.pop()
		if err != nil {
			return err
		}
		v, err := w.call("REDUCE", fn, args, nil)
		if err != nil {
			return err
		}
		return w.push(v)
	case '\x81': // NEWOBJ
		args, err := w.pop()
		if err != nil {
			return err
		}
		cls, err := w.pop()
		if err != nil {
			return err
		}
		v, err := w.call("NEWOBJ", cls, args, nil)
		if err != nil {
			return err
		}
		return w.push(v)
	case '\x92': // NEWOBJ_EX
		kwargs, err := w.pop()
		if err != nil {
			return err
		}
		args, err := w.pop()
		if err != nil {
			return err
		}
		cls, err := w.pop()
		if err != nil {
			return err
		}
		v, err := w.call("NEWOBJ_EX", cls, args, &kwargs)
		if err != nil {
			return err
		}
		return w.push(v)
	case 'b': // BUILD
		return w.build()
	case 'P', 'Q': // PERSID, BINPERSID
		return w.invalid("persistent IDs are not supported (opcode %q)", op)
	case '\x82', '\x83', '\x84': // EXT1, EXT2, EXT4
		return w.unsafe(Global{}, "extension registry code (opcode 0x%02x) names a global that cannot be checked", op)
	}
	return w.invalid("unknown opcode 0x%02x", op)
}

// sized handles the opcodes whose argument is a length then data.
func (w *walker) sized(op byte) error {
	in := w.in
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
			return w.invalid("BINSTRING with negative length %d", n)
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
			return w.invalid("length %d is larger than the input", u)
		}
		n = int64(u)
	}
	b, err := in.data(n, maxName)
	if err != nil {
		return err
	}
	switch op {
	case 'B', 'C', '\x8e':
		return w.push(value{k: kBytes, big: n > int64(len(b))})
	case '\x96':
		return w.push(value{k: kOther})
	}
	if n > int64(len(b)) {
		return w.push(value{k: kStr, big: true})
	}
	return w.push(w.str(b, n))
}

// decimal parses a protocol-0 integer strictly: an optional sign and
// decimal digits without leading zeros (both unpicklers agree on those).
func (w *walker) decimal(line []byte, long bool) (value, error) {
	if long {
		return value{k: kInt, big: true}, nil
	}
	s := string(line)
	neg := false
	if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return value{}, w.invalid("malformed integer %q", line)
	}
	var n int64
	big := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return value{}, w.invalid("malformed integer %q", line)
		}
		if big || n > (math.MaxInt64-9)/10 {
			big, n = true, 0
			continue
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return value{k: kInt, n: n, big: big}, nil
}

func (w *walker) memoIndex(op byte) (uint32, error) {
	in := w.in
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
	v, err := w.decimal(line, long)
	if err != nil {
		return 0, err
	}
	if v.big || v.n < 0 || v.n > math.MaxUint32 {
		return 0, w.invalid("memo index %q out of range", line)
	}
	return uint32(v.n), nil
}

func (w *walker) memoPut(idx uint32) error {
	t, err := w.top()
	if err != nil {
		return err
	}
	if _, ok := w.memo[idx]; !ok && len(w.memo) >= w.s.opts.MaxMemo {
		return w.invalid("more than %d memo entries", w.s.opts.MaxMemo)
	}
	w.memo[idx] = *t
	return nil
}

// extend implements APPEND(S), SETITEM(S) and ADDITEMS. The target must be
// a real container: on any other object the unpicklers would call its
// append, extend, __setitem__ or add method.
func (w *walker) extend(opname string, want vkind, items []value) error {
	t, err := w.top()
	if err != nil {
		return err
	}
	if t.k != want {
		return w.invalid("%s on a %s, want a %s", opname, t.k, want)
	}
	w.addItems(t.o, items)
	return nil
}

// twoLines reads the module and name lines of GLOBAL and INST.
func (w *walker) twoLines(ascii bool) (string, string, error) {
	var parts [2]string
	for i := range parts {
		line, long, err := w.in.readLine()
		if err != nil {
			return "", "", err
		}
		if long {
			return "", "", w.unsafe(Global{}, "global name longer than %d bytes", maxLine)
		}
		if !utf8.Valid(line) {
			return "", "", w.invalid("global name is not valid UTF-8")
		}
		if ascii {
			for _, c := range line {
				if c >= 0x80 {
					return "", "", w.invalid("INST name is not ASCII")
				}
			}
		}
		parts[i] = string(line)
	}
	return parts[0], parts[1], nil
}

// global checks a looked-up global against the allowlist. Protocol 0-2
// names are first renamed as Python's fix_imports does
// (Lib/_compat_pickle.py), so the check applies to what would be imported.
func (w *walker) global(mod, name string) (value, error) {
	g := Global{mod, name}
	if w.proto < 3 {
		if m, ok := compatNames[g]; ok {
			g = m
		} else if m, ok := compatImports[mod]; ok {
			g.Module = m
		}
	}
	desc := g.String()
	if g.Module != mod || g.Name != name {
		desc = fmt.Sprintf("%s (written %s.%s)", g, mod, name)
	}
	w.s.res.noteGlobal(g)
	if w.mode == modeNested && g == gArrayWrapper {
		return value{}, w.invalid("global %s inside an object-array pickle", g)
	}
	if o, ok := w.s.globals[g]; ok {
		return value{k: kGlobal, o: o}, nil
	}
	switch {
	case strings.Contains(g.Name, "."):
		return value{}, w.unsafe(g, "global %q from module %q: dotted names are resolved attribute by attribute and are never allowed", g.Name, g.Module)
	case g.Module == "" || g.Name == "":
		return value{}, w.unsafe(g, "global with an empty module or name")
	case g == gNDArrayCompat || g == gZNDArrayCompat:
		return value{}, w.unsafe(g, "global %s: pre-0.10 joblib arrays load an external file with pickles enabled", g)
	}
	if _, ok := w.s.allow[g]; !ok {
		if why := whyBlocked(g); why != "" {
			return value{}, w.unsafe(g, "global %s (module %q, name %q) is blocked: it %s", desc, g.Module, g.Name, why)
		}
		return value{}, w.unsafe(g, "global %s (module %q, name %q) is not allow-listed", desc, g.Module, g.Name)
	}
	o := &object{g: g}
	w.s.globals[g] = o
	return value{k: kGlobal, o: o}, nil
}

// call models REDUCE, NEWOBJ, NEWOBJ_EX, OBJ and INST: callee must be an
// allow-listed global; a few globals get their arguments checked.
func (w *walker) call(opname string, callee, args value, kwargs *value) (value, error) {
	if callee.k != kGlobal {
		return value{}, w.unsafe(Global{}, "%s calls a %s, not an allow-listed global", opname, callee.k)
	}
	g := callee.o.g
	if args.k != kTuple {
		return value{}, w.invalid("%s of %s with %s arguments, want a tuple", opname, g, args.k)
	}
	if kwargs != nil && (kwargs.k != kDict || len(kwargs.o.items) != 0 || kwargs.o.lost) {
		if g == gArrayWrapper || g == gDtype {
			return value{}, w.invalid("%s of %s with keyword arguments", opname, g)
		}
		if kwargs.k != kDict {
			return value{}, w.invalid("%s of %s with %s keyword arguments, want a dict", opname, g, kwargs.k)
		}
	}
	o := &object{g: g}
	switch g {
	case gArrayWrapper:
		if (opname != "NEWOBJ" && opname != "NEWOBJ_EX") || len(args.o.items) != 0 || args.o.lost {
			return value{}, w.invalid("%s built with %s and arguments; joblib writes NEWOBJ with ()", g, opname)
		}
		o.role = roleWrapper
	case gDtype:
		if opname != "REDUCE" {
			return value{}, w.invalid("%s built with %s; numpy writes REDUCE", g, opname)
		}
		dt, err := w.newDtype(args)
		if err != nil {
			return value{}, err
		}
		o.role, o.dt = roleDtype, dt
	case gCodecsEncode:
		it := args.o.items
		if opname != "REDUCE" || args.o.lost || len(it) != 2 || it[0].k != kStr || it[1].k != kStr ||
			(it[1].s != "latin1" && it[1].s != "latin-1") {
			return value{}, w.unsafe(g, "%s is only allowed as _codecs.encode(str, 'latin1')", g)
		}
		return value{k: kBytes}, nil
	case gBytes, gBytearray:
		for _, a := range args.o.items {
			if a.k == kInt || a.k == kBool {
				return value{}, w.unsafe(g, "%s called with an integer (a size)", g)
			}
		}
	case gReconstruct1, gReconstruct2:
		o.role = roleNDArray
	case gRandomStateCtor, gBitGeneratorCtor, gGeneratorCtor:
		// numpy 2 passes a BitGenerator class and a constructor function,
		// which these call: only numpy's own are accepted.
		for _, a := range args.o.items {
			if a.k != kStr && !(a.k == kGlobal && (bitGenerators[a.o.g] || a.o.g == gBitGeneratorCtor)) {
				return value{}, w.unsafe(g, "%s called with a %s argument", g, a.k)
			}
		}
		if args.o.lost || (kwargs != nil && len(kwargs.o.items) != 0) {
			return value{}, w.unsafe(g, "%s called with unexpected arguments", g)
		}
	}
	return value{k: kInstance, o: o}, nil
}

// build models BUILD: state is applied to the object on top of the stack.
func (w *walker) build() error {
	state, err := w.pop()
	if err != nil {
		return err
	}
	t, err := w.top()
	if err != nil {
		return err
	}
	switch t.k {
	case kInstance:
	case kGlobal:
		return w.unsafe(t.o.g, "BUILD on the class or function %s would set its attributes", t.o.g)
	default:
		return w.invalid("BUILD on a %s", t.k)
	}
	o := t.o
	switch o.role {
	case roleDtype:
		return w.dtypeSetState(o.dt, state)
	case roleWrapper:
		if err := w.wrapperSetState(o, state); err != nil {
			return err
		}
		if w.mode != modeJoblib {
			return nil
		}
		arr, err := w.readArray(o)
		if err != nil {
			return err
		}
		*t = arr
	}
	return nil
}
