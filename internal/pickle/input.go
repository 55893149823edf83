package pickle

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// errLimit is returned by limitReader once more than its limit was read.
var errLimit = errors.New("decompressed size limit exceeded")

// limitReader fails with errLimit (instead of io.EOF, as io.LimitReader
// would) when its source holds more than n bytes.
type limitReader struct {
	r io.Reader
	n int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		return 0, errLimit
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		return n, errLimit
	}
	return n, err
}

// errRecorder remembers the first error of the raw source other than
// io.EOF, so that a decompressor's failure can be told apart from an I/O
// failure underneath it.
type errRecorder struct {
	r   io.Reader
	err error
}

func (e *errRecorder) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// maxLine bounds how much of a protocol-0 text line is kept; the rest is
// read and discarded.
const maxLine = 256

// input is the pickle byte stream: buffered, counted, with the Python
// unframer's rules for protocol-4 frames enforced, and able to skip raw
// array data without reading it when the source can seek.
type input struct {
	br     *bufio.Reader
	src    io.Reader     // what br reads from
	seeker io.ReadSeeker // src, when it can seek (uncompressed files)
	end    int64         // offset of the end of seeker, or -1
	raw    *errRecorder  // the raw file, for telling I/O errors apart
	pos    int64         // offset of the next byte of the stream

	inFrame   bool
	frameLeft int64

	scratch [8]byte
	line    [maxLine]byte
}

// fail converts a read error into the scanner's error.
func (in *input) fail(err error) error {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return in.invalid("truncated stream")
	case errors.Is(err, errLimit):
		return &Error{Kind: KindLimit, Offset: in.pos, Rule: "decompressed-size", Msg: errLimit.Error()}
	case in.raw != nil && in.raw.err != nil:
		return fmt.Errorf("pickle: read: %w", in.raw.err)
	case in.seeker != nil:
		// Uncompressed: every error is an I/O error.
		return fmt.Errorf("pickle: read: %w", err)
	}
	return in.invalid("corrupt compressed data: %v", err)
}

func (in *input) invalid(format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Offset: in.pos, Msg: fmt.Sprintf(format, args...)}
}

// take accounts for n bytes about to be read by one read call of the
// unpickler, applying the unframer's rule: a read that starts inside a
// frame must end inside it.
func (in *input) take(n int64) error {
	if in.inFrame {
		if in.frameLeft == 0 {
			in.inFrame = false
		} else if n > in.frameLeft {
			// joblib's Python unframer raises here; the C unpickler behind
			// pickle.load does not enforce frame ends: soft.
			e := in.invalid("a read of %d bytes crosses the end of a frame with %d bytes left", n, in.frameLeft)
			e.soft = true
			return e
		} else {
			in.frameLeft -= n
		}
	}
	return nil
}

// opcode reads one opcode byte.
func (in *input) opcode() (byte, error) {
	if err := in.take(1); err != nil {
		return 0, err
	}
	b, err := in.br.ReadByte()
	if err != nil {
		return 0, in.fail(err)
	}
	in.pos++
	return b, nil
}

// fixed reads n <= 8 argument bytes.
func (in *input) fixed(n int) ([]byte, error) {
	if err := in.take(int64(n)); err != nil {
		return nil, err
	}
	b := in.scratch[:n]
	if _, err := io.ReadFull(in.br, b); err != nil {
		return nil, in.fail(err)
	}
	in.pos += int64(n)
	return b, nil
}

// readAll reads a length-prefixed argument of n bytes in full. The
// buffer grows as bytes arrive, so a declared length is never allocated
// before the bytes exist.
func (in *input) readAll(n int64) ([]byte, error) {
	if n < 0 {
		return nil, in.invalid("negative length %d", n)
	}
	if in.end >= 0 && n > int64(in.br.Buffered()) && in.remaining() < n {
		return nil, in.invalid("length %d exceeds the %d bytes left", n, in.remaining())
	}
	if err := in.take(n); err != nil {
		return nil, err
	}
	if n <= 64<<10 || in.end >= 0 {
		// Small, or checked above against the bytes left in the file.
		buf := make([]byte, n)
		if _, err := io.ReadFull(in.br, buf); err != nil {
			return nil, in.fail(err)
		}
		in.pos += n
		return buf, nil
	}
	var buf bytes.Buffer
	got, err := io.CopyN(&buf, in.br, n)
	in.pos += got
	if err != nil {
		return nil, in.fail(err)
	}
	return buf.Bytes(), nil
}

// remaining returns the bytes left in a seekable source.
func (in *input) remaining() int64 {
	cur, err := in.seeker.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0
	}
	return in.end - cur + int64(in.br.Buffered())
}

// line reads a protocol-0 text argument up to and including '\n' and
// returns it without the newline; only the first maxLine bytes are kept,
// and long reports whether more were dropped.
func (in *input) readLine() (line []byte, long bool, err error) {
	var n int64
	kept := 0
	for {
		chunk, rerr := in.br.ReadSlice('\n')
		n += int64(len(chunk))
		c := copy(in.line[kept:], chunk)
		kept += c
		if c < len(chunk) {
			long = true
		}
		if rerr == nil {
			break
		}
		if rerr != bufio.ErrBufferFull {
			in.pos += n
			return nil, false, in.fail(rerr)
		}
	}
	if err := in.take(n); err != nil {
		return nil, false, err
	}
	in.pos += n
	if long {
		return in.line[:kept], true, nil
	}
	return in.line[:kept-1], false, nil
}

// readFullLine reads a protocol-0 text argument of any length up to
// limit bytes, returning it without the newline. ok is false when the
// line is longer than limit.
func (in *input) readFullLine(limit int64) (line []byte, ok bool, err error) {
	var buf []byte
	var n int64
	for {
		chunk, rerr := in.br.ReadSlice('\n')
		n += int64(len(chunk))
		if n > limit+1 {
			return nil, false, nil
		}
		buf = append(buf, chunk...)
		if rerr == nil {
			break
		}
		if rerr != bufio.ErrBufferFull {
			in.pos += n
			return nil, false, in.fail(rerr)
		}
	}
	if err := in.take(n); err != nil {
		return nil, false, err
	}
	in.pos += n
	return buf[:len(buf)-1], true, nil
}

// discard skips n bytes, seeking when the source allows it.
func (in *input) discard(n int64) error {
	if b := int64(in.br.Buffered()); n <= b {
		_, _ = in.br.Discard(int(n))
		in.pos += n
		return nil
	}
	if in.seeker != nil {
		if in.remaining() < n {
			return in.invalid("%d bytes of data declared, only %d left", n, in.remaining())
		}
		b := in.br.Buffered()
		_, _ = in.br.Discard(b)
		if _, err := in.seeker.Seek(n-int64(b), io.SeekCurrent); err != nil {
			return fmt.Errorf("pickle: seek: %w", err)
		}
		in.br.Reset(in.src)
		in.pos += n
		return nil
	}
	got, err := io.CopyN(io.Discard, in.br, n)
	in.pos += got
	if err != nil {
		return in.fail(err)
	}
	return nil
}

// atEOF reports whether the stream is exhausted.
func (in *input) atEOF() (bool, error) {
	_, err := in.br.Peek(1)
	if err == nil {
		return false, nil
	}
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	return false, in.fail(err)
}
