package modelpkg

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// ZIP record signatures and sizes (APPNOTE.TXT).
const (
	sigLocal       = 0x04034b50
	sigCentral     = 0x02014b50
	sigEnd         = 0x06054b50
	sigEnd64       = 0x06064b50
	sigEnd64Loc    = 0x07064b50
	sigDescriptor  = 0x08074b50
	localLen       = 30
	centralLen     = 46
	endLen         = 22
	end64Len       = 56
	end64LocLen    = 20
	zip64ExtraID   = 0x0001
	flagEncrypted  = 0x0001
	flagDescriptor = 0x0008
	flagStrongEnc  = 0x0040
	flagMaskedCD   = 0x2000
)

// directory is where the central directory lives, as this package reads
// it independently of archive/zip.
type directory struct {
	records uint64
	offset  int64 // of the first central header
	size    int64
	end     int64 // offset of the (zip64) end record that follows it
}

// rawCentral is one central directory header, parsed independently of
// archive/zip so that the local header offsets (which archive/zip keeps to
// itself) can be checked.
type rawCentral struct {
	name         []byte
	flags        uint16
	method       uint16
	crc          uint32
	csize, usize uint64
	headerOffset int64
	zip64        bool
}

func archiveErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidArchive}, args...)...)
}

// readDirectoryEnd finds the end of central directory record the way
// archive/zip does, then insists on a strict layout: a single disk, the
// comment reaching exactly the end of the data, and the central directory
// ending exactly where the end record starts (no prepended data).
func readDirectoryEnd(r io.ReaderAt, size int64) (*directory, error) {
	var buf []byte
	var endOff int64 = -1
	for _, n := range []int64{1024, 65*1024 + endLen} {
		n = min(n, size)
		buf = make([]byte, n)
		if _, err := r.ReadAt(buf, size-n); err != nil && err != io.EOF {
			return nil, fmt.Errorf("read end of central directory: %w", err)
		}
		if p := findEndSignature(buf); p >= 0 {
			buf, endOff = buf[p:], size-n+int64(p)
			break
		}
		if n == size {
			break
		}
	}
	if endOff < 0 {
		return nil, archiveErr("no end of central directory record")
	}
	le := binary.LittleEndian
	disk, cdDisk := le.Uint16(buf[4:]), le.Uint16(buf[6:])
	d := &directory{
		records: uint64(le.Uint16(buf[10:])),
		size:    int64(le.Uint32(buf[12:])),
		offset:  int64(le.Uint32(buf[16:])),
		end:     endOff,
	}
	if commentLen := int64(le.Uint16(buf[20:])); endOff+endLen+commentLen != size {
		return nil, archiveErr("%d bytes of data after the end of central directory record", size-(endOff+endLen+commentLen))
	}
	if disk != 0 || cdDisk != 0 || le.Uint16(buf[8:]) != le.Uint16(buf[10:]) {
		return nil, archiveErr("multi-disk archives are not supported")
	}
	if d.records == 0xffff || d.size == 0xffffffff || d.offset == 0xffffffff {
		if err := readDirectory64End(r, d); err != nil {
			return nil, err
		}
	}
	if d.offset < 0 || d.size < 0 || d.offset > d.end || d.end-d.offset != d.size {
		return nil, archiveErr("central directory (offset %d, size %d) does not end at its end record (offset %d)", d.offset, d.size, d.end)
	}
	return d, nil
}

func findEndSignature(b []byte) int {
	for i := len(b) - endLen; i >= 0; i-- {
		if binary.LittleEndian.Uint32(b[i:]) == sigEnd {
			n := int(binary.LittleEndian.Uint16(b[i+endLen-2:]))
			if n+endLen+i > len(b) {
				return -1
			}
			return i
		}
	}
	return -1
}

func readDirectory64End(r io.ReaderAt, d *directory) error {
	le := binary.LittleEndian
	locOff := d.end - end64LocLen
	if locOff < 0 {
		return archiveErr("missing zip64 end of central directory locator")
	}
	var loc [end64LocLen]byte
	if _, err := r.ReadAt(loc[:], locOff); err != nil {
		return archiveErr("read zip64 locator: %v", err)
	}
	if le.Uint32(loc[0:]) != sigEnd64Loc {
		// Not zip64 after all: 0xffff entries is a legal count.
		return nil
	}
	if le.Uint32(loc[4:]) != 0 || le.Uint32(loc[16:]) != 1 {
		return archiveErr("multi-disk archives are not supported")
	}
	off := le.Uint64(loc[8:])
	if off > uint64(locOff) || uint64(locOff)-off < end64Len {
		return archiveErr("zip64 end record at %d is out of place", off)
	}
	var rec [end64Len]byte
	if _, err := r.ReadAt(rec[:], int64(off)); err != nil {
		return archiveErr("read zip64 end record: %v", err)
	}
	if le.Uint32(rec[0:]) != sigEnd64 {
		return archiveErr("bad zip64 end record signature")
	}
	if le.Uint32(rec[16:]) != 0 || le.Uint32(rec[20:]) != 0 || le.Uint64(rec[24:]) != le.Uint64(rec[32:]) {
		return archiveErr("multi-disk archives are not supported")
	}
	d.records = le.Uint64(rec[32:])
	d.size = int64(le.Uint64(rec[40:]))
	d.offset = int64(le.Uint64(rec[48:]))
	d.end = int64(off)
	if d.size < 0 || d.offset < 0 {
		return archiveErr("zip64 central directory out of range")
	}
	return nil
}

// readCentral reads the central directory headers. The caller has
// bounded d.records by MaxEntries, and allocations below are bounded by
// the 16-bit length fields, never by a declared size.
func readCentral(r io.ReaderAt, d *directory) ([]rawCentral, error) {
	le := binary.LittleEndian
	br := bufio.NewReaderSize(io.NewSectionReader(r, d.offset, d.size), 64<<10)
	out := make([]rawCentral, 0, d.records)
	var hdr [centralLen]byte
	for i := uint64(0); i < d.records; i++ {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return nil, archiveErr("central directory header %d: %v", i, err)
		}
		if le.Uint32(hdr[0:]) != sigCentral {
			return nil, archiveErr("central directory header %d: bad signature", i)
		}
		n, m, k := int(le.Uint16(hdr[28:])), int(le.Uint16(hdr[30:])), int(le.Uint16(hdr[32:]))
		rest := make([]byte, n+m+k)
		if _, err := io.ReadFull(br, rest); err != nil {
			return nil, archiveErr("central directory header %d: %v", i, err)
		}
		c := rawCentral{
			name:         bytes.Clone(rest[:n]),
			flags:        le.Uint16(hdr[8:]),
			method:       le.Uint16(hdr[10:]),
			crc:          le.Uint32(hdr[16:]),
			csize:        uint64(le.Uint32(hdr[20:])),
			usize:        uint64(le.Uint32(hdr[24:])),
			headerOffset: int64(le.Uint32(hdr[42:])),
		}
		if le.Uint16(hdr[34:]) != 0 {
			return nil, archiveErr("entry %q: multi-disk archives are not supported", c.name)
		}
		needU, needC, needO := c.usize == 0xffffffff, c.csize == 0xffffffff, c.headerOffset == 0xffffffff
		extra := rest[n : n+m]
		for len(extra) >= 4 {
			tag, sz := le.Uint16(extra), int(le.Uint16(extra[2:]))
			if len(extra) < 4+sz {
				break
			}
			field := extra[4 : 4+sz]
			extra = extra[4+sz:]
			if tag != zip64ExtraID {
				continue
			}
			c.zip64 = true
			take := func(need *bool, v *uint64) bool {
				if !*need {
					return true
				}
				*need = false
				if len(field) < 8 {
					return false
				}
				*v, field = le.Uint64(field), field[8:]
				return true
			}
			off := uint64(c.headerOffset)
			if !take(&needU, &c.usize) || !take(&needC, &c.csize) || !take(&needO, &off) {
				return nil, archiveErr("entry %q: short zip64 extra field", c.name)
			}
			c.headerOffset = int64(off)
		}
		if needC || needO || c.headerOffset < 0 {
			return nil, archiveErr("entry %q: missing zip64 sizes or offset", c.name)
		}
		out = append(out, c)
	}
	return out, nil
}

// span is the byte range [start, end) an entry occupies: local header,
// name, extra field, data and data descriptor.
type span struct {
	start, end int64
	name       string
}

// checkLocal reads c's local header and returns the offset of its data and
// the end of its span. The local name, method and encryption flag must
// agree with the central directory.
func checkLocal(r io.ReaderAt, c *rawCentral, name string) (dataOff, end int64, err error) {
	le := binary.LittleEndian
	var hdr [localLen]byte
	if _, err := r.ReadAt(hdr[:], c.headerOffset); err != nil {
		return 0, 0, archiveErr("entry %q: local header at %d: %v", name, c.headerOffset, err)
	}
	if le.Uint32(hdr[0:]) != sigLocal {
		return 0, 0, archiveErr("entry %q: bad local header signature at %d", name, c.headerOffset)
	}
	flags, method := le.Uint16(hdr[6:]), le.Uint16(hdr[8:])
	n, m := int(le.Uint16(hdr[26:])), int64(le.Uint16(hdr[28:]))
	if flags&(flagEncrypted|flagStrongEnc) != 0 {
		return 0, 0, archiveErr("entry %q: encrypted (local header)", name)
	}
	if method != c.method {
		return 0, 0, archiveErr("entry %q: local header method %d differs from central directory method %d", name, method, c.method)
	}
	if n != len(c.name) {
		return 0, 0, archiveErr("entry %q: local header name differs from the central directory", name)
	}
	local := make([]byte, n) // n equals the central name length, already bounded
	if _, err := r.ReadAt(local, c.headerOffset+localLen); err != nil {
		return 0, 0, archiveErr("entry %q: local header name: %v", name, err)
	}
	if !bytes.Equal(local, c.name) {
		return 0, 0, archiveErr("entry %q: local header name %q differs from the central directory", name, local)
	}
	dataOff = c.headerOffset + localLen + int64(n) + m
	end = dataOff + int64(c.csize)
	if end < dataOff {
		return 0, 0, archiveErr("entry %q: size overflows", name)
	}
	if flags&flagDescriptor != 0 {
		// Data descriptor: optional signature, CRC-32, two sizes of 4
		// or (zip64) 8 bytes.
		var sig [4]byte
		if _, err := r.ReadAt(sig[:], end); err != nil {
			return 0, 0, archiveErr("entry %q: data descriptor: %v", name, err)
		}
		if le.Uint32(sig[:]) == sigDescriptor {
			end += 4
		}
		end += 12
		if c.zip64 {
			end += 8
		}
	}
	return dataOff, end, nil
}
