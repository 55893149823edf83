package pickle

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// walkBytes parses data as a plain pickle and returns the root value.
func walkBytes(data []byte) (Value, error) {
	m := newMachine(context.Background(), bytesOpts.withDefaults(), true)
	m.in = &input{br: bufio.NewReader(bytes.NewReader(data)), end: -1}
	return m.parse(modePlain)
}

// bytesOpts scans plain pickles.
var bytesOpts = &Options{Plain: true}

// TestOpcodeFixtures walks pickles of built-in data that CPython wrote with
// every protocol (testdata/opcodes, see gen_fixtures.py).
func TestOpcodeFixtures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "opcodes", "*.pickle"))
	require.NoError(t, err)
	require.Len(t, files, 6)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			_, res, err := run(context.Background(), bytes.NewReader(data), bytesOpts, true, false)
			require.NoError(t, err)
			root, err := walkBytes(data)
			require.NoError(t, err)
			assert.IsType(t, &Dict{}, root)
			for _, g := range res.Globals {
				assert.Contains(t, []Global{gCodecsEncode, gBytes, gBytearray, {"builtins", "set"},
					{"builtins", "frozenset"}, {"builtins", "slice"}}, g)
			}
		})
	}
}

func TestOpcodeValues(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want Value
	}{
		{"INT", []byte("I42\n."), int64(42)},
		{"INT negative", []byte("I-7\n."), int64(-7)},
		{"INT true", []byte("I01\n."), true},
		{"INT false", []byte("I00\n."), false},
		{"INT big", []byte("I123456789012345678901234567890\n."), bigInt("123456789012345678901234567890")},
		{"LONG", []byte("L123L\n."), int64(123)},
		{"BININT", newPk(2).binint(-5).stop(), int64(-5)},
		{"BININT1", newPk(2).int1(200).stop(), int64(200)},
		{"BININT2", newPk(2).op('M', 0x34, 0x12).stop(), int64(0x1234)},
		{"LONG1 negative", newPk(2).op(0x8a, 1, 0xff).stop(), int64(-1)},
		{"LONG1 zero length", newPk(2).op(0x8a, 0).stop(), int64(0)},
		{"LONG1 8 bytes", newPk(2).op(0x8a, 8, 1, 0, 0, 0, 0, 0, 0, 0x80).stop(), int64(-1<<63 + 1)},
		{"LONG4 big", newPk(2).op(0x8b, 9, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9).stop(), bigInt("166599134359138271745")},
		{"NONE", newPk(2).op('N').stop(), nil},
		{"NEWTRUE", newPk(2).op(0x88).stop(), true},
		{"FLOAT", []byte("F1.5\n."), 1.5},
		{"BINFLOAT", newPk(2).op('G', 0x3f, 0xf8, 0, 0, 0, 0, 0, 0).stop(), 1.5},
		{"STRING escapes", []byte("S'a\\x41\\101\\n\\q'\n."), "aAA\n\\q"},
		{"STRING double quotes", []byte("S\"it's\"\n."), "it's"},
		{"BINSTRING", newPk(2).op('T', 2, 0, 0, 0).raw("os").stop(), "os"},
		{"SHORT_BINSTRING", newPk(2).op('U', 2).raw("os").stop(), "os"},
		{"UNICODE escapes", []byte("V\\u0041\\U0001F600\\\\u0041\xe9\n."), "A\U0001F600\\\\u0041\u00e9"},
		{"BINUNICODE", newPk(2).bu("caf\u00e9").stop(), "caf\u00e9"},
		{"BINUNICODE8", newPk(4).bu8("x").stop(), "x"},
		{"long string kept", newPk(4).bu(strings.Repeat("z", 500)).stop(), strings.Repeat("z", 500)},
		{"BINBYTES", newPk(3).op('B', 1, 0, 0, 0, 'x').stop(), []byte("x")},
		{"SHORT_BINBYTES", newPk(3).op('C', 1, 'x').stop(), []byte("x")},
		{"BYTEARRAY8", newPk(5).op(0x96, 1, 0, 0, 0, 0, 0, 0, 0, 'x').stop(), []byte("x")},
		{"READONLY_BUFFER", newPk(5).op('C', 1, 'x', 0x98).stop(), []byte("x")},
		{"DUP", newPk(2).int1(1).op('2', '0').stop(), int64(1)},
		{"POP", newPk(2).int1(1).int1(2).op('0').stop(), int64(1)},
		{"POP of a mark", newPk(2).int1(1).op('(', '0').stop(), int64(1)},
		{"POP_MARK", newPk(2).int1(1).op('(').int1(2).int1(3).op('1').stop(), int64(1)},
		{"PUT GET", []byte("I5\np3\n0g3\n."), int64(5)},
		{"BINPUT BINGET", newPk(2).int1(9).op('q', 200, '0', 'h', 200).stop(), int64(9)},
		{"LONG_BINPUT LONG_BINGET", newPk(2).int1(9).op('r', 1, 2, 3, 4, '0', 'j', 1, 2, 3, 4).stop(), int64(9)},
		{"MEMOIZE counts entries, not indexes", newPk(4).int1(1).op('q', 9, '0').int1(2).op(0x94, '0', 'h', 1).stop(), int64(2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := walkBytes(tt.data)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestOpcodeContainers(t *testing.T) {
	tests := []struct {
		name  string
		data  []byte
		kind  Value
		items int
	}{
		{"EMPTY_TUPLE", newPk(2).op(')').stop(), &Tuple{}, 0},
		{"TUPLE", newPk(2).op('(').int1(1).int1(2).op('t').stop(), &Tuple{}, 2},
		{"TUPLE1", newPk(2).int1(1).op(0x85).stop(), &Tuple{}, 1},
		{"TUPLE2", newPk(2).int1(1).int1(1).op(0x86).stop(), &Tuple{}, 2},
		{"TUPLE3", newPk(2).int1(1).int1(1).int1(1).op(0x87).stop(), &Tuple{}, 3},
		{"LIST APPEND APPENDS", newPk(2).op(']').int1(1).op('a', '(').int1(2).int1(3).op('e').stop(), &List{}, 3},
		{"LIST from mark", newPk(2).op('(').int1(1).op('l').stop(), &List{}, 1},
		{"DICT SETITEM SETITEMS", newPk(2).op('}').int1(1).int1(2).op('s', '(').int1(3).int1(4).op('u').stop(), &Dict{}, 4},
		{"DICT from mark", newPk(2).op('(').int1(1).int1(2).op('d').stop(), &Dict{}, 2},
		{"EMPTY_SET ADDITEMS", newPk(4).op(0x8f, '(').int1(1).int1(2).op(0x90).stop(), &Set{}, 2},
		{"FROZENSET", newPk(4).op('(').int1(1).op(0x91).stop(), &Set{}, 1},
		{"DUP shares the list", newPk(2).op(']', '2').int1(1).op('a', '0').stop(), &List{}, 1},
		{"GET shares the list", newPk(2).op(']', 'q', 0).int1(1).op('a', '0', 'h', 0).stop(), &List{}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := walkBytes(tt.data)
			require.NoError(t, err)
			assert.IsType(t, tt.kind, got)
			assert.Equal(t, tt.items, itemCount(got))
		})
	}
}

func TestOpcodeErrors(t *testing.T) {
	tests := map[string][]byte{
		"DICT odd":              newPk(2).op('(').int1(1).op('d').stop(),
		"SETITEMS odd":          newPk(2).op('}', '(').int1(1).op('u').stop(),
		"pop through a mark":    newPk(2).int1(1).op('(', 0x85).stop(),
		"TUPLE1 on empty":       newPk(2).op(0x85).stop(),
		"POP_MARK without mark": newPk(2).op('1').stop(),
		"POP on empty":          newPk(2).op('0').stop(),
		"DUP on empty":          newPk(2).op('2').stop(),
		"PUT on empty":          newPk(2).op('q', 0).stop(),
		"STRING unquoted":       []byte("Sabc\n."),
		"STRING bad hex":        []byte("S'\\x4'\n."),
		"UNICODE bad escape":    []byte("V\\u00\n."),
		"PUT negative":          []byte("I1\np-1\n."),
		"LONG4 negative length": newPk(2).op(0x8b, 0xff, 0xff, 0xff, 0xff).stop(),
		"BINSTRING negative":    newPk(2).op('T', 0xff, 0xff, 0xff, 0xff).stop(),
		"FRAME inside frame":    newPk(4).frame(20).frame(1).op('N').stop(),
		"STOP inside frame":     append(newPk(4).frame(5).op('N').stop(), 0, 0, 0),
		"unknown opcode":        {0x00},
		"no STOP":               newPk(2).op('N').Bytes(),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := walkBytes(data)
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrInvalid) || errors.Is(err, ErrLimit), "%v", err)
		})
	}
}

func TestEscapeDecoders(t *testing.T) {
	dec, ok := escapeDecode([]byte(`\\\'\"\a\b\f\n\r\t\v\0\777\x7f\z`))
	require.True(t, ok)
	assert.Equal(t, []byte("\\'\"\a\b\f\n\r\t\v\x00\xff\x7f\\z"), dec)
	_, ok = escapeDecode([]byte(`abc\`))
	assert.False(t, ok)
	u, ok := rawUnicodeEscapeDecode([]byte(`\\u0041\u0041\\\u0041`))
	require.True(t, ok)
	assert.Equal(t, `\\u0041A\\A`, string(u))
	_, ok = rawUnicodeEscapeDecode([]byte(`\U00110000`))
	assert.False(t, ok)
}

func bigInt(s string) *big.Int {
	n, _ := new(big.Int).SetString(s, 10)
	return n
}

func itemCount(v Value) int {
	switch x := v.(type) {
	case *List:
		return len(x.Items)
	case *Tuple:
		return len(x.Items)
	case *Dict:
		return 2 * len(x.Keys)
	case *Set:
		return len(x.Items)
	}
	return -1
}

func TestMutationOfNonContainerIsUnsafe(t *testing.T) {
	_, err := walkBytes(newPk(4).su("x").int1(1).int1(2).op('s').stop())
	require.ErrorIs(t, err, ErrUnsafe)
	assert.Contains(t, err.Error(), "__setitem__")
}
