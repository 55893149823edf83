package pickle

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pierrec/lz4/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/ulikunitz/xz"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "real", name))
	require.NoError(t, err)
	return b
}

func zlibBytes(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	_, err := w.Write(b)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

func xzBytes(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w, err := xz.NewWriter(&buf)
	require.NoError(t, err)
	_, err = w.Write(b)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

func lz4Bytes(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w := lz4.NewWriter(&buf)
	_, err := w.Write(b)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

// osSystem is a complete os.system payload.
func osSystem() []byte {
	return newPk(2).gl("os", "system").su("id").op(0x85, 'R').stop()
}

// afterArray is a joblib model whose first attribute is an 8-element
// float64 array (containing a STOP byte) and whose second is a payload.
func afterArray(payload func(*pk)) []byte {
	p := newPk(4).model()
	p.su("coef_").wrapper(8, f8, true, true)
	p.op(15).raw(strings.Repeat("\xff", 15)) // padding byte + padding
	p.raw(strings.Repeat(".", 64))           // array data that looks like STOP
	p.su("evil")
	payload(p)
	return p.endModel().stop()
}

func TestRejects(t *testing.T) {
	logreg := readFixture(t, "logreg.joblib")
	tests := []struct {
		name   string
		data   []byte
		opts   *Options
		kind   Kind
		global string // expected Error.Global, if any
		msg    string // substring of the message
	}{
		{name: "GLOBAL os.system REDUCE", data: osSystem(), kind: KindUnsafe, global: "os.system", msg: `module "os", name "system"`},
		{name: "GLOBAL protocol 0", data: []byte("cos\nsystem\n(S'id'\ntR."), kind: KindUnsafe, global: "os.system"},
		{name: "STACK_GLOBAL via memo'd strings",
			data: newPk(4).su("os").op(0x94, '0').bu8("system").op(0x94, '0').
				op('h', 0, 'h', 1, 0x93).su("id").op(0x85, 'R').stop(),
			kind: KindUnsafe, global: "os.system"},
		{name: "STACK_GLOBAL via BINPUT and LONG_BINGET",
			data: newPk(2).bu("subprocess").op('q', 7, '0').su("Popen").op('r', 0, 0, 1, 0, '0').
				op('j', 7, 0, 0, 0, 'j', 0, 0, 1, 0, 0x93).stop(),
			kind: KindUnsafe, global: "subprocess.Popen"},
		{name: "STACK_GLOBAL from escaped STRING", data: newPk(2).raw("S'o\\x73'\nS'sys\\164em'\n").op(0x93).stop(),
			kind: KindUnsafe, global: "os.system"},
		{name: "STACK_GLOBAL from escaped UNICODE", data: newPk(2).raw("V\\u006fs\nVsystem\n").op(0x93).stop(),
			kind: KindUnsafe, global: "os.system"},
		{name: "STACK_GLOBAL of bytes", data: newPk(4).op('C', 2).raw("os").op('C', 6).raw("system").op(0x93).stop(),
			kind: KindInvalid, msg: "requires str"},
		{name: "INST", data: []byte("(S'id'\nios\nsystem\n."), kind: KindUnsafe, global: "os.system"},
		{name: "OBJ", data: newPk(2).op('(').gl("os", "system").su("id").op('o').stop(), kind: KindUnsafe, global: "os.system"},
		{name: "builtins getattr", data: newPk(4).sg("builtins", "getattr").stop(), kind: KindUnsafe, global: "builtins.getattr", msg: "blocked"},
		{name: "protocol 4 dotted name",
			data: newPk(4).sg("sklearn.linear_model._logistic", "LogisticRegression.__init__.__globals__").stop(),
			kind: KindUnsafe, msg: "dotted"},
		{name: "dotted name to os.system", data: newPk(4).sg("os", "path.os.system").stop(), kind: KindUnsafe, msg: "dotted"},
		{name: "numpy.load", data: newPk(4).sg("numpy", "load").su("x.npy").op(0x85, 'R').stop(), kind: KindUnsafe, global: "numpy.load", msg: "blocked"},
		{name: "pkgutil.resolve_name", data: newPk(4).sg("pkgutil", "resolve_name").su("os:system").op(0x85, 'R').stop(),
			kind: KindUnsafe, global: "pkgutil.resolve_name"},
		{name: "runpy", data: newPk(4).sg("runpy", "_run_code").stop(), kind: KindUnsafe, global: "runpy._run_code"},
		{name: "python 2 compat rename", data: newPk(2).gl("__builtin__", "eval").stop(), kind: KindUnsafe, global: "builtins.eval", msg: "written __builtin__.eval"},
		{name: "python 2 compat rename of an allowed name", data: newPk(2).gl("UserDict", "UserDict").stop(),
			opts: &Options{Allow: []Global{{"UserDict", "UserDict"}}}, kind: KindUnsafe, global: "collections.UserDict"},
		{name: "NDArrayWrapper", data: newPk(2).gl("joblib.numpy_pickle_compat", "NDArrayWrapper").stop(), kind: KindUnsafe, msg: "external file"},
		{name: "extension code", data: newPk(2).op(0x82, 1).stop(), kind: KindUnsafe, msg: "extension"},
		{name: "REDUCE on a non-global", data: newPk(4).su("os").op(')', 'R').stop(), kind: KindUnsafe, msg: "not an allow-listed global"},
		{name: "BUILD on a class", data: newPk(4).sg("numpy", "ndarray").op('}', 'b').stop(), kind: KindUnsafe, msg: "BUILD on the class"},
		{name: "codecs encode with zlib codec", data: newPk(2).gl("_codecs", "encode").su("x").su("zlib").op(0x86, 'R').stop(), kind: KindUnsafe},
		{name: "payload after raw numpy data", data: afterArray(func(p *pk) { p.gl("os", "system").su("id").op(0x85, 'R') }), kind: KindUnsafe, global: "os.system"},
		{name: "second pickle appended to a real joblib file", data: append(append([]byte{}, logreg...), osSystem()...), kind: KindInvalid, msg: "trailing data"},
		{name: "payload in nested object-array pickle", data: func() []byte {
			p := newPk(4).model()
			p.su("classes_").wrapper(2, obj, true, false)
			p.Write(newPk(2).gl("os", "system").su("id").op(0x85, 'R').stop())
			return p.endModel().stop()
		}(), kind: KindUnsafe, global: "os.system"},
		{name: "object dtype smuggled as float flags", data: func() []byte {
			p := newPk(4).model()
			p.su("coef_").wrapper(1, func(p *pk) { p.dtype("f8", "<", -1, 1) }, false, false)
			p.Write(osSystem())
			return p.endModel().stop()
		}(), kind: KindUnsafe, msg: "flags"},
		{name: "payload in zlib joblib", data: zlibBytes(t, afterArray(func(p *pk) { p.sg("os", "system") })), kind: KindUnsafe, global: "os.system"},
		{name: "payload in xz joblib", data: xzBytes(t, afterArray(func(p *pk) { p.sg("subprocess", "run") })), kind: KindUnsafe, global: "subprocess.run"},
		{name: "payload in lz4 joblib", data: lz4Bytes(t, afterArray(func(p *pk) { p.sg("builtins", "eval") })), kind: KindUnsafe, global: "builtins.eval"},
		{name: "lying array shape", data: func() []byte {
			p := newPk(4).model()
			p.su("coef_").wrapper(1<<30, f8, false, false)
			p.raw(strings.Repeat("\x00", 64))
			return p.endModel().stop()
		}(), kind: KindLimit},
		{name: "array shape overflow", data: func() []byte {
			p := newPk(4).model()
			p.su("coef_").wrapper(1<<30, func(p *pk) { p.dtype("V1000000000", "|", 1<<30, 0) }, false, false)
			return p.endModel().stop()
		}(), kind: KindLimit},
		{name: "unicode dtype with odd itemsize", data: func() []byte {
			p := newPk(4).model()
			p.su("classes_").wrapper(1, func(p *pk) { p.dtype("U5", "<", 21, 8) }, false, false)
			return p.endModel().stop()
		}(), kind: KindUnsafe, msg: "itemsize"},
		{name: "array data inside a frame", data: func() []byte {
			body := newPk(0).model()
			body.su("coef_").wrapper(1, f8, false, false)
			body.raw("\x00\x00\x00\x00\x00\x00\x00\x00")
			b := body.endModel().stop()
			return append(newPk(4).frame(uint64(len(b))).Bytes(), b...)
		}(), kind: KindInvalid, msg: "inside a frame"},
		{name: "FRAME larger than input", data: newPk(4).frame(1 << 40).su("x").stop(), kind: KindInvalid, msg: "FRAME"},
		{name: "read crossing a frame", data: newPk(4).frame(3).su("abc").stop(), kind: KindInvalid, msg: "crosses"},
		{name: "huge BINUNICODE length", data: newPk(4).op('X', 0xff, 0xff, 0xff, 0xff).raw("abc").stop(), kind: KindInvalid},
		{name: "huge BINUNICODE8 length", data: newPk(4).op(0x8d, 0, 0, 0, 0, 0, 0, 0, 0x7f).raw("abc").stop(), kind: KindLimit},
		{name: "huge BINBYTES8 length", data: newPk(4).op(0x8e, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff).stop(), kind: KindInvalid},
		{name: "deep marks", data: append(bytes.Repeat([]byte{'('}, DefaultMaxStack+1), '.'), kind: KindLimit, msg: "stack deeper"},
		{name: "deep stack", data: append(bytes.Repeat([]byte{'N'}, DefaultMaxStack+1), '.'), kind: KindLimit, msg: "stack deeper"},
		{name: "bare dict root", data: newPk(4).op('}').su("a").int1(1).op('s').stop(), kind: KindInvalid, msg: "root"},
		{name: "bare string root", data: newPk(4).su("hello").stop(), kind: KindInvalid, msg: "root"},
		{name: "ndarray root", data: newPk(2).gl("numpy.core.multiarray", "_reconstruct").gl("numpy", "ndarray").int1(0).op(0x85).op('C', 1, 'b', 0x87, 'R').stop(), kind: KindUnsafe, msg: "never given its state"},
		{name: "truncated stream", data: logreg[:len(logreg)/2], kind: KindInvalid},
		{name: "truncated compressed", data: func() []byte { z := readFixture(t, "forest_zlib3.joblib"); return z[:len(z)-10] }(), kind: KindInvalid},
		{name: "trailing data after zlib stream", data: append(readFixture(t, "logreg_zlib3.joblib"), osSystem()...), kind: KindInvalid, msg: "trailing"},
		{name: "empty file", data: nil, kind: KindInvalid, msg: "empty"},
		{name: "ZF compat format", data: []byte("ZF0x00000000"), kind: KindInvalid, msg: "ZF"},
		{name: "not a pickle", data: []byte("hello world"), kind: KindInvalid},
		{name: "persistent id", data: newPk(2).raw("P0\n").stop(), kind: KindUnsafe, msg: "persistent"},
		{name: "next buffer", data: newPk(5).op(0x97).stop(), kind: KindInvalid},
		{name: "APPEND on an instance", data: newPk(4).model().op('1').su("x").op('a').stop(), kind: KindUnsafe, msg: "APPEND"},
		{name: "GET of a missing memo key", data: newPk(2).op('h', 3).stop(), kind: KindInvalid, msg: "memo"},
		{name: "STOP with extra values", data: newPk(4).model().endModel().op('N').stop(), kind: KindInvalid, msg: "STOP"},
		{name: "octal-looking INT", data: []byte("I010\n."), kind: KindInvalid, msg: "integer"},
		{name: "unsupported protocol", data: []byte{0x80, 6, 'N', '.'}, kind: KindInvalid, msg: "protocol"},
		{name: "wrapper class inside a container", data: newPk(4).op('(').sg("joblib.numpy_pickle", "NumpyArrayWrapper").op('l').stop(),
			kind: KindUnsafe, msg: "holds the callable joblib.numpy_pickle.NumpyArrayWrapper"},
		{name: "random state ctor calling another global", data: newPk(4).sg("numpy.random._pickle", "__randomstate_ctor").
			su("x").sg("numpy", "dtype").op(0x86, 'R').stop(), kind: KindUnsafe, msg: "only the MT19937 bit generator"},
		{name: "object dtype without LIST_PICKLE", data: func() []byte {
			p := newPk(4).model()
			p.su("classes_").wrapper(1, func(p *pk) { p.dtype("O8", "|", -1, 1) }, false, false)
			return p.endModel().stop()
		}(), kind: KindUnsafe, msg: "flags"},
		{name: "structured dtype field beyond its itemsize", data: func() []byte {
			p := newPk(4).model()
			p.su("nodes").wrapper(1, func(p *pk) {
				p.sg("numpy", "dtype").su("V8").op(0x89, 0x88, 0x87, 'R')
				p.op('(').int1(3).su("|").op('N').su("a").op(0x85).op('}').su("a")
				f8(p)
				p.int1(4).op(0x86, 's').binint(8).binint(1).int1(16).op('t', 'b')
			}, false, false)
			return p.endModel().stop()
		}(), kind: KindUnsafe, msg: "does not fit"},
		{name: "bytes of a size", data: newPk(2).gl("__builtin__", "bytes").binint(1<<30).op(0x85, 'R').stop(), kind: KindUnsafe, msg: "only bytes()"},
		{name: "wrapper via REDUCE", data: newPk(4).sg("joblib.numpy_pickle", "NumpyArrayWrapper").op(')', 'R').stop(), kind: KindUnsafe, msg: "NEWOBJ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Scan(context.Background(), bytes.NewReader(tt.data), tt.opts)
			require.Error(t, err)
			var e *Error
			require.True(t, errors.As(err, &e), "error %v is not a *Error", err)
			assert.Equal(t, tt.kind, e.Kind, "%v", err)
			switch tt.kind {
			case KindUnsafe:
				assert.ErrorIs(t, err, ErrUnsafe)
			case KindLimit:
				assert.ErrorIs(t, err, ErrLimit)
			default:
				assert.ErrorIs(t, err, ErrInvalid)
			}
			if tt.global != "" {
				assert.Equal(t, tt.global, e.Global.String())
				assert.Contains(t, err.Error(), tt.global)
			}
			if tt.msg != "" {
				assert.Contains(t, err.Error(), tt.msg)
			}
			// Streaming (non-seekable) input must reach the same verdict.
			_, err2 := Scan(context.Background(), struct{ *bytes.Reader }{bytes.NewReader(tt.data)}, tt.opts)
			var e2 *Error
			require.True(t, errors.As(err2, &e2), "streaming: %v", err2)
			assert.Equal(t, e.Kind, e2.Kind, "streaming: %v", err2)
		})
	}
}
