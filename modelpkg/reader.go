package modelpkg

import (
	"archive/zip"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"sync/atomic"
)

// entryReader produces the bytes of one file exactly once, enforcing the
// limits on the bytes it actually produces, the declared size and the
// CRC-32.
type entryReader struct {
	p        *Package
	e        *entry
	lim      *Limits
	src      io.Reader
	inf      *inflater
	crc      uint32
	sec      trackingReader
	n        int64
	total    *atomic.Int64 // shared across an extraction; may be nil
	err      error
	closed   bool
	released bool
}

func (p *Package) newEntryReader(e *entry, lim *Limits, total *atomic.Int64) *entryReader {
	r := &entryReader{p: p, e: e, lim: lim, total: total}
	r.sec.r = io.NewSectionReader(p.ra, e.dataOff, e.csize)
	sec := &r.sec
	if e.method == zip.Deflate {
		r.inf = p.getInflater(sec)
		r.src = r.inf.fr
	} else {
		r.src = sec
	}
	return r
}

func (r *entryReader) Read(b []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.src.Read(b)
	if n > 0 {
		if err := r.account(int64(n)); err != nil {
			r.fail(err)
			return 0, err
		}
		r.crc = crc32.Update(r.crc, crc32.IEEETable, b[:n])
	}
	switch {
	case err == io.EOF:
		if err := r.finish(); err != nil {
			r.fail(err)
			return n, err
		}
		r.err = io.EOF
		r.release()
	case err != nil:
		if r.sec.err != nil && errors.Is(err, r.sec.err) {
			// The ReaderAt failed: an I/O error, not a bad archive.
			err = fmt.Errorf("read %s: %w", r.e.name, err)
		} else {
			// The decompressor rejected the data (corrupt or truncated).
			err = fmt.Errorf("%w: entry %q: %v", ErrInvalidArchive, r.e.name, err)
		}
		r.fail(err)
	}
	return n, err
}

// trackingReader remembers the last error other than io.EOF of the
// archive reader, to tell I/O errors from corrupt data.
type trackingReader struct {
	r   io.Reader
	err error
}

func (t *trackingReader) Read(b []byte) (int, error) {
	n, err := t.r.Read(b)
	if err != nil && err != io.EOF {
		t.err = err
	}
	return n, err
}

func (r *entryReader) account(n int64) error {
	r.n += n
	switch {
	case r.n > r.e.usize:
		// Corrupt or lying, not a limit: the declared sizes passed them.
		return fmt.Errorf("%w: entry %q produces more than its declared %d bytes", ErrInvalidArchive, r.e.name, r.e.usize)
	case r.n > r.lim.MaxFileSize:
		return fmt.Errorf("%w: entry %q exceeds the %d-byte file size limit", ErrResourceLimit, r.e.name, r.lim.MaxFileSize)
	case !r.lim.ratioOK(r.n, r.e.csize):
		return fmt.Errorf("%w: entry %q exceeds the %d:1 compression ratio limit", ErrResourceLimit, r.e.name, r.lim.MaxRatio)
	}
	if r.total != nil && r.total.Add(n) > r.lim.MaxTotalSize {
		return fmt.Errorf("%w: entry %q: package exceeds the %d-byte total size limit", ErrResourceLimit, r.e.name, r.lim.MaxTotalSize)
	}
	return nil
}

// finish checks the size and CRC-32 at the end of the data.
func (r *entryReader) finish() error {
	if r.n != r.e.usize {
		return fmt.Errorf("%w: entry %q: %d bytes, the archive declares %d", ErrInvalidArchive, r.e.name, r.n, r.e.usize)
	}
	if r.crc != r.e.crc {
		return crcError(r.e)
	}
	return nil
}

func crcError(e *entry) error {
	return fmt.Errorf("%w: entry %q: CRC-32 mismatch", ErrInvalidArchive, e.name)
}

func (r *entryReader) fail(err error) {
	r.err = err
	r.release()
}

// release returns the decompressor to the pool once the data is consumed.
func (r *entryReader) release() {
	if r.inf != nil && !r.released {
		r.released = true
		r.p.putInflater(r.inf)
		r.inf, r.src = nil, nil
	}
}

func (r *entryReader) Close() error {
	if !r.closed {
		r.closed = true
		if r.err == nil {
			r.err = fs.ErrClosed
		}
		r.release()
	}
	return nil
}
