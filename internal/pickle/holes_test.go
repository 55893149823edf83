package pickle

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The seven classes of hole of issue #12, each built opcode by opcode
// around a real-looking estimator root. Nothing here is ever unpickled.

// wrapperState pushes a NumpyArrayWrapper NEWOBJ and a state dict of the
// given (already pushed by fn) items, then BUILD.
func (p *pk) wrapperWith(items func(*pk)) *pk {
	p.sg("joblib.numpy_pickle", "NumpyArrayWrapper").op(')', 0x81, '}', '(')
	items(p)
	return p.op('u', 'b')
}

// stdWrapperItems are joblib's five fields for a float64 array of n.
func stdWrapperItems(n int32, dtype func(*pk)) func(*pk) {
	return func(p *pk) {
		p.su("subclass").sg("numpy", "ndarray")
		p.su("shape").binint(n).op(0x85)
		p.su("order").su("C")
		p.su("dtype")
		dtype(p)
		p.su("allow_mmap").op(0x89)
	}
}

// scalarOf pushes numpy.core.multiarray.scalar(dtype, data).
func (p *pk) scalarOf(dtype func(*pk), data []byte) *pk {
	p.sg("numpy.core.multiarray", "scalar")
	dtype(p)
	p.op('C', byte(len(data))).raw(string(data))
	return p.op(0x86, 'R')
}

// reconstruct pushes numpy.core.multiarray._reconstruct(ndarray, (0,), b'b').
func (p *pk) reconstruct() *pk {
	p.sg("numpy.core.multiarray", "_reconstruct").sg("numpy", "ndarray")
	p.int1(0).op(0x85).op('C', 1, 'b', 0x87, 'R')
	return p
}

type holeCase struct {
	name string
	data []byte
	kind Kind   // KindUnsafe or KindLimit
	rule string // substring of Error.Rule
	msg  string // substring of the message
	all  bool   // use ScanAll (both loaders) instead of Scan
	opts *Options
}

func checkHole(t *testing.T, tc holeCase) {
	t.Helper()
	var err error
	if tc.all {
		_, err = ScanAll(context.Background(), openBytes(tc.data), tc.opts)
	} else {
		_, err = Scan(context.Background(), bytes.NewReader(tc.data), tc.opts)
	}
	require.Error(t, err)
	var e *Error
	require.True(t, errors.As(err, &e), "%v", err)
	assert.Equal(t, tc.kind, e.Kind, "%v", err)
	if tc.kind == KindLimit {
		assert.ErrorIs(t, err, ErrLimit)
	} else {
		assert.ErrorIs(t, err, ErrUnsafe)
	}
	assert.Contains(t, e.Rule, tc.rule, "%v", err)
	assert.Contains(t, err.Error(), "rule "+e.Rule)
	assert.Contains(t, err.Error(), tc.msg)
	if tc.kind == KindUnsafe {
		assert.NotEmpty(t, e.Node, "%v", err)
		assert.Contains(t, err.Error(), e.Node)
	}
	// Load reaches the same verdict as Scan.
	if !tc.all {
		_, _, lerr := Load(context.Background(), bytes.NewReader(tc.data), tc.opts)
		assert.Equal(t, err.Error(), lerr.Error())
	}
}

// Hole 1: a state key of the array wrapper that shadows a method
// (read, read_array): joblib would read no array bytes and run the
// "data" as opcodes.
func TestHole1MethodShadowing(t *testing.T) {
	for _, key := range []string{"read", "read_array", "read_mmap", "__setstate__", "__class__"} {
		p := newPk(4).model()
		p.su("coef_").wrapperWith(func(p *pk) {
			stdWrapperItems(1, f8)(p)
			p.su(key).sg("numpy", "bool_")
		})
		p.Write(osSystem()[2:]) // "data" that is a payload for joblib
		checkHole(t, holeCase{name: key, data: p.endModel().stop(), kind: KindUnsafe, rule: "array-wrapper", msg: key})
	}
	// A wrapper without all of its fields is not joblib's either.
	p := newPk(4).model()
	p.su("coef_").wrapperWith(func(p *pk) { p.su("shape").binint(1).op(0x85) })
	checkHole(t, holeCase{data: p.endModel().stop(), kind: KindUnsafe, rule: "array-wrapper", msg: "fields"})
}

// Hole 2: pass-through callables that return their argument, so that a
// later BUILD changes an already validated node.
func TestHole2PassThroughCallables(t *testing.T) {
	t.Run("numpy.object_(x)", func(t *testing.T) {
		p := newPk(4).model()
		p.su("coef_").sg("numpy", "object_")
		f8(p)
		p.op(0x85, 'R')
		checkHole(t, holeCase{data: p.endModel().stop(), kind: KindUnsafe, rule: "call", msg: "may only be used as a value"})
	})
	t.Run("scalar(dtype('O'), x)", func(t *testing.T) {
		p := newPk(4).model()
		p.su("coef_").scalarOf(obj, []byte("12345678"))
		checkHole(t, holeCase{data: p.endModel().stop(), kind: KindUnsafe, rule: "call-schema", msg: "returns its argument"})
	})
	t.Run("BUILD on a shared V8 dtype after an array used it", func(t *testing.T) {
		p := newPk(4).model()
		// dtype V8, memoized, used by an array, then re-BUILT to itemsize 1.
		p.sg("numpy", "dtype").su("V8").op(0x89, 0x88, 0x87, 'R', 'q', 90)
		p.op('(').int1(3).su("|").op('N', 'N', 'N').binint(8).binint(1).int1(16).op('t', 'b', '0')
		p.su("coef_").wrapperWith(stdWrapperItems(1, func(p *pk) { p.op('h', 90) }))
		p.raw("\x00\x00\x00\x00\x00\x00\x00\x00")
		p.su("other").op('h', 90)
		p.op('(').int1(3).su("|").op('N', 'N', 'N').binint(1).binint(1).int1(16).op('t', 'b')
		checkHole(t, holeCase{data: p.endModel().stop(), kind: KindUnsafe, rule: "dtype-state", msg: "after the dtype was used"})
	})
	t.Run("second BUILD on a wrapper's array", func(t *testing.T) {
		p := newPk(4).model()
		p.su("coef_").wrapperWith(stdWrapperItems(1, f8))
		p.raw("\x00\x00\x00\x00\x00\x00\x00\x00")
		p.op('}', 'b')
		checkHole(t, holeCase{data: p.endModel().stop(), kind: KindUnsafe, rule: "ndarray-state", msg: "joblib read"})
	})
}

// Hole 3: a file that joblib reads safely but pickle.load reads as a
// payload, because the raw array data is opcodes.
func TestHole3LoaderDifferential(t *testing.T) {
	payload := newPk(0).gl("os", "system").raw("(S'id'\ntR0").Bytes() // os.system('id'); POP
	n := (len(payload) + 7) / 8
	payload = append(payload, bytes.Repeat([]byte("N0"), (n*8-len(payload))/2)...)
	if len(payload) < n*8 {
		payload = append(payload, 'N') // odd: one more None stays on the stack
	}
	p := newPk(4).model()
	p.su("coef_").wrapperWith(stdWrapperItems(int32(n), f8))
	p.raw(string(payload))
	data := p.endModel().stop()
	// joblib.load alone: the data is skipped, the file is a model.
	_, err := Scan(context.Background(), bytes.NewReader(data), nil)
	require.NoError(t, err)
	// Both loaders: pickle.load runs os.system.
	checkHole(t, holeCase{data: data, kind: KindUnsafe, rule: "every-loader", msg: "os.system", all: true})
}

// Hole 4: numpy.memmap (or ndarray) called: create, truncate or read any
// file, or allocate.
func TestHole4MemmapNeverCalled(t *testing.T) {
	for _, g := range []string{"memmap", "ndarray"} {
		p := newPk(4).model()
		p.su("coef_").sg("numpy", g).su("/etc/passwd").su("w+").op(0x86, 'R')
		checkHole(t, holeCase{name: g, data: p.endModel().stop(), kind: KindUnsafe, rule: "call", msg: "numpy." + g})
	}
	// As _reconstruct's class argument memmap is what numpy pickles.
	p := newPk(4).model()
	p.su("coef_").sg("numpy.core.multiarray", "_reconstruct").sg("numpy", "memmap").int1(0).op(0x85).op('C', 1, 'b', 0x87, 'R')
	p.op('(').int1(1).int1(1).op(0x85)
	f8(p)
	p.op(0x89, 'C', 8).raw("\x00\x00\x00\x00\x00\x00\xf0\x3f").op('t', 'b')
	_, err := Scan(context.Background(), bytes.NewReader(p.endModel().stop()), nil)
	require.NoError(t, err)
}

// Hole 5: BUILD as a call primitive: a first BUILD puts a __setstate__
// into the instance's attributes, a second calls it.
func TestHole5BuildAsCall(t *testing.T) {
	t.Run("__setstate__ key", func(t *testing.T) {
		p := newPk(4).sg("sklearn.linear_model._logistic", "LogisticRegression").op(')', 0x81)
		p.op('}').su("__setstate__").sg("numpy", "dtype").op('s', 'b')
		p.su("V8").op('b')
		checkHole(t, holeCase{data: p.stop(), kind: KindUnsafe, rule: "build-schema", msg: "__setstate__"})
	})
	t.Run("second BUILD", func(t *testing.T) {
		p := newPk(4).sg("sklearn.linear_model._logistic", "LogisticRegression").op(')', 0x81)
		p.op('}').su("C").int1(1).op('s', 'b')
		p.op('}').su("C").int1(2).op('s', 'b')
		checkHole(t, holeCase{data: p.stop(), kind: KindUnsafe, rule: "one-build", msg: "second BUILD"})
	})
	t.Run("unknown attribute", func(t *testing.T) {
		p := newPk(4).model().su("predict").sg("numpy", "float64").endModel()
		checkHole(t, holeCase{data: p.stop(), kind: KindUnsafe, rule: "build-schema", msg: `"predict"`})
	})
	t.Run("state mutated after BUILD", func(t *testing.T) {
		p := newPk(4).sg("sklearn.linear_model._logistic", "LogisticRegression").op(')', 0x81)
		p.op('}', 'q', 5).su("_sklearn_version").su("1.2.1").op('s', 'b')
		p.op('h', 5).su("_sklearn_version").op(']', 's', '0')
		checkHole(t, holeCase{data: p.stop(), kind: KindUnsafe, rule: "frozen", msg: "SETITEM"})
	})
}

// Hole 6: resources a 150-byte file makes the loader allocate or spend.
func TestHole6Resources(t *testing.T) {
	i8 := func(p *pk) { p.dtype("i8", "<", -1, 0) }
	tests := []holeCase{
		{name: "bytearray(numpy.int64(2**31))", data: func() []byte {
			p := newPk(4).model()
			p.su("coef_").sg("builtins", "bytearray").scalarOf(i8, []byte{0, 0, 0, 0x80, 0, 0, 0, 0}).op(0x85, 'R')
			return p.endModel().stop()
		}(), kind: KindUnsafe, rule: "call-schema", msg: "never a size"},
		{name: "scalar(dtype('V1073741824'))", data: func() []byte {
			p := newPk(4).model()
			p.su("coef_").sg("numpy.core.multiarray", "scalar").sg("numpy", "dtype").su("V1073741824").op(0x89, 0x88, 0x87, 'R', 0x85, 'R')
			return p.endModel().stop()
		}(), kind: KindLimit, rule: "max-itemsize", msg: "V1073741824"},
		{name: "ndarray((2e8,), 'O')", data: func() []byte {
			p := newPk(4).model()
			p.su("coef_").sg("numpy", "ndarray").binint(200000000).op(0x85).su("O").op(0x86, 'R')
			return p.endModel().stop()
		}(), kind: KindUnsafe, rule: "call", msg: "numpy.ndarray"},
		{name: "MT19937(huge int)", data: func() []byte {
			p := newPk(4).model()
			p.su("coef_").sg("numpy.random._mt19937", "MT19937").op(0x8b, 0, 4, 0, 0).raw(strings.Repeat("\x01", 1024)).op(0x85, 'R')
			return p.endModel().stop()
		}(), kind: KindUnsafe, rule: "call", msg: "MT19937"},
		{name: "random state of a huge seed", data: func() []byte {
			p := newPk(4).model()
			p.su("coef_").sg("numpy.random._pickle", "__randomstate_ctor").op(0x8b, 0, 4, 0, 0).raw(strings.Repeat("\x01", 1024)).op(0x85, 'R')
			return p.endModel().stop()
		}(), kind: KindUnsafe, rule: "call-schema", msg: "MT19937"},
		{name: "_sklearn_version a DAG of estimators", data: func() []byte {
			p := newPk(4).model()
			p.su("_sklearn_version").sg("sklearn.linear_model._logistic", "LogisticRegression").op(')', 0x81)
			return p.endModel().stop()
		}(), kind: KindUnsafe, rule: "state-type", msg: "_sklearn_version"},
		{name: "expanded size of a shared-reference DAG", data: func() []byte {
			p := newPk(4).model()
			p.su("classes_").op(']', 'q', 0)
			for i := 1; i < 40; i++ {
				p.op('(', 'h', byte(i-1), 'h', byte(i-1), 'l', 'q', byte(i))
				p.op('0')
			}
			p.op('0', 'h', 39)
			return p.endModel().stop()
		}(), kind: KindLimit, rule: "expanded-size", msg: "expanded graph"},
		{name: "strings beyond the budget", data: func() []byte {
			p := newPk(4).model()
			p.su("coef_").bu(strings.Repeat("a", 5000))
			return p.endModel().stop()
		}(), opts: &Options{Budget: 4096}, kind: KindLimit, rule: "budget", msg: "string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkHole(t, tc)
			if tc.opts == nil {
				assert.Less(t, len(tc.data), 1300, "a small file")
			}
		})
	}
}

// Hole 7: inputs that crash numpy: an object array whose data list is
// shorter than its shape, and dtypes whose fields contain themselves.
func TestHole7NumpyCrashes(t *testing.T) {
	t.Run("object array with a short list", func(t *testing.T) {
		p := newPk(4).model()
		p.su("coef_").reconstruct()
		p.op('(').int1(1).binint(100000).op(0x85)
		obj(p)
		p.op(0x89, ']').int1(1).op('a', 't', 'b')
		checkHole(t, holeCase{data: p.endModel().stop(), kind: KindUnsafe, rule: "ndarray-state", msg: "exactly 100000 items"})
	})
	t.Run("dtype whose field is itself", func(t *testing.T) {
		p := newPk(4).model()
		p.su("coef_").sg("numpy", "dtype").su("V8").op(0x89, 0x88, 0x87, 'R', 'q', 7)
		p.op('(').int1(3).su("|").op('N').su("a").op(0x85).op('}').su("a").op('h', 7).int1(0).op(0x86, 's')
		p.binint(8).binint(1).int1(16).op('t', 'b')
		checkHole(t, holeCase{data: p.endModel().stop(), kind: KindUnsafe, rule: "dtype-state", msg: "itself"})
	})
	t.Run("two dtypes containing each other", func(t *testing.T) {
		p := newPk(4).model()
		p.su("coef_").sg("numpy", "dtype").su("V8").op(0x89, 0x88, 0x87, 'R', 'q', 7, '0') // A, unbuilt
		p.sg("numpy", "dtype").su("V8").op(0x89, 0x88, 0x87, 'R', 'q', 8)                  // B
		p.op('(').int1(3).su("|").op('N').su("a").op(0x85).op('}').su("a").op('h', 7).int1(0).op(0x86, 's')
		p.binint(8).binint(1).int1(16).op('t', 'b', '0') // B has field A
		p.op('h', 7)
		p.op('(').int1(3).su("|").op('N').su("b").op(0x85).op('}').su("b").op('h', 8).int1(0).op(0x86, 's')
		p.binint(8).binint(1).int1(16).op('t', 'b') // A has field B
		checkHole(t, holeCase{data: p.endModel().stop(), kind: KindUnsafe, rule: "dtype-state", msg: "after the dtype was used"})
	})
}

// TestStateSchemas: classes whose state a loader allocates from or calls
// into have their values checked.
func TestStateSchemas(t *testing.T) {
	tests := []holeCase{
		{name: "RandomState of another bit generator", data: func() []byte {
			p := newPk(4).model()
			p.su("random_state").sg("numpy.random._pickle", "__randomstate_ctor").su("MT19937").op(0x85, 'R')
			p.op('}').su("bit_generator").su("PCG64").op('s', 'b')
			return p.endModel().stop()
		}(), kind: KindUnsafe, rule: "state-schema", msg: "MT19937"},
		{name: "Tree with a node_count beyond its nodes", data: func() []byte {
			p := newPk(4).sg("sklearn.tree._classes", "DecisionTreeClassifier").op(')', 0x81, '}', '(')
			p.su("tree_").sg("sklearn.tree._tree", "Tree").int1(4).reconstruct()
			p.op('(').int1(1).int1(1).op(0x85)
			p.dtype("i8", "<", -1, 0)
			p.op(0x89, 'C', 8).raw("\x03\x00\x00\x00\x00\x00\x00\x00").op('t', 'b')
			p.int1(1).op(0x87, 'R')
			p.op('}', '(').su("max_depth").int1(1).su("node_count").binint(1<<30).su("nodes").op('N').su("values").op('N', 'u', 'b')
			return p.endModel().stop()
		}(), kind: KindUnsafe, rule: "state-schema", msg: "node_count"},
		{name: "FunctionTransformer with a func", data: func() []byte {
			p := newPk(4).sg("sklearn.pipeline", "Pipeline").op(')', 0x81, '}', '(')
			p.su("steps").sg("sklearn.preprocessing._function_transformer", "FunctionTransformer").op(')', 0x81)
			p.op('}').su("func").sg("builtins", "float").op('s', 'b')
			return p.op('u', 'b').stop()
		}(), kind: KindUnsafe, rule: "state-schema", msg: "func"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { checkHole(t, tc) })
	}
}

// TestCallableInObjectArray: an object array holding a callable is
// rejected like a container holding one.
func TestCallableInObjectArray(t *testing.T) {
	p := newPk(4).model()
	p.su("classes_").reconstruct()
	p.op('(').int1(1).int1(1).op(0x85)
	obj(p)
	p.op(0x89, ']').sg("numpy", "dtype").op('a', 't', 'b')
	checkHole(t, holeCase{data: p.endModel().stop(), kind: KindUnsafe, rule: "state-type", msg: "callable numpy.dtype"})
}

// TestHostClassState: a class the host allows takes any attribute but a
// dunder or a method name.
func TestHostClassState(t *testing.T) {
	opts := &Options{Allow: []Global{{"mypkg", "Model"}}}
	model := func(key string) []byte {
		return newPk(4).sg("mypkg", "Model").op(')', 0x81, '}').su(key).int1(1).op('s', 'b').stop()
	}
	_, err := Scan(context.Background(), bytes.NewReader(model("weights")), opts)
	require.NoError(t, err)
	for _, key := range []string{"__reduce__", "__setstate__", "read", "predict"} {
		checkHole(t, holeCase{data: model(key), opts: opts, kind: KindUnsafe, rule: "build-schema", msg: key})
	}
	// Without the host's allowance the class is unknown.
	_, err = Scan(context.Background(), bytes.NewReader(model("weights")), nil)
	require.ErrorIs(t, err, ErrUnsafe)
}

// TestSoftErrorsUnderPickleLoad: where the machine is stricter than
// CPython's C unpickler (a read crossing a frame's end), the pickle.load
// reading of ScanAll cannot count its failure as safe: a joblib model
// whose raw array data, read by pickle.load, is a frame crossed by a
// string and then os.system is unsafe, though the machine stops at the
// crossing before it sees os.system.
func TestSoftErrorsUnderPickleLoad(t *testing.T) {
	payload := newPk(0).frame(3).su("abc").raw("cos\nsystem\n(S'id'\ntR0").Bytes()
	for len(payload)%8 != 0 {
		payload = append(payload, 'N', '0')[:len(payload)+1]
		if len(payload)%8 != 0 {
			payload = append(payload, '0')
		}
	}
	p := newPk(4).model()
	p.su("coef_").wrapperWith(stdWrapperItems(int32(len(payload)/8), f8))
	p.raw(string(payload))
	data := p.endModel().stop()
	_, err := Scan(context.Background(), bytes.NewReader(data), nil)
	require.NoError(t, err, "joblib.load skips the data")
	checkHole(t, holeCase{data: data, all: true, kind: KindUnsafe, rule: "every-loader", msg: "crosses the end of a frame"})
}
