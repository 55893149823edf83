package pickle

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// maxDictSize bounds the LZMA dictionary an xz or lzma file may declare:
// decoders allocate it up front. Python's presets use at most 64 MiB.
const maxDictSize = 64 << 20

// xzGuard sits between an xz file and the xz decoder and lets bytes through
// only after it has parsed the container structure they belong to (stream
// headers, block headers, LZMA2 chunk headers, indexes, footers), so that
// a block header declaring a dictionary larger than maxDictSize is
// rejected before the decoder sees it and allocates the dictionary. The
// decoder still checks everything else (checksums, padding, the data).
type xzGuard struct {
	br      *bufio.Reader
	allowed int64 // bytes verified and not yet passed on
	state   xzState
	pos     int64 // offset within the current block or index
	check   int64 // size of the stream's check field
}

type xzState uint8

const (
	xzStreamHeader xzState = iota
	xzBlockOrIndex
	xzChunk
	xzBlockPad
	xzFooter
	xzStreamPad
)

var errXZ = errors.New("malformed xz container")

func newXZGuard(br *bufio.Reader) *xzGuard { return &xzGuard{br: br} }

func (g *xzGuard) Read(p []byte) (int, error) {
	for g.allowed == 0 {
		if err := g.advance(); err != nil {
			return 0, err
		}
	}
	if int64(len(p)) > g.allowed {
		p = p[:g.allowed]
	}
	n, err := g.br.Read(p)
	g.allowed -= int64(n)
	if err == io.EOF && g.allowed > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (g *xzGuard) peek(n int) ([]byte, error) {
	b, err := g.br.Peek(n)
	if err == io.EOF || (err == nil && len(b) < n) {
		return nil, io.ErrUnexpectedEOF
	}
	if err == bufio.ErrBufferFull {
		return nil, fmt.Errorf("%w: header too large", errXZ)
	}
	return b, err
}

// uvarint decodes an xz multibyte integer from b.
func uvarint(b []byte) (uint64, int, error) {
	x, n := binary.Uvarint(b)
	if n <= 0 || n > 9 {
		return 0, 0, fmt.Errorf("%w: bad integer", errXZ)
	}
	return x, n, nil
}

// lzma2Dict decodes an LZMA2 dictionary-size property byte.
func lzma2Dict(b byte) (int64, error) {
	b &= 0x3f
	if b > 40 {
		return 0, fmt.Errorf("%w: bad dictionary size", errXZ)
	}
	if b == 40 {
		return 0xffffffff, nil
	}
	return int64(2|b&1) << (b/2 + 11), nil
}

func (g *xzGuard) advance() error {
	switch g.state {
	case xzStreamHeader:
		h, err := g.peek(12)
		if err != nil {
			return err
		}
		if !bytes.HasPrefix(h, magicXz) || h[5] != 0 {
			return fmt.Errorf("%w: bad stream header", errXZ)
		}
		t := int64(h[7] & 0x0f)
		g.check = [16]int64{0, 4, 4, 4, 8, 8, 8, 16, 16, 16, 32, 32, 32, 64, 64, 64}[t]
		g.allowed, g.state = 12, xzBlockOrIndex
	case xzBlockOrIndex:
		b, err := g.peek(1)
		if err != nil {
			return err
		}
		if b[0] == 0 {
			return g.index()
		}
		size := (int(b[0]) + 1) * 4
		h, err := g.peek(size)
		if err != nil {
			return err
		}
		if err := checkBlockHeader(h[:size-4]); err != nil {
			return err
		}
		g.allowed, g.pos, g.state = int64(size), int64(size), xzChunk
	case xzChunk:
		b, err := g.peek(1)
		if err != nil {
			return err
		}
		var n int64
		switch c := b[0]; {
		case c == 0:
			n, g.state = 1, xzBlockPad
		case c == 1 || c == 2:
			h, err := g.peek(3)
			if err != nil {
				return err
			}
			n = 3 + int64(binary.BigEndian.Uint16(h[1:3])) + 1
		case c >= 0x80:
			hl := 5
			if c >= 0xc0 {
				hl = 6
			}
			h, err := g.peek(hl)
			if err != nil {
				return err
			}
			n = int64(hl) + int64(binary.BigEndian.Uint16(h[3:5])) + 1
		default:
			return fmt.Errorf("%w: bad LZMA2 chunk", errXZ)
		}
		g.allowed = n
		g.pos += n
	case xzBlockPad:
		g.allowed = (4-g.pos%4)%4 + g.check
		g.state = xzBlockOrIndex
		if g.allowed == 0 {
			return g.advance()
		}
	case xzFooter:
		g.allowed, g.state = 12, xzStreamPad
	case xzStreamPad:
		b, err := g.br.Peek(1)
		if len(b) == 0 {
			if err == nil {
				err = io.EOF
			}
			return err
		}
		if b[0] == 0 {
			g.allowed = 1
			return nil
		}
		g.state = xzStreamHeader
		return g.advance()
	}
	return nil
}

// index lets an xz index through: indicator, record count, records,
// padding and CRC32.
func (g *xzGuard) index() error {
	h, err := g.br.Peek(g.br.Size())
	if len(h) == 0 {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	off := 1
	count, n, err := uvarint(h[off:])
	if err != nil {
		return err
	}
	off += n
	for i := uint64(0); i < 2*count; i++ {
		if off >= len(h) {
			return fmt.Errorf("%w: index too large", errXZ)
		}
		_, n, err := uvarint(h[off:])
		if err != nil {
			return err
		}
		off += n
	}
	off += (4 - off%4) % 4
	g.allowed, g.state = int64(off+4), xzFooter
	return nil
}

// checkBlockHeader checks a block header (without its CRC32) and rejects
// LZMA2 dictionaries over maxDictSize.
func checkBlockHeader(h []byte) error {
	if len(h) < 2 {
		return fmt.Errorf("%w: short block header", errXZ)
	}
	flags := h[1]
	off := 2
	for _, bit := range []byte{0x40, 0x80} {
		if flags&bit != 0 {
			_, n, err := uvarint(h[off:])
			if err != nil {
				return err
			}
			off += n
		}
	}
	for i := 0; i <= int(flags&3); i++ {
		id, n, err := uvarint(h[off:])
		if err != nil {
			return err
		}
		off += n
		size, n, err := uvarint(h[off:])
		if err != nil {
			return err
		}
		off += n
		if size > uint64(len(h)-off) {
			return fmt.Errorf("%w: bad filter properties", errXZ)
		}
		if id == 0x21 {
			if size != 1 {
				return fmt.Errorf("%w: bad LZMA2 properties", errXZ)
			}
			d, err := lzma2Dict(h[off])
			if err != nil {
				return err
			}
			if d > maxDictSize {
				return fmt.Errorf("%w: LZMA2 dictionary of %d bytes exceeds %d", errXZ, d, maxDictSize)
			}
		}
		off += int(size)
	}
	return nil
}
