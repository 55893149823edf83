package pickle

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"compress/zlib"
	"context"
	"errors"
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
	// DefaultBudget bounds what a loader would allocate or expand: array
	// data (shape x itemsize), str, bytes and int sizes, container items
	// and the expanded size of shared-reference graphs.
	DefaultBudget = 4 << 30
	// DefaultMaxItemSize bounds a dtype's itemsize.
	DefaultMaxItemSize = 1 << 16
)

// Options configures Scan and Load. nil or zero fields mean the defaults:
// a joblib file, the built-in policy and the default limits.
type Options struct {
	// Allow lists classes allowed in addition to the built-in policy. An
	// instance of one of them may be the file's root object; it is made
	// with NEWOBJ and no arguments, and its BUILD state must be a dict of
	// str keys that name no method or dunder, holding plain data, arrays
	// and instances of allowed classes.
	Allow []Global
	// Plain reads the file as pickle.load does instead of joblib.load:
	// compressed containers are not recognised and NumpyArrayWrapper is
	// an ordinary class (no raw array data follows it).
	Plain bool
	// MaxDecompressedSize bounds the decompressed size of a compressed
	// joblib file (default DefaultMaxDecompressedSize).
	MaxDecompressedSize int64
	// MaxStack bounds the unpickler stack, marks included (default
	// DefaultMaxStack).
	MaxStack int
	// MaxMemo bounds the number of memo entries (default DefaultMaxMemo).
	MaxMemo int
	// Budget bounds, in bytes, everything a loader would allocate or
	// expand (default DefaultBudget).
	Budget int64
	// MaxItemSize bounds a dtype's itemsize (default DefaultMaxItemSize).
	MaxItemSize int64
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
	if out.Budget <= 0 {
		out.Budget = DefaultBudget
	}
	if out.MaxItemSize <= 0 {
		out.MaxItemSize = DefaultMaxItemSize
	}
	return out
}

// Result describes a file the policy accepted.
type Result struct {
	// Root is the class of the root object.
	Root Global
	// Globals lists the distinct globals the file names, in the order
	// they first appear (at most maxGlobals of them).
	Globals []Global
	// Compression is "", "zlib", "gzip", "bz2", "xz", "lzma" or "lz4".
	Compression string
	// Protocol is the highest pickle protocol the file declares.
	Protocol int
	// Arrays counts the raw joblib arrays, ArrayBytes their size.
	Arrays     int
	ArrayBytes int64
	// NestedPickles counts the object-array pickles parsed.
	NestedPickles int
	// Size is the size of the (decompressed) pickle stream.
	Size int64
	// Spent is what the budget was charged.
	Spent int64
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

// Scan reads a pickle or joblib file from r and reports whether loading
// it with joblib.load (or pickle.load, with Options.Plain) is safe: it
// parses the file into an inert value graph, never running code, and
// runs the policy on it. Raw joblib array data is skipped, by seeking
// when r is an io.Seeker positioned at the start of the file, and never
// read twice.
//
// Scan returns a *Error matching ErrUnsafe, ErrInvalid or ErrLimit when it
// rejects the file, ctx.Err() when ctx is done, and another error when
// reading r fails.
func Scan(ctx context.Context, r io.Reader, opts *Options) (*Result, error) {
	_, res, err := run(ctx, r, opts, false, true)
	return res, err
}

// ScanAll scans a file as every loader that may read it: joblib.load (as
// Scan with opts) and pickle.load (Options.Plain), because a file's name
// does not decide which one a consumer uses (a .pkl file is often read
// with joblib, a .joblib file with pickle). open is called once per
// loader and must return the file from its start.
//
// The joblib reading must be accepted. The pickle.load reading must be
// safe: accepted, or failing where CPython's unpickler fails too before
// anything unchecked ran (a compressed file, raw array data that is not
// a valid opcode). A reading that could run code, exceed a limit or that
// the machine cannot follow the way CPython does is an *Error matching
// ErrUnsafe (rule "every-loader") or ErrLimit. The result is the joblib
// reading's.
func ScanAll(ctx context.Context, open func() (io.ReadCloser, error), opts *Options) (*Result, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	o.Plain = false
	res, err := scanOpen(ctx, open, &o, true)
	if err != nil {
		return nil, err
	}
	if err := ScanPlain(ctx, open, &o); err != nil {
		return nil, err
	}
	return res, nil
}

// ScanPlain is the second half of [ScanAll]: the pickle.load reading of a
// file whose joblib reading was accepted (by [Load] or [Scan] with the
// same options), for a caller that already holds the joblib reading's
// value graph. open is called once. It returns nil when the reading is
// safe, else the *Error ScanAll returns.
func ScanPlain(ctx context.Context, open func() (io.ReadCloser, error), opts *Options) error {
	var o Options
	if opts != nil {
		o = *opts
	}
	o.Plain = true
	_, err := scanOpen(ctx, open, &o, false)
	var e *Error
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &e):
		return err
	case e.Kind == KindInvalid && !e.soft:
		return nil // pickle.load raises here too, before running anything unchecked
	case e.Kind == KindInvalid:
		node := e.Node
		if node == "" {
			node = fmt.Sprintf("the opcode at offset %d", e.Offset)
		}
		return &Error{Kind: KindUnsafe, Rule: "every-loader", Node: node, Global: e.Global, Offset: e.Offset,
			Msg: "read with pickle.load instead of joblib.load, the file could not be followed the way CPython follows it: " + e.Msg}
	}
	out := *e
	out.Msg = "read with pickle.load instead of joblib.load: " + e.Msg
	if out.Rule == "" {
		out.Rule = "every-loader"
	} else {
		out.Rule = "every-loader/" + out.Rule
	}
	return &out
}

func scanOpen(ctx context.Context, open func() (io.ReadCloser, error), o *Options, primary bool) (*Result, error) {
	f, err := open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	oo := o.withDefaults()
	m := newMachine(ctx, oo, false)
	m.lenient = !primary
	_, res, err := runWith(m, f, oo, runFlags{checkRoot: primary, ignoreTrailing: !primary})
	return res, err
}

// Load is Scan that also returns the approved value graph, with the data
// of every *Array decoded. It returns the same errors as Scan.
func Load(ctx context.Context, r io.Reader, opts *Options) (Value, *Result, error) {
	return run(ctx, r, opts, true, true)
}

// run parses and checks; checkRoot false skips the root object check
// (tests parse plain data pickles with it).
func run(ctx context.Context, r io.Reader, opts *Options, load, checkRoot bool) (Value, *Result, error) {
	o := opts.withDefaults()
	return runWith(newMachine(ctx, o, load), r, o, runFlags{checkRoot: checkRoot})
}

// runFlags relax run for tests and for the secondary loader of ScanAll.
type runFlags struct {
	checkRoot bool
	// ignoreTrailing: pickle.load stops at STOP and never reads on.
	ignoreTrailing bool
}

func runWith(m *machine, r io.Reader, o Options, fl runFlags) (Value, *Result, error) {
	load := m.load
	raw := &errRecorder{r: r}
	head := bufio.NewReaderSize(raw, 64<<10)
	in := &input{br: head, src: raw, raw: raw, end: -1}
	m.in = in
	magic, err := head.Peek(8)
	if len(magic) == 0 {
		if err == nil || err == io.EOF {
			return nil, nil, in.invalid("empty file")
		}
		return nil, nil, in.fail(err)
	}
	var closeCheck func() error
	if !o.Plain {
		kind, dec, err := decompressor(magic, head)
		if err != nil {
			return nil, nil, err
		}
		if dec != nil {
			m.res.Compression = kind
			in.br = bufio.NewReaderSize(&limitReader{r: dec, n: o.MaxDecompressedSize}, 64<<10)
			in.src = nil
			closeCheck = func() error {
				// Nothing may follow the compressed stream.
				if _, err := head.Peek(1); err != io.EOF {
					return &Error{Kind: KindInvalid, Offset: in.pos, Msg: "trailing data after the " + kind + " stream", soft: true}
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
	md := modeJoblib
	if o.Plain {
		md = modePlain
	}
	root, err := m.parse(md)
	if err != nil {
		return nil, nil, err
	}
	m.res.Size = in.pos
	if fl.ignoreTrailing {
		return nil, m.res, m.policy(root, false)
	}
	if eof, err := in.atEOF(); err != nil {
		return nil, nil, err
	} else if !eof {
		return nil, nil, &Error{Kind: KindInvalid, Offset: in.pos, Msg: "trailing data after the final STOP", soft: true}
	}
	if closeCheck != nil {
		if err := closeCheck(); err != nil {
			return nil, nil, err
		}
	}
	if err := m.policy(root, fl.checkRoot); err != nil {
		return nil, nil, err
	}
	m.res.Spent = m.spent
	if !load {
		return nil, m.res, nil
	}
	return m.finish(root), m.res, nil
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
		return "", nil, &Error{Kind: KindInvalid, Msg: "joblib < 0.10 'ZF' compressed format is not supported", soft: true}
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
