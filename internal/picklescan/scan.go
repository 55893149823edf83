package picklescan

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"compress/zlib"
	"context"
	"fmt"
	"io"

	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"
)

// Default limits. Security limits are never unlimited.
const (
	DefaultMaxDecompressedSize = 4 << 30
	DefaultMaxStack            = 1 << 16
	DefaultMaxMemo             = 1 << 18
	DefaultMaxTracked          = 1 << 20
)

// Options configures Scan. The zero value (or nil) scans a joblib file with
// the default allowlist and limits.
type Options struct {
	// Allow lists globals allowed in addition to DefaultAllowlist. An
	// instance of one of them may be the file's root object.
	Allow []Global
	// Plain scans with the semantics of pickle.load instead of
	// joblib.load: compressed containers are not recognised and
	// NumpyArrayWrapper is an ordinary class (no raw array data follows).
	Plain bool
	// MaxDecompressedSize bounds the decompressed size of a compressed
	// joblib file (default DefaultMaxDecompressedSize).
	MaxDecompressedSize int64
	// MaxStack bounds the unpickler stack, marks included (default
	// DefaultMaxStack).
	MaxStack int
	// MaxMemo bounds the number of memo entries (default DefaultMaxMemo).
	MaxMemo int
	// MaxTracked bounds how many container items the scanner keeps in
	// memory (default DefaultMaxTracked); items beyond it are counted
	// but not kept, and a kept-nothing container cannot be an array's
	// shape or dtype state.
	MaxTracked int
}

func (o *Options) withDefaults() Options {
	var out Options
	if o != nil {
		out = *o
	}
	if out.MaxDecompressedSize <= 0 {
		out.MaxDecompressedSize = DefaultMaxDecompressedSize
	}
	if out.MaxStack <= 0 {
		out.MaxStack = DefaultMaxStack
	}
	if out.MaxMemo <= 0 {
		out.MaxMemo = DefaultMaxMemo
	}
	if out.MaxTracked <= 0 {
		out.MaxTracked = DefaultMaxTracked
	}
	return out
}

// Result describes a file Scan accepted.
type Result struct {
	// Root is the class (or constructor) of the root object.
	Root Global
	// Globals lists the distinct globals the file names, in the order
	// they first appear (at most maxGlobals of them).
	Globals []Global
	// Compression is "", "zlib", "gzip", "bz2", "xz", "lzma" or "lz4".
	Compression string
	// Protocol is the highest pickle protocol the file declares.
	Protocol int
	// Arrays counts the raw numpy arrays skipped, ArrayBytes their size.
	Arrays     int
	ArrayBytes int64
	// NestedPickles counts the object-array pickles walked.
	NestedPickles int
	// Size is the size of the (decompressed) pickle stream.
	Size int64
}

const maxGlobals = 1024

func (r *Result) noteGlobal(g Global) {
	if len(r.Globals) >= maxGlobals {
		return
	}
	for _, x := range r.Globals {
		if x == g {
			return
		}
	}
	r.Globals = append(r.Globals, g)
}

func (r *Result) noteProto(p int, m mode) {
	if m != modeNested && p > r.Protocol {
		r.Protocol = p
	}
}

// scanner is the state shared by the walkers of one file.
type scanner struct {
	ctx     context.Context
	in      *input
	opts    Options
	allow   map[Global]bool // value: may be the root
	globals map[Global]*object
	res     *Result
	work    int64
	kept    int
}

func newScanner(ctx context.Context, o Options) *scanner {
	s := &scanner{
		ctx:     ctx,
		opts:    o,
		allow:   make(map[Global]bool, len(defaultAllow)+len(o.Allow)),
		globals: make(map[Global]*object),
		res:     &Result{},
	}
	for _, a := range defaultAllow {
		s.allow[a.g] = a.root
	}
	for _, g := range o.Allow {
		s.allow[g] = true
	}
	return s
}

func (s *scanner) walk(m mode) (value, error) {
	w := &walker{s: s, in: s.in, mode: m, memo: make(map[uint32]value)}
	return w.run()
}

// Scan reads a pickle or joblib file from r and reports whether loading it
// with joblib.load (or pickle.load, with Options.Plain) could only build
// allow-listed objects. It never executes or builds Python objects: it
// follows every opcode, the memo and a symbolic stack to learn the exact
// module and name of every global, and skips joblib's raw array data.
//
// Scan returns a *Error matching ErrUnsafe or ErrInvalid when it rejects
// the file, ctx.Err() when ctx is done, and another error when reading r
// fails. If r is an io.ReadSeeker positioned at the start of the file, raw
// array data is skipped by seeking.
func Scan(ctx context.Context, r io.Reader, opts *Options) (*Result, error) {
	return scan(ctx, r, opts, true)
}

// scan is Scan; checkRoot false skips the root object check (tests walk
// plain data pickles with it).
func scan(ctx context.Context, r io.Reader, opts *Options, checkRoot bool) (*Result, error) {
	o := opts.withDefaults()
	s := newScanner(ctx, o)
	raw := &errRecorder{r: r}
	head := bufio.NewReaderSize(raw, 64<<10)
	in := &input{br: head, src: raw, raw: raw, end: -1}
	s.in = in
	magic, err := head.Peek(8)
	if len(magic) == 0 {
		if err == nil || err == io.EOF {
			return nil, in.invalid("empty file")
		}
		return nil, in.fail(err)
	}
	var closeCheck func() error
	if !o.Plain {
		kind, dec, err := decompressor(magic, head)
		if err != nil {
			return nil, err
		}
		if dec != nil {
			s.res.Compression = kind
			in.br = bufio.NewReaderSize(&limitReader{r: dec, n: o.MaxDecompressedSize}, 64<<10)
			in.src = nil
			closeCheck = func() error {
				// Nothing may follow the compressed stream.
				if _, err := head.Peek(1); err != io.EOF {
					return &Error{Kind: KindInvalid, Offset: in.pos, Msg: "trailing data after the " + kind + " stream"}
				}
				return nil
			}
		}
	}
	if in.src != nil {
		if rs, ok := r.(io.ReadSeeker); ok {
			if cur, err := rs.Seek(0, io.SeekCurrent); err == nil {
				if end, err := rs.Seek(0, io.SeekEnd); err == nil {
					if _, err := rs.Seek(cur, io.SeekStart); err == nil {
						in.seeker, in.end = rs, end
					}
				}
			}
		}
	}
	root, err := s.walk(modeForOpts(o))
	if err != nil {
		return nil, err
	}
	s.res.Size = in.pos
	if eof, err := in.atEOF(); err != nil {
		return nil, err
	} else if !eof {
		return nil, in.invalid("trailing data after the final STOP")
	}
	if closeCheck != nil {
		if err := closeCheck(); err != nil {
			return nil, err
		}
	}
	if !checkRoot {
		return s.res, nil
	}
	if root.k != kInstance || root.o.role != roleGeneric {
		what := "a " + root.k.String()
		switch {
		case root.k == kInstance && root.o.role == roleNDArray:
			what = "a numpy array"
		case root.k == kInstance:
			what = "an instance of " + root.o.g.String()
		}
		return nil, in.invalid("root object is %s, want an instance of an allow-listed model class", what)
	}
	if !s.allow[root.o.g] {
		return nil, in.invalid("root object is an instance of %s, which is not a model class", root.o.g)
	}
	s.res.Root = root.o.g
	return s.res, nil
}

func modeForOpts(o Options) mode {
	if o.Plain {
		return modePlain
	}
	return modeJoblib
}

// Magic numbers of the containers joblib writes (joblib/compressor.py),
// checked in joblib's order.
var (
	magicZF   = []byte("ZF")
	magicZlib = []byte{0x78}
	magicGzip = []byte{0x1f, 0x8b}
	magicBz2  = []byte("BZ")
	magicLzma = []byte{0x5d, 0x00}
	magicXz   = []byte{0xfd, 0x37, 0x7a, 0x58, 0x5a}
	magicLz4  = []byte{0x04, 0x22, 0x4d, 0x18}
)

// decompressor returns a reader of the decompressed stream when magic
// names a compressed container, or nil for a plain pickle.
func decompressor(magic []byte, r *bufio.Reader) (string, io.Reader, error) {
	bad := func(kind string, err error) error {
		return &Error{Kind: KindInvalid, Msg: fmt.Sprintf("bad %s header: %v", kind, err)}
	}
	switch {
	case bytes.HasPrefix(magic, magicZF):
		return "", nil, &Error{Kind: KindInvalid, Msg: "joblib < 0.10 'ZF' compressed format is not supported"}
	case bytes.HasPrefix(magic, magicZlib):
		z, err := zlib.NewReader(r)
		if err != nil {
			return "", nil, bad("zlib", err)
		}
		return "zlib", z, nil
	case bytes.HasPrefix(magic, magicGzip):
		z, err := gzip.NewReader(r)
		if err != nil {
			return "", nil, bad("gzip", err)
		}
		// joblib's gzip reader stops after the first member: so do we,
		// and anything after it is trailing data.
		z.Multistream(false)
		return "gzip", z, nil
	case bytes.HasPrefix(magic, magicBz2):
		return "bz2", bzip2.NewReader(r), nil
	case bytes.HasPrefix(magic, magicLzma):
		z, err := lzma.ReaderConfig{DictCap: maxDictSize}.NewReader(r)
		if err != nil {
			return "", nil, bad("lzma", err)
		}
		return "lzma", z, nil
	case bytes.HasPrefix(magic, magicXz):
		z, err := xz.NewReader(newXZGuard(r))
		if err != nil {
			return "", nil, bad("xz", err)
		}
		return "xz", z, nil
	case bytes.HasPrefix(magic, magicLz4):
		return "lz4", lz4.NewReader(r), nil
	}
	return "", nil, nil
}
