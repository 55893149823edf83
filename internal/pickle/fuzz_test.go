package pickle

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func FuzzScan(f *testing.F) {
	for _, pattern := range []string{"testdata/real/*", "testdata/opcodes/*", "../../modelpkg/sklearn/testdata/*.joblib"} {
		files, _ := filepath.Glob(filepath.FromSlash(pattern))
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add(osSystem())
	f.Add(afterArray(func(p *pk) { p.sg("os", "system") }))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, plain := range []bool{false, true} {
			opts := &Options{Plain: plain, MaxDecompressedSize: 8 << 20}
			res, err := Scan(context.Background(), bytes.NewReader(data), opts)
			if err == nil {
				if res.Root == (Global{}) {
					t.Fatal("accepted without a root class")
				}
				continue
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error is not a *Error: %v", err)
			}
			if e.Kind != KindInvalid && e.Kind != KindUnsafe && e.Kind != KindLimit {
				t.Fatalf("bad kind %v", e.Kind)
			}
		}
		// Load reaches Scan's verdict; ScanAll accepts only what Scan does.
		opts := &Options{MaxDecompressedSize: 8 << 20, Budget: 64 << 20}
		_, serr := Scan(context.Background(), bytes.NewReader(data), opts)
		_, _, lerr := Load(context.Background(), bytes.NewReader(data), opts)
		if (serr == nil) != (lerr == nil) || errKind(serr) != errKind(lerr) {
			t.Fatalf("Scan says %v, Load says %v", serr, lerr)
		}
		if _, aerr := ScanAll(context.Background(), openBytes(data), opts); aerr == nil && serr != nil {
			t.Fatalf("ScanAll accepts what Scan rejects: %v", serr)
		}
	})
}

// nonSeeker hides Seek, so that Scan cannot check lengths against the
// file size up front and must stream.
type nonSeeker struct{ r *bytes.Reader }

func (n nonSeeker) Read(p []byte) (int, error) { return n.r.Read(p) }

// TestDeclaredLengthsAreNotAllocated checks that huge declared lengths are
// never allocated, whether the input can seek or not.
func TestDeclaredLengthsAreNotAllocated(t *testing.T) {
	inputs := map[string][]byte{
		"BINUNICODE8 1 TiB": newPk(4).op(0x8d, 0, 0, 0, 0, 0, 1, 0, 0).raw("abc").stop(),
		"BINBYTES 4 GiB":    newPk(4).op('B', 0xff, 0xff, 0xff, 0xff).raw("abc").stop(),
		"LONG4 2 GiB":       newPk(4).op(0x8b, 0xff, 0xff, 0xff, 0x7f).raw("abc").stop(),
		"FRAME 1 TiB":       newPk(4).frame(1 << 40).su("abc").stop(),
		"array of 1 TiB":    func() []byte { p := newPk(4).model(); p.su("x").wrapper(1<<30, f8, false, false); return p.Bytes() }(),
		"long GLOBAL line":  append([]byte("c"), bytes.Repeat([]byte("a"), 1<<20)...),
		"xz dictionary 4 GiB": func() []byte {
			b := append([]byte{}, readFixture(t, "forest_xz.joblib")...)
			// Stream header (12 bytes), then the block header: size,
			// flags, filter ID 0x21, properties size 1, dictionary byte.
			require.Equal(t, []byte{0x21, 0x01}, b[14:16])
			b[16] = 40
			return b
		}(),
		"lzma dictionary 4 GiB": func() []byte {
			b := append([]byte{}, readFixture(t, "forest_lzma.joblib")...)
			b[2], b[3], b[4] = 0xff, 0xff, 0xff
			return b
		}(),
	}
	for name, data := range inputs {
		t.Run(name, func(t *testing.T) {
			for _, seek := range []bool{true, false} {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				var r interface{ Read([]byte) (int, error) } = bytes.NewReader(data)
				if !seek {
					r = nonSeeker{bytes.NewReader(data)}
				}
				_, err := Scan(context.Background(), r, nil)
				runtime.ReadMemStats(&after)
				require.Error(t, err)
				assert.False(t, errors.Is(err, ErrUnsafe), "%v", err)
				assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "seek=%v allocated too much", seek)
			}
			allocs := testing.AllocsPerRun(5, func() {
				_, _ = Scan(context.Background(), nonSeeker{bytes.NewReader(data)}, nil)
			})
			assert.Less(t, allocs, 300.0) // the graph's nodes, not the declared sizes
		})
	}
}

// TestMemoryBoundedOnHostileInput feeds inputs that try to make the
// scanner keep many values, and checks the memory it holds stays bounded.
func TestMemoryBoundedOnHostileInput(t *testing.T) {
	p := newPk(4)
	// A list that keeps growing, memo entries beyond the limit.
	p.op(']')
	for i := 0; i < 300000; i++ {
		p.su("abcdefghabcdefghabcdefghabcdefghabcdefgh").op(0x94, 'a')
	}
	_, err := Scan(context.Background(), bytes.NewReader(p.stop()), nil)
	require.ErrorIs(t, err, ErrLimit)
	assert.Contains(t, err.Error(), "memo entries")
}

// TestDictWorkIsLinear: many SETITEMs, with distinct and with repeated
// keys, cost linear work (a key scan per insert would be quadratic).
func TestDictWorkIsLinear(t *testing.T) {
	p := newPk(4).op('}')
	for i := 0; i < 100000; i++ {
		p.binint(int32(i)).op('N', 's')
		p.su("k").op('N', 's')
	}
	// Quadratic, this would be 10^10 key comparisons.
	root, err := walkBytes(p.stop())
	require.NoError(t, err)
	assert.Len(t, root.(*Dict).Keys, 100001)
}

// TestHashedTupleDAG: a tuple DAG used as a dict key or set item would
// hash in exponential time (CPython does not cache tuple hashes): limit.
func TestHashedTupleDAG(t *testing.T) {
	dag := func(p *pk) *pk {
		p.op(')')
		for i := 0; i < 40; i++ {
			p.op('2', 0x86) // (t, t)
		}
		return p
	}
	for name, data := range map[string][]byte{
		"dict key":  dag(newPk(4).op('}')).op('N', 's').stop(),
		"set item":  dag(newPk(4).op(0x8f, '(')).op(0x90).stop(),
		"frozenset": dag(newPk(4).op('(')).op(0x91).stop(),
		"set()":     dag(newPk(2).gl("__builtin__", "set").op(']')).op('a', 0x85, 'R').stop(),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := walkBytes(data)
			require.ErrorIs(t, err, ErrLimit)
			assert.Contains(t, err.Error(), "exponential")
		})
	}
}

// TestDeepNesting: lists nested 30,000 deep are a limit, not a stack
// overflow of the policy's walk.
func TestDeepNesting(t *testing.T) {
	const n = 3 * maxDepth
	p := newPk(4).model().su("classes_")
	p.op(']', 'q', 0, '0')
	p.raw(strings.Repeat("]h\x00aq\x000", n)) // [prev], memoized in place of prev
	p.op('h', 0)
	_, err := Scan(context.Background(), bytes.NewReader(p.endModel().stop()), nil)
	require.ErrorIs(t, err, ErrLimit)
	assert.Contains(t, err.Error(), "nested deeper")
}

func errKind(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}
