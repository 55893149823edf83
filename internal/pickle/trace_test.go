package pickle

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// traceFixture maps a trace file (testdata/traces, written by
// gen_traces.py with CPython's pickletools.genops) to its fixture.
func traceFixture(trace string) (path string, plain, data bool) {
	name := strings.TrimSuffix(filepath.Base(trace), ".trace")
	switch {
	case strings.HasPrefix(name, "real_"):
		path = filepath.Join("testdata", "real", strings.TrimPrefix(name, "real_"))
	case strings.HasPrefix(name, "opcodes_"):
		path, data = filepath.Join("testdata", "opcodes", strings.TrimPrefix(name, "opcodes_")), true
	case strings.HasPrefix(name, "sklearn_"):
		path = filepath.Join("..", "..", "modelpkg", "sklearn", "testdata", strings.TrimPrefix(name, "sklearn_"))
	}
	plain = strings.HasSuffix(path, ".pkl") || strings.HasSuffix(path, ".pickle")
	return path, plain, data
}

// machineTrace parses data and returns "offset opcode" per opcode the
// machine executed.
func machineTrace(data []byte, plain, checkRoot bool) ([]string, error) {
	o := (&Options{Plain: plain}).withDefaults()
	m := newMachine(context.Background(), o, false)
	var out []string
	m.trace = func(op byte, pos int64) { out = append(out, fmt.Sprintf("%d %02x", pos, op)) }
	_, _, err := runWith(m, bytes.NewReader(data), o, runFlags{checkRoot: checkRoot})
	return out, err
}

// TestNoParserDifferential: on every fixture, the machine executes the
// opcodes CPython's pickletools.genops sees, at the same byte offsets
// (array data skipped where joblib reads it).
func TestNoParserDifferential(t *testing.T) {
	traces, err := filepath.Glob(filepath.Join("testdata", "traces", "*.trace"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(traces), 80)
	for _, tr := range traces {
		t.Run(filepath.Base(tr), func(t *testing.T) {
			want, err := os.ReadFile(tr)
			require.NoError(t, err)
			path, plain, isData := traceFixture(tr)
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			got, err := machineTrace(data, plain, !isData)
			require.NoError(t, err)
			assert.Equal(t, strings.Split(strings.TrimSpace(string(want)), "\n"), got)
		})
	}
}

// decodeOpcodes is a second, independent decoder of the pickle byte
// stream: it only knows each opcode's argument layout (from the pickle
// protocol's definition, not from the machine), and skips the given raw
// data ranges. It returns "offset opcode" per opcode, or ok false.
func decodeOpcodes(data []byte, skips [][2]int64) ([]string, bool) {
	var out []string
	pos := int64(0)
	n := int64(len(data))
	line := func(p int64) (int64, bool) {
		i := bytes.IndexByte(data[p:], '\n')
		if i < 0 {
			return 0, false
		}
		return p + int64(i) + 1, true
	}
	le := func(p, k int64) (int64, bool) {
		if p+k > n {
			return 0, false
		}
		var v uint64
		for i := k - 1; i >= 0; i-- {
			v = v<<8 | uint64(data[p+i])
		}
		if k == 4 && v >= 1<<31 && data[pos] == 'T' {
			return 0, false
		}
		if v > uint64(n) {
			return 0, false
		}
		return int64(v), true
	}
	for pos < n {
		if len(skips) > 0 && skips[0][0] == pos {
			pos = skips[0][1]
			skips = skips[1:]
			continue
		}
		op := data[pos]
		out = append(out, fmt.Sprintf("%d %02x", pos, op))
		p := pos + 1
		var ok = true
		switch op {
		case '(', '.', '0', '1', '2', 'N', 0x88, 0x89, ']', ')', '}', 0x8f, 'l', 't', 0x91, 'd',
			0x85, 0x86, 0x87, 'a', 'e', 's', 'u', 0x90, 0x94, 0x93, 'o', 'R', 0x81, 0x92, 'b', 0x97, 0x98, 'Q':
		case 'K', 'q', 'h', 0x80, 0x82:
			p++
		case 'M', 0x83:
			p += 2
		case 'J', 'r', 'j', 0x84:
			p += 4
		case 'G', 0x95:
			p += 8
		case 'U', 'C', 0x8c, 0x8a:
			var k int64
			k, ok = le(p, 1)
			p += 1 + k
		case 'T', 'B', 'X', 0x8b:
			var k int64
			k, ok = le(p, 4)
			p += 4 + k
		case 0x8e, 0x8d, 0x96:
			var k int64
			k, ok = le(p, 8)
			p += 8 + k
		case 'I', 'L', 'F', 'S', 'V', 'P', 'p', 'g':
			p, ok = line(p)
		case 'c', 'i':
			p, ok = line(p)
			if ok {
				p, ok = line(p)
			}
		default:
			return nil, false
		}
		if !ok || p > n {
			return nil, false
		}
		pos = p
	}
	return out, true
}

// FuzzTrace: anything the machine accepts (as joblib.load or pickle.load
// reads it, root unchecked) decodes to the same opcodes at the same
// offsets with the independent decoder.
func FuzzTrace(f *testing.F) {
	for _, pattern := range []string{"testdata/real/*", "testdata/opcodes/*", "../../modelpkg/sklearn/testdata/*.joblib"} {
		files, _ := filepath.Glob(filepath.FromSlash(pattern))
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add(afterArray(func(p *pk) { p.int1(1) }))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, plain := range []bool{true, false} {
			o := (&Options{Plain: plain, MaxDecompressedSize: 8 << 20, Budget: 64 << 20}).withDefaults()
			m := newMachine(context.Background(), o, false)
			var got []string
			var skips [][2]int64
			m.trace = func(op byte, pos int64) { got = append(got, fmt.Sprintf("%d %02x", pos, op)) }
			m.skipped = func(start, end int64) { skips = append(skips, [2]int64{start, end}) }
			_, res, err := runWith(m, bytes.NewReader(data), o, runFlags{})
			if err != nil || res.Compression != "" {
				continue
			}
			want, ok := decodeOpcodes(data, skips)
			if !ok {
				t.Fatalf("plain=%v: accepted, but the independent decoder fails", plain)
			}
			if strings.Join(want, ",") != strings.Join(got, ",") {
				t.Fatalf("plain=%v: opcode streams differ:\nmachine %v\ndecoder %v", plain, got, want)
			}
		}
	})
}
