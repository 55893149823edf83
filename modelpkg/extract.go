package modelpkg

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
)

// Extraction pipeline shape: each file in flight owns ringLen buffers of
// chunkSize bytes, so memory is bounded by Concurrency*ringLen*chunkSize
// (8 MiB at the default concurrency) whatever the package size.
const (
	chunkSize          = 256 << 10
	ringLen            = 4
	defaultConcurrency = 8
)

// ExtractOptions configures [Package.Extract]. The zero value (or nil) is
// ready to use.
type ExtractOptions struct {
	// Concurrency bounds how many files are extracted at once
	// (default 8, so that small files overlap their fsyncs). Each file
	// uses up to three goroutines: one decompressing, one hashing, and
	// the destination's WriteFile.
	Concurrency int
	// Manifest is the manifest to check digests against; nil means the
	// package's own manifest file.
	Manifest *Manifest
	// AllowUnlisted turns files missing from the manifest into warnings
	// instead of an [ErrInvalidManifest] error.
	AllowUnlisted bool
	// Progress, if set, is called with the uncompressed bytes produced
	// so far and the total declared. Calls are serialized but come from
	// extraction goroutines; keep it quick.
	Progress func(done, total int64)
	// Limits overrides the limits the package was opened with.
	Limits *Limits
}

// ExtractedFile describes one extracted file.
type ExtractedFile struct {
	Name   string // canonical slash-separated path
	Size   int64  // bytes written
	SHA256 string // lower-case hex
}

// ExtractResult describes a successful extraction.
type ExtractResult struct {
	// Files lists every file written, the manifest included, sorted by
	// name.
	Files []ExtractedFile
	// Digests maps each written file's name to its SHA-256 (lower-case
	// hex).
	Digests map[string]string
	// Manifest is the manifest the digests were checked against.
	Manifest *Manifest
	// Warnings lists non-fatal findings: entries Open ignored (see
	// [Package.Warnings]), and unlisted files when AllowUnlisted is set.
	Warnings []string
}

// Mismatch is one file whose SHA-256 differs from the manifest.
type Mismatch struct {
	Name string
	Want string // from the manifest
	Got  string // of the bytes in the package
}

// HashMismatchError lists every file whose digest differs from the
// manifest. It matches [ErrHashMismatch] with errors.Is.
type HashMismatchError struct {
	Mismatches []Mismatch // sorted by name
}

// Error lists every mismatching file with both digests.
func (e *HashMismatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d file(s):", ErrHashMismatch.Error(), len(e.Mismatches))
	for i, m := range e.Mismatches {
		if i > 0 {
			b.WriteByte(';')
		}
		fmt.Fprintf(&b, " %s (manifest %s, actual %s)", m.Name, m.Want, m.Got)
	}
	return b.String()
}

// Unwrap returns [ErrHashMismatch], so errors.Is and [Code] work.
func (e *HashMismatchError) Unwrap() error { return ErrHashMismatch }

// Extract writes every file of the package to dst in one pass: each file
// is decompressed exactly once, hashed with SHA-256 and written, with
// decompression, hashing and writing running concurrently, and up to
// Concurrency files in flight. Memory use is bounded and independent of
// file sizes.
//
// Before writing anything, Extract checks that the manifest lists
// exactly the package's files (see [Manifest.Check]). Each file's digest
// is compared with the manifest before its reader reports io.EOF, so a
// destination never sees a corrupt file complete. The manifest file itself
// is written too, without a digest check. Directories are created as
// files need them; empty directories are not reproduced.
//
// On any failure Extract calls dst.Abort and returns an error: a
// [*HashMismatchError] listing every mismatching file (all files are
// still hashed), or an error wrapping [ErrResourceLimit] (a limit was
// exceeded by the bytes produced), [ErrInvalidArchive] (bad data, size or
// CRC-32), [ErrInvalidManifest] or [ErrMissingFile] (manifest and package
// disagree), the context's error, or the destination's error.
func (p *Package) Extract(ctx context.Context, dst Destination, opts *ExtractOptions) (res *ExtractResult, err error) {
	if opts == nil {
		opts = &ExtractOptions{}
	}
	x := &extractor{p: p, dst: dst, opts: opts, limits: p.limits}
	if opts.Limits != nil {
		x.limits = opts.Limits.resolve()
	}
	defer func() {
		if err != nil {
			if aerr := dst.Abort(context.WithoutCancel(ctx)); aerr != nil {
				err = fmt.Errorf("%w (abort: %v)", err, aerr)
			}
			res = nil
		}
	}()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m := opts.Manifest
	if m == nil {
		if m, err = p.ReadManifest(); err != nil {
			return nil, fmt.Errorf("extract: %w", err)
		}
	}
	mname := p.layout.ManifestFile
	if _, ok := m.FileHashes[mname]; ok {
		return nil, fmt.Errorf("extract: %w: the manifest lists itself (%s)", ErrInvalidManifest, mname)
	}
	present := make([]string, 0, len(p.files))
	for _, e := range p.files {
		x.declared += e.usize
		if e.name != mname && e.name != mname+SignatureSuffix {
			present = append(present, e.name)
		}
	}
	if x.declared > x.limits.MaxTotalSize {
		return nil, fmt.Errorf("extract: %w: %d bytes declared, the limit is %d", ErrResourceLimit, x.declared, x.limits.MaxTotalSize)
	}
	unlisted, err := m.Check(present, opts.AllowUnlisted)
	if err != nil {
		return nil, fmt.Errorf("extract: %w", err)
	}
	res = &ExtractResult{Digests: make(map[string]string, len(p.files)), Manifest: m, Warnings: p.Warnings()}
	for _, u := range unlisted {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%s is not listed in the manifest", u))
	}

	conc := cmp.Or(max(opts.Concurrency, 0), defaultConcurrency)
	order := slices.Clone(p.files) // largest first, for a shorter makespan
	slices.SortStableFunc(order, func(a, b *entry) int { return cmp.Compare(b.usize, a.usize) })

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(conc)
	var mu sync.Mutex
	var mismatches []Mismatch
	for _, e := range order {
		if gctx.Err() != nil {
			break // a file failed: start no more
		}
		want, check := m.FileHashes[e.name]
		want = strings.ToLower(want)
		if e.name == mname {
			check = false
		}
		g.Go(func() error {
			digest, err := x.extractOne(gctx, e, want, check)
			var mm *mismatchErr
			if errors.As(err, &mm) {
				mu.Lock()
				mismatches = append(mismatches, Mismatch{Name: e.name, Want: want, Got: mm.got})
				mu.Unlock()
				return nil
			}
			if err != nil {
				return err
			}
			mu.Lock()
			res.Files = append(res.Files, ExtractedFile{Name: e.name, Size: e.usize, SHA256: digest})
			res.Digests[e.name] = digest
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil && !errors.Is(err, ErrResourceLimit) && !errors.Is(err, ErrInvalidArchive) {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("extract: %w", err)
	}
	if err := ctx.Err(); err != nil { // canceled before every file started
		return nil, fmt.Errorf("extract: %w", err)
	}
	if len(mismatches) > 0 {
		slices.SortFunc(mismatches, func(a, b Mismatch) int { return strings.Compare(a.Name, b.Name) })
		return nil, fmt.Errorf("extract: %w", &HashMismatchError{Mismatches: mismatches})
	}
	slices.SortFunc(res.Files, func(a, b ExtractedFile) int { return strings.Compare(a.Name, b.Name) })
	return res, nil
}

// chunkPool recycles the ring buffers of large files across files and
// extractions.
var chunkPool = sync.Pool{New: func() any { return new([chunkSize]byte) }}

type extractor struct {
	p        *Package
	dst      Destination
	opts     *ExtractOptions
	limits   Limits
	total    atomic.Int64 // bytes produced, for MaxTotalSize
	declared int64
	progMu   sync.Mutex
	done     int64 // guarded by progMu
}

// mismatchErr is a digest mismatch, which does not stop the extraction.
type mismatchErr struct{ got string }

func (e *mismatchErr) Error() string { return "hash mismatch" }
func (e *mismatchErr) Unwrap() error { return ErrHashMismatch }

func (x *extractor) progress(n int) {
	if x.opts.Progress == nil {
		return
	}
	x.progMu.Lock()
	x.done += int64(n)
	x.opts.Progress(x.done, x.declared)
	x.progMu.Unlock()
}

// extractOne runs one file through the pipeline
//
//	read+decompress --toHash--> SHA-256 --toWrite--> dst.WriteFile
//
// over a ring of ringLen buffers, each owned by one stage at a time, so
// no byte is copied between the stages. The entry reader checks the size
// and the CRC-32 in the first stage.
func (x *extractor) extractOne(ctx context.Context, e *entry, want string, check bool) (string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	bufs := make([][]byte, ringLen)
	free := make(chan []byte, ringLen)
	if e.usize < chunkSize {
		// A small file (most of a package's) gets one buffer that
		// holds it whole, plus the byte that finds its end: not
		// ringLen x 256 KiB to allocate and zero for a few hundred
		// bytes. An entry that produces more than it declared still
		// flows through it, and is refused by the entry reader.
		bufs = bufs[:1]
		bufs[0] = make([]byte, max(e.usize+1, 512))
		free <- bufs[0]
	} else {
		for i := range bufs {
			bufs[i] = chunkPool.Get().(*[chunkSize]byte)[:]
			free <- bufs[i]
		}
		defer func() {
			for _, b := range bufs {
				chunkPool.Put((*[chunkSize]byte)(b))
			}
		}()
	}
	toHash := make(chan []byte, ringLen)
	toWrite := make(chan []byte, ringLen)

	// Written before close(toHash) / close(toWrite), read after.
	var srcErr, finalErr error
	var digest string

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // read and decompress
		defer wg.Done()
		defer close(toHash)
		r := x.p.newEntryReader(e, &x.limits, &x.total)
		defer r.Close()
		for {
			var b []byte
			select {
			case b = <-free:
			case <-ctx.Done():
				srcErr = ctx.Err()
				return
			}
			n, err := fill(r, b)
			if n > 0 {
				select {
				case toHash <- b[:n]:
				case <-ctx.Done():
					srcErr = ctx.Err()
					return
				}
				x.progress(n)
			}
			if err == io.EOF {
				return
			}
			if err != nil {
				srcErr = err
				return
			}
		}
	}()
	go func() { // hash
		defer wg.Done()
		defer close(toWrite)
		h := sha256.New()
		for b := range toHash {
			h.Write(b)
			select {
			case toWrite <- b:
			case <-ctx.Done():
				finalErr = ctx.Err()
				for range toHash { // let the reader finish
				}
				return
			}
		}
		switch {
		case srcErr != nil:
			finalErr = srcErr
		default:
			digest = hex.EncodeToString(h.Sum(nil))
			if check && digest != want {
				finalErr = &mismatchErr{got: digest}
			}
		}
	}()

	pr := &pipeReader{in: toWrite, free: free, final: &finalErr}
	werr := x.dst.WriteFile(ctx, e.name, pr)
	cancel()
	wg.Wait()
	// Our own cancel() above can make the stages report
	// context.Canceled; a real failure takes precedence over it.
	isCancel := func(err error) bool {
		return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
	}
	switch {
	case srcErr != nil && !isCancel(srcErr):
		return "", srcErr
	case finalErr != nil && !isCancel(finalErr):
		return "", finalErr
	case werr != nil:
		return "", fmt.Errorf("write %s: %w", e.name, werr)
	case srcErr != nil:
		return "", srcErr
	case finalErr != nil:
		return "", finalErr
	case !pr.eof:
		return "", fmt.Errorf("write %s: the destination did not read the file to the end", e.name)
	}
	return digest, nil
}

// fill reads into b until it is full, the data ends (io.EOF, possibly
// with n > 0) or an error occurs.
func fill(r io.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// pipeReader is the plain io.Reader the destination consumes. It returns
// io.EOF only after the hasher has verified the digest; otherwise it
// returns the failure. WriteTo lets io.Copy write the ring's buffers
// directly, without another copy.
type pipeReader struct {
	in    <-chan []byte
	free  chan<- []byte
	cur   []byte // unread part of buf
	buf   []byte
	final *error
	eof   bool
	err   error
}

func (r *pipeReader) next() bool {
	if r.buf != nil {
		r.free <- r.buf[:cap(r.buf)]
		r.buf, r.cur = nil, nil
	}
	b, ok := <-r.in
	if !ok {
		if *r.final != nil {
			r.err = *r.final
		} else {
			r.err, r.eof = io.EOF, true
		}
		return false
	}
	r.buf, r.cur = b, b
	return true
}

func (r *pipeReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	for len(r.cur) == 0 {
		if !r.next() {
			return 0, r.err
		}
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

func (r *pipeReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if r.err != nil {
			if r.err == io.EOF {
				return total, nil
			}
			return total, r.err
		}
		if len(r.cur) > 0 {
			n, err := w.Write(r.cur)
			total += int64(n)
			r.cur = r.cur[n:]
			if err != nil {
				return total, err
			}
			continue
		}
		r.next()
	}
}
