package pickle

import (
	"bytes"
	"encoding/binary"
)

// pk writes pickles opcode by opcode. Nothing in these tests is ever
// unpickled, and no payload is made by pickling an object.
type pk struct{ bytes.Buffer }

func newPk(proto byte) *pk {
	p := &pk{}
	if proto >= 2 {
		p.op(0x80, proto)
	}
	return p
}

func (p *pk) op(b ...byte) *pk { p.Write(b); return p }

func (p *pk) raw(s string) *pk { p.WriteString(s); return p }

// su is SHORT_BINUNICODE.
func (p *pk) su(s string) *pk { return p.op(0x8c, byte(len(s))).raw(s) }

// bu is BINUNICODE.
func (p *pk) bu(s string) *pk {
	p.op('X')
	_ = binary.Write(p, binary.LittleEndian, uint32(len(s)))
	return p.raw(s)
}

// bu8 is BINUNICODE8.
func (p *pk) bu8(s string) *pk {
	p.op(0x8d)
	_ = binary.Write(p, binary.LittleEndian, uint64(len(s)))
	return p.raw(s)
}

// sg is STACK_GLOBAL of module and name pushed as SHORT_BINUNICODE.
func (p *pk) sg(mod, name string) *pk { return p.su(mod).su(name).op(0x93) }

// gl is GLOBAL.
func (p *pk) gl(mod, name string) *pk { return p.raw("c" + mod + "\n" + name + "\n") }

func (p *pk) int1(n byte) *pk { return p.op('K', n) }

func (p *pk) binint(n int32) *pk {
	p.op('J')
	_ = binary.Write(p, binary.LittleEndian, n)
	return p
}

func (p *pk) frame(n uint64) *pk {
	p.op(0x95)
	_ = binary.Write(p, binary.LittleEndian, n)
	return p
}

func (p *pk) stop() []byte { p.op('.'); return p.Bytes() }

// model starts an allow-listed root: LogisticRegression via NEWOBJ, then
// an empty state dict and a MARK for SETITEMS.
func (p *pk) model() *pk {
	return p.sg("sklearn.linear_model._logistic", "LogisticRegression").op(')', 0x81, '}', '(')
}

// endModel closes what model opened: SETITEMS, BUILD.
func (p *pk) endModel() *pk { return p.op('u', 'b') }

// dtype pushes numpy.dtype(typestr, False, True) with a BUILD state.
func (p *pk) dtype(typestr, order string, elsize int32, flags byte) *pk {
	p.sg("numpy", "dtype").su(typestr).op(0x89, 0x88, 0x87, 'R')
	p.op('(').int1(3).su(order).op('N', 'N', 'N').binint(elsize).binint(-1).int1(flags).op('t', 'b')
	return p
}

// wrapper pushes a joblib NumpyArrayWrapper, BUILDs it with shape (n,),
// and writes what joblib writes after it: data follows.
func (p *pk) wrapper(n int32, dtype func(*pk), align, mmap bool) *pk {
	p.sg("joblib.numpy_pickle", "NumpyArrayWrapper").op(')', 0x81, '}', '(')
	p.su("subclass").sg("numpy", "ndarray")
	p.su("shape").binint(n).op(0x85)
	p.su("order").su("C")
	p.su("dtype")
	dtype(p)
	p.su("allow_mmap").op(0x89)
	if mmap {
		p.op('0', 0x88)
	}
	if align {
		p.su("numpy_array_alignment_bytes").int1(16)
	}
	return p.op('u', 'b')
}

// f8 is a float64 dtype.
func f8(p *pk) { p.dtype("f8", "<", -1, 0) }

// obj is an object dtype.
func obj(p *pk) { p.dtype("O8", "|", -1, 63) }
