package pickle

import (
	"fmt"
	"math/big"
	"strings"
)

// Globals with special meaning to the machine.
var (
	gNDArray        = Global{"numpy", "ndarray"}
	gMemmap         = Global{"numpy", "memmap"}
	gDtype          = Global{"numpy", "dtype"}
	gReconstruct    = Global{"numpy.core.multiarray", "_reconstruct"}
	gScalar         = Global{"numpy.core.multiarray", "scalar"}
	gArrayWrapper   = Global{"joblib.numpy_pickle", "NumpyArrayWrapper"}
	gCodecsEncode   = Global{"_codecs", "encode"}
	gNDArrayCompat  = Global{"joblib.numpy_pickle_compat", "NDArrayWrapper"}
	gZNDArrayCompat = Global{"joblib.numpy_pickle_compat", "ZNDArrayWrapper"}

	gBytes     = Global{"builtins", "bytes"}
	gBytearray = Global{"builtins", "bytearray"}
	gSet       = Global{"builtins", "set"}
	gFrozenset = Global{"builtins", "frozenset"}
	gSlice     = Global{"builtins", "slice"}
	gComplex   = Global{"builtins", "complex"}

	gRandomState      = Global{"numpy.random.mtrand", "RandomState"}
	gRandomStateCtor  = Global{"numpy.random._pickle", "__randomstate_ctor"}
	gBitGeneratorCtor = Global{"numpy.random._pickle", "__bit_generator_ctor"}
	gMT19937          = Global{"numpy.random._mt19937", "MT19937"}
)

// valueGlobals may appear as values (a dtype= parameter, a wrapper's
// subclass, a random state's bit generator), never be called.
var valueGlobals = map[Global]bool{
	gNDArray: true, gMemmap: true, gMT19937: true, gBitGeneratorCtor: true,
	{"numpy", "float64"}: true, {"numpy", "float32"}: true, {"numpy", "float16"}: true,
	{"numpy", "int64"}: true, {"numpy", "int32"}: true, {"numpy", "int16"}: true, {"numpy", "int8"}: true,
	{"numpy", "uint64"}: true, {"numpy", "uint32"}: true, {"numpy", "uint16"}: true, {"numpy", "uint8"}: true,
	{"numpy", "bool_"}: true, {"numpy", "str_"}: true, {"numpy", "object_"}: true,
	{"builtins", "float"}: true, {"builtins", "int"}: true, {"builtins", "bool"}: true,
	{"builtins", "str"}: true, {"builtins", "object"}: true,
}

// callables have a schema in call.
var callables = map[Global]bool{
	gDtype: true, gReconstruct: true, gScalar: true, gArrayWrapper: true, gCodecsEncode: true,
	gBytes: true, gBytearray: true, gSet: true, gFrozenset: true, gSlice: true, gComplex: true,
	gRandomStateCtor: true,
}

// known reports whether a global may be named at all.
func (m *machine) known(g Global) bool {
	return m.learn != nil || valueGlobals[g] || classArgs[g] || callables[g] || classes[g] != nil || reduced[g] != nil || m.allow[g]
}

// class returns the BUILD schema of an instantiable class.
func (m *machine) class(g Global) *classSchema {
	if c := classes[g]; c != nil {
		return c
	}
	if m.allow[g] {
		return &hostClass
	}
	if m.learn != nil && !callables[g] && reduced[g] == nil && !valueGlobals[g] {
		return &hostClass
	}
	return nil
}

// call applies the schema of the called global. The arguments are those
// the loader would pass at this point.
func (f *frame) call(op string, callee Value, args []Value, kw *Dict) (Value, error) {
	g, ok := callee.(Global)
	if !ok {
		return nil, f.unsafeAt(callee, "call", "%s calls a %s, not an allow-listed global", op, typeName(callee))
	}
	if kw != nil && len(kw.Keys) != 0 {
		return nil, f.unsafe(g, "call", "%s of %s with keyword arguments", op, g)
	}
	m := f.m
	callNode := fmt.Sprintf("node #%d (%s of %s)", len(m.nodes), op, g)
	bad := func(format string, a ...any) (Value, error) {
		e := f.unsafe(g, "call-schema", "%s of %s: "+format, append([]any{op, g}, a...)...)
		e.Node = callNode
		return nil, e
	}
	if m.learn != nil && op == "REDUCE" && m.class(g) != nil {
		m.learn(g, "REDUCE"+argTypes(args))
		o := &Object{Class: g, Args: args}
		m.node(o, op)
		return o, nil
	}
	if c := m.class(g); c != nil {
		if (op != "NEWOBJ" && op != "NEWOBJ_EX") || len(args) != 0 {
			return bad("a class is only made with NEWOBJ and no arguments, as pickle writes it")
		}
		o := &Object{Class: g}
		m.node(o, op)
		return o, nil
	}
	if r := reduced[g]; r != nil {
		cls, ok := g, false
		switch {
		case r.class != nil:
			cls, ok = r.class(args)
		default:
			ok = r.args(args)
		}
		if op != "REDUCE" || !ok {
			return bad("arguments %s do not match %s", argTypes(args), r.desc)
		}
		o := &Object{Class: cls, Args: args}
		m.node(o, op)
		m.meta[o].reducer = r
		return o, nil
	}
	switch g {
	case gDtype:
		if op != "REDUCE" || len(args) != 3 || args[1] != false || args[2] != true {
			return bad("want dtype(typestr, False, True)")
		}
		s, _ := args[0].(string)
		d, ok := parseTypestr(s)
		if !ok {
			return bad("type string %q is not supported", s)
		}
		if int64(d.ItemSize) > m.opts.MaxItemSize {
			return nil, &Error{Kind: KindLimit, Rule: "max-itemsize", Offset: m.in.pos, Msg: fmt.Sprintf("dtype %q is larger than %d bytes", s, m.opts.MaxItemSize)}
		}
		m.node(d, op)
		return d, nil
	case gReconstruct:
		if op != "REDUCE" || len(args) != 3 || (args[0] != gNDArray && args[0] != gMemmap) {
			return bad("want _reconstruct(numpy.ndarray, (0,), b'b')")
		}
		t, ok := args[1].(*Tuple)
		b, ok2 := args[2].([]byte)
		if !ok || len(t.Items) != 1 || t.Items[0] != int64(0) || !ok2 || string(b) != "b" {
			return bad("want _reconstruct(numpy.ndarray, (0,), b'b')")
		}
		a := &Array{}
		m.node(a, op)
		return a, nil
	case gScalar:
		if op != "REDUCE" || len(args) != 2 {
			return bad("want scalar(dtype, bytes)")
		}
		d, ok := args[0].(*Dtype)
		if !ok || d.Kind == 'O' || d.Kind == 'V' || hasObject(d) {
			return bad("the dtype must be a numeric dtype: an object scalar returns its argument itself")
		}
		b, ok := args[1].([]byte)
		if !ok || len(b) != d.ItemSize {
			return bad("want %d bytes of data", d.ItemSize)
		}
		if _, err := f.useDtype(d, "scalar"); err != nil {
			return nil, err
		}
		return scalarValue(d, b), nil
	case gArrayWrapper:
		if (op != "NEWOBJ" && op != "NEWOBJ_EX") || len(args) != 0 {
			return bad("joblib writes NEWOBJ with ()")
		}
		w := &wrapper{}
		m.node(w, op)
		return w, nil
	case gCodecsEncode:
		s, ok := firstString(args)
		if op != "REDUCE" || !ok || len(args) != 2 || (args[1] != "latin1" && args[1] != "latin-1") {
			return bad("only encode(str, 'latin1') is allowed")
		}
		return latin1(s)
	case gBytes:
		if op != "REDUCE" || len(args) != 0 {
			return bad("only bytes() is allowed")
		}
		return []byte{}, nil
	case gBytearray:
		switch {
		case op == "REDUCE" && len(args) == 0:
			return []byte{}, nil
		case op == "REDUCE" && len(args) == 1:
			if b, ok := args[0].([]byte); ok {
				return append([]byte(nil), b...), nil
			}
		case op == "REDUCE" && len(args) == 2 && (args[1] == "latin1" || args[1] == "latin-1"):
			if s, ok := args[0].(string); ok {
				return latin1(s)
			}
		}
		return bad("only bytearray(), bytearray(bytes) and bytearray(str, 'latin-1') are allowed, never a size")
	case gSet, gFrozenset:
		s := &Set{Frozen: g == gFrozenset}
		if op != "REDUCE" || len(args) > 1 {
			return bad("want set() or set(list)")
		}
		if len(args) == 1 {
			l, ok := args[0].(*List)
			if !ok {
				return bad("want set() or set(list)")
			}
			for _, it := range l.Items {
				if err := f.hashKey(s, it); err != nil {
					return nil, err
				}
			}
			s.Items = append([]Value(nil), l.Items...)
		}
		m.node(s, op)
		return s, nil
	case gSlice:
		if op != "REDUCE" || len(args) != 3 || !allIntsOrNone(args) {
			return bad("want slice(int|None, int|None, int|None)")
		}
		o := &Object{Class: g, Args: args}
		m.node(o, op)
		return o, nil
	case gComplex:
		if op != "REDUCE" || len(args) != 2 {
			return bad("want complex(float, float)")
		}
		for _, a := range args {
			if _, ok := a.(float64); !ok {
				return bad("want complex(float, float)")
			}
		}
		o := &Object{Class: g, Args: args}
		m.node(o, op)
		return o, nil
	case gRandomStateCtor:
		ok := op == "REDUCE"
		switch len(args) {
		case 0:
		case 1, 2:
			ok = ok && (args[0] == "MT19937" || args[0] == gMT19937)
			if len(args) == 2 {
				ok = ok && args[1] == gBitGeneratorCtor
			}
		default:
			ok = false
		}
		if !ok {
			return bad("only the MT19937 bit generator is allowed")
		}
		o := &Object{Class: gRandomState}
		m.node(o, op)
		return o, nil
	}
	e := f.unsafe(g, "call", "%s calls %s, which may only be used as a value", op, g)
	e.Node = callNode
	return nil, e
}

func firstString(args []Value) (string, bool) {
	if len(args) == 0 {
		return "", false
	}
	s, ok := args[0].(string)
	return s, ok
}

// latin1 encodes a str whose code points are all below 256.
func latin1(s string) (Value, error) {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			return nil, &Error{Kind: KindInvalid, Msg: "latin1 encoding of a code point above 255", soft: true}
		}
		out = append(out, byte(r))
	}
	return out, nil
}

func hashable(v Value) bool {
	switch x := v.(type) {
	case nil, bool, int64, *big.Int, float64, string, []byte, Global:
		return true
	case *Scalar:
		// numpy's numeric scalars hash as numbers (scores_ of
		// LogisticRegressionCV is keyed by class labels).
		return x.Dtype.Kind == 'b' || x.Dtype.Kind == 'i' || x.Dtype.Kind == 'u'

	case *Tuple:
		for _, it := range x.Items {
			if !hashable(it) {
				return false
			}
		}
		return true
	}
	return false
}

func allIntsOrNone(args []Value) bool {
	for _, a := range args {
		switch a.(type) {
		case nil, int64:
		default:
			return false
		}
	}
	return true
}

func argTypes(args []Value) string {
	s := make([]string, len(args))
	for i, a := range args {
		s[i] = typeName(a)
	}
	return "(" + strings.Join(s, ", ") + ")"
}

// build applies BUILD to the node on top of the stack.
func (f *frame) build() error {
	state, err := f.pop()
	if err != nil {
		return err
	}
	t, err := f.top()
	if err != nil {
		return err
	}
	switch x := (*t).(type) {
	case *Dtype:
		return f.dtypeSetState(x, state)
	case *Array:
		if f.m.meta[x].fromWrapper {
			return f.unsafeAt(x, "ndarray-state", "BUILD on an array joblib read from the file")
		}
		return f.reconstructSetState(x, state)
	case *wrapper:
		a, err := f.wrapperBuild(x, state)
		if err != nil {
			return err
		}
		if a != nil {
			*t = a
		}
		return nil
	case *Object:
		return f.objectBuild(x, state)
	case Global:
		return f.unsafe(x, "build", "BUILD on the class or function %s would set its attributes", x)
	}
	return f.unsafeAt(*t, "build", "BUILD on a %s", typeName(*t))
}

// objectBuild checks an instance's BUILD against its class schema: at
// most one BUILD, a dict state whose keys are the class's attributes (no
// method name, no dunder). The state dict is frozen: the loader copied it.
func (f *frame) objectBuild(o *Object, state Value) error {
	nm := f.m.meta[o]
	nm.builds++
	if nm.builds > 1 {
		return f.unsafeAt(o, "one-build", "a second BUILD: after the first, a __setstate__ in the instance's attributes would be called")
	}
	var keys func(string) bool
	exact := true // an exact key list (not a host class's open one)
	switch {
	case o.Class == gRandomState:
		keys = func(k string) bool { return randomStateKeys[k] }
	case nm.reducer != nil:
		r := nm.reducer
		if t, ok := state.(*Tuple); ok && r.tuple != nil {
			if !r.tuple(t) {
				return f.unsafeAt(o, "build-schema", "tuple state %s does not match %s's", argTypes(t.Items), o.Class)
			}
			f.m.meta[t].frozen = true
			o.State = t
			return nil
		}
		if r.state == nil {
			return f.unsafeAt(o, "build-schema", "%s takes no %s BUILD state", o.Class, typeName(state))
		}
		keys = func(k string) bool { return r.state[k] }
	default:
		c := f.m.class(o.Class)
		if c == nil {
			return f.unsafeAt(o, "build-schema", "%s takes no BUILD state", o.Class)
		}
		keys, exact = c.has, !c.any
	}
	d, ok := state.(*Dict)
	if !ok {
		return f.unsafeAt(o, "build-schema", "state is a %s, want a dict", typeName(state))
	}
	for _, k := range d.Keys {
		s, ok := k.(string)
		if f.m.learn != nil {
			f.m.learn(o.Class, s)
			continue
		}
		if !ok {
			return f.unsafeAt(o, "build-schema", "state key of type %s", typeName(k))
		}
		if strings.HasPrefix(s, "__") || strings.HasSuffix(s, "__") {
			return f.unsafeAt(o, "build-schema", "state key %q is a dunder: it would override how Python treats the object", s)
		}
		if methodNames[s] && !exact {
			return f.unsafeAt(o, "build-schema", "state key %q names a method: it would shadow it", s)
		}
		if !keys(s) {
			return f.unsafeAt(o, "build-schema", "state key %q is not an attribute %s has", s, o.Class)
		}
	}
	f.m.meta[d].frozen = true
	o.State = d
	return nil
}

// randomStateKeys is RandomState.__getstate__'s dict.
var randomStateKeys = map[string]bool{"bit_generator": true, "state": true, "has_gauss": true, "gauss": true}

// methodNames are never attribute names: the methods loaders and
// estimators call on an object.
var methodNames = map[string]bool{
	"read": true, "read_array": true, "read_mmap": true, "readline": true, "readinto": true,
	"predict": true, "predict_proba": true, "predict_log_proba": true, "decision_function": true,
	"transform": true, "fit": true, "fit_transform": true, "score": true, "get_params": true,
	"set_params": true, "append": true, "extend": true, "add": true, "update": true,
	"keys": true, "items": true, "values": true, "get": true,
}
