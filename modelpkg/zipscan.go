package modelpkg

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
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
	unicodePathID  = 0x7075
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
	creator      uint16 // version made by: host << 8 | version
	flags        uint16
	method       uint16
	crc          uint32
	csize, usize uint64
	external     uint32 // external attributes
	headerOffset int64
}

// span is the byte range [start, end) of an entry's local header, name,
// extra field and data; a data descriptor may follow it.
type span struct {
	start, end int64
	name       string
	index      int // into the central directory
}

func archiveErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidArchive}, args...)...)
}

// readDirectoryEnd finds the end of central directory record the way
// archive/zip does, then insists on a strict layout: a single disk, the
// comment reaching exactly the end of the data, and the central directory
// ending exactly where the end record starts (no prepended data). A zip64
// locator in front of the end record is always followed, as every other
// reader does, and the 32-bit fields must then agree with the zip64 ones
// (or hold the 0xFFFF markers).
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
	onDisk, records := le.Uint16(buf[8:]), le.Uint16(buf[10:])
	size32, off32 := le.Uint32(buf[12:]), le.Uint32(buf[16:])
	d := &directory{records: uint64(records), size: int64(size32), offset: int64(off32), end: endOff}
	if commentLen := int64(le.Uint16(buf[20:])); endOff+endLen+commentLen != size {
		return nil, archiveErr("%d bytes of data after the end of central directory record", size-(endOff+endLen+commentLen))
	}
	z64, err := readDirectory64End(r, endOff)
	if err != nil {
		return nil, err
	}
	if z64 != nil {
		// Every other reader uses the zip64 values: the 32-bit ones
		// must say the same or be the "see zip64" markers.
		agree16 := func(v uint16, w uint64) bool { return v == 0xffff || uint64(v) == w }
		agree32 := func(v uint32, w uint64) bool { return v == 0xffffffff || uint64(v) == w }
		if !agree16(disk, 0) || !agree16(cdDisk, 0) || !agree16(onDisk, z64.records) || !agree16(records, z64.records) ||
			!agree32(size32, uint64(z64.size)) || !agree32(off32, uint64(z64.offset)) {
			return nil, archiveErr("the end of central directory record disagrees with the zip64 end record")
		}
		d = z64
	} else if disk != 0 || cdDisk != 0 || onDisk != records {
		return nil, archiveErr("multi-disk archives are not supported")
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

// readDirectory64End follows a zip64 end of central directory locator
// right in front of the end record at endOff, if there is one, and
// returns the directory the zip64 end record describes; nil without a
// locator. The zip64 end record must end exactly where the locator starts.
func readDirectory64End(r io.ReaderAt, endOff int64) (*directory, error) {
	le := binary.LittleEndian
	locOff := endOff - end64LocLen
	if locOff < 0 {
		return nil, nil
	}
	var loc [end64LocLen]byte
	if _, err := r.ReadAt(loc[:], locOff); err != nil {
		return nil, archiveErr("read zip64 locator: %v", err)
	}
	if le.Uint32(loc[0:]) != sigEnd64Loc {
		return nil, nil
	}
	if le.Uint32(loc[4:]) != 0 || le.Uint32(loc[16:]) != 1 {
		return nil, archiveErr("multi-disk archives are not supported")
	}
	off := le.Uint64(loc[8:])
	if off > uint64(locOff) || uint64(locOff)-off != end64Len {
		return nil, archiveErr("zip64 end record at %d does not end at its locator (%d)", off, locOff)
	}
	var rec [end64Len]byte
	if _, err := r.ReadAt(rec[:], int64(off)); err != nil {
		return nil, archiveErr("read zip64 end record: %v", err)
	}
	if le.Uint32(rec[0:]) != sigEnd64 || le.Uint64(rec[4:]) != end64Len-12 {
		return nil, archiveErr("bad zip64 end record")
	}
	if le.Uint32(rec[16:]) != 0 || le.Uint32(rec[20:]) != 0 || le.Uint64(rec[24:]) != le.Uint64(rec[32:]) {
		return nil, archiveErr("multi-disk archives are not supported")
	}
	d := &directory{records: le.Uint64(rec[32:]), size: int64(le.Uint64(rec[40:])), offset: int64(le.Uint64(rec[48:])), end: int64(off)}
	if d.size < 0 || d.offset < 0 {
		return nil, archiveErr("zip64 central directory out of range")
	}
	return d, nil
}

// readCentral reads the central directory headers, which must fill
// exactly the declared size of the directory (Python's zipfile reads by
// size, not count). The caller has bounded d.records by MaxEntries, and
// allocations below are bounded by the 16-bit length fields, never by a
// declared size.
func readCentral(r io.ReaderAt, d *directory) ([]rawCentral, error) {
	le := binary.LittleEndian
	br := bufio.NewReaderSize(io.NewSectionReader(r, d.offset, d.size), 64<<10)
	out := make([]rawCentral, 0, d.records)
	var hdr [centralLen]byte
	var used int64
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
		used += int64(centralLen + n + m + k)
		c := rawCentral{
			name:         bytes.Clone(rest[:n]),
			creator:      le.Uint16(hdr[4:]),
			flags:        le.Uint16(hdr[8:]),
			method:       le.Uint16(hdr[10:]),
			crc:          le.Uint32(hdr[16:]),
			csize:        uint64(le.Uint32(hdr[20:])),
			usize:        uint64(le.Uint32(hdr[24:])),
			external:     le.Uint32(hdr[38:]),
			headerOffset: int64(le.Uint32(hdr[42:])),
		}
		if le.Uint16(hdr[34:]) != 0 {
			return nil, archiveErr("entry %q: multi-disk archives are not supported", c.name)
		}
		needU, needC, needO := c.usize == 0xffffffff, c.csize == 0xffffffff, c.headerOffset == 0xffffffff
		err := walkExtra(rest[n:n+m], func(tag uint16, field []byte) error {
			switch tag {
			case unicodePathID:
				return checkUnicodePath(field, c.name)
			case zip64ExtraID:
			default:
				return nil
			}
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
				return archiveErr("entry %q: short zip64 extra field", c.name)
			}
			c.headerOffset = int64(off)
			return nil
		})
		if err != nil {
			return nil, err
		}
		if needC || needO || needU || c.headerOffset < 0 {
			return nil, archiveErr("entry %q: missing zip64 sizes or offset", c.name)
		}
		out = append(out, c)
	}
	if used != d.size {
		return nil, archiveErr("the central directory declares %d bytes, its %d headers fill %d", d.size, d.records, used)
	}
	return out, nil
}

// walkExtra calls fn for each field of an extra block. A block that does
// not parse into whole fields is rejected: readers disagree on what its
// tail means.
func walkExtra(extra []byte, fn func(tag uint16, field []byte) error) error {
	le := binary.LittleEndian
	for len(extra) > 0 {
		if len(extra) < 4 {
			return archiveErr("truncated extra field")
		}
		tag, sz := le.Uint16(extra), int(le.Uint16(extra[2:]))
		if len(extra) < 4+sz {
			return archiveErr("truncated extra field %#04x", tag)
		}
		if err := fn(tag, extra[4:4+sz]); err != nil {
			return err
		}
		extra = extra[4+sz:]
	}
	return nil
}

// checkUnicodePath accepts an Info-ZIP Unicode Path extra field (0x7075)
// only when the name it carries is the header's own name: unzip, 7-Zip,
// libarchive and Python 3.12+ use it instead of the header's name.
func checkUnicodePath(field, name []byte) error {
	if len(field) < 5 || field[0] != 1 || !bytes.Equal(field[5:], name) {
		return archiveErr("entry %q: its Unicode Path extra field names another file", name)
	}
	return nil
}

// localInfo is what an entry's local header says, resolved with its
// zip64 extra field.
type localInfo struct {
	dataOff int64
	dataEnd int64 // dataOff + the central compressed size
}

// checkLocal reads c's local header and checks that it agrees with the
// central directory: name, method, flags, and (unless a data descriptor
// follows, which checkDescriptor checks) CRC-32 and sizes.
func checkLocal(r io.ReaderAt, c *rawCentral, name string) (localInfo, error) {
	le := binary.LittleEndian
	var hdr [localLen]byte
	if _, err := r.ReadAt(hdr[:], c.headerOffset); err != nil {
		return localInfo{}, archiveErr("entry %q: local header at %d: %v", name, c.headerOffset, err)
	}
	if le.Uint32(hdr[0:]) != sigLocal {
		return localInfo{}, archiveErr("entry %q: bad local header signature at %d", name, c.headerOffset)
	}
	flags, method := le.Uint16(hdr[6:]), le.Uint16(hdr[8:])
	crc, csize, usize := le.Uint32(hdr[14:]), uint64(le.Uint32(hdr[18:])), uint64(le.Uint32(hdr[22:]))
	n, m := int(le.Uint16(hdr[26:])), int(le.Uint16(hdr[28:]))
	if flags&(flagEncrypted|flagStrongEnc) != 0 {
		return localInfo{}, archiveErr("entry %q: encrypted (local header)", name)
	}
	if method != c.method {
		return localInfo{}, archiveErr("entry %q: local header method %d differs from central directory method %d", name, method, c.method)
	}
	if flags&^flagMaskedCD != c.flags&^flagMaskedCD {
		return localInfo{}, archiveErr("entry %q: local header flags %#04x differ from central directory flags %#04x", name, flags, c.flags)
	}
	if n != len(c.name) {
		return localInfo{}, archiveErr("entry %q: local header name differs from the central directory", name)
	}
	// n equals the central name length and m is 16-bit: bounded.
	rest := make([]byte, n+m)
	if _, err := r.ReadAt(rest, c.headerOffset+localLen); err != nil {
		return localInfo{}, archiveErr("entry %q: local header name: %v", name, err)
	}
	if !bytes.Equal(rest[:n], c.name) {
		return localInfo{}, archiveErr("entry %q: local header name %q differs from the central directory", name, rest[:n])
	}
	var z64 []byte
	err := walkExtra(rest[n:], func(tag uint16, field []byte) error {
		switch tag {
		case unicodePathID:
			return checkUnicodePath(field, c.name)
		case zip64ExtraID:
			z64 = field
		}
		return nil
	})
	if err != nil {
		return localInfo{}, fmt.Errorf("entry %q (local header): %w", name, err)
	}
	// A local size of 0xFFFFFFFF is in the zip64 field when there is one
	// (uncompressed, then compressed size).
	resolve := func(v uint64, i int) uint64 {
		if v == 0xffffffff && len(z64) >= 8*(i+1) {
			return le.Uint64(z64[8*i:])
		}
		return v
	}
	csizeL, usizeL := resolve(csize, 1), resolve(usize, 0)
	agree := func(local, central uint64, wide bool) bool {
		// Go's writer leaves 0xFFFFFFFF without a zip64 field in the
		// local header of a raw entry of 4 GiB or more.
		return local == central || wide && local == 0xffffffff && central >= 0xffffffff
	}
	if flags&flagDescriptor != 0 {
		// Values follow the data; here they are zero or the real ones.
		if crc != 0 && crc != c.crc || csizeL != 0 && !agree(csizeL, c.csize, true) || usizeL != 0 && !agree(usizeL, c.usize, true) {
			return localInfo{}, archiveErr("entry %q: local header CRC-32 or sizes differ from the central directory", name)
		}
	} else if crc != c.crc || !agree(csizeL, c.csize, len(z64) == 0) || !agree(usizeL, c.usize, len(z64) == 0) {
		return localInfo{}, archiveErr("entry %q: local header CRC-32 or sizes differ from the central directory", name)
	}
	li := localInfo{dataOff: c.headerOffset + localLen + int64(n) + int64(m)}
	li.dataEnd = li.dataOff + int64(c.csize)
	if li.dataEnd < li.dataOff {
		return localInfo{}, archiveErr("entry %q: size overflows", name)
	}
	return li, nil
}

// checkDescriptor checks the data descriptor of c, which fills exactly
// [off, next): 12 to 24 bytes, as the optional signature and 4- or 8-byte
// sizes make it (Go's writer uses 4-byte sizes whenever the sizes fit,
// even for entries with a zip64 central header). Its CRC-32 and sizes
// must be the central directory's.
func checkDescriptor(r io.ReaderAt, c *rawCentral, name string, off, next int64) error {
	le := binary.LittleEndian
	n := next - off
	if n != 12 && n != 16 && n != 20 && n != 24 {
		return archiveErr("entry %q: %d bytes between its data and the next record (a data descriptor has 12 to 24)", name, n)
	}
	var b [24]byte
	if _, err := r.ReadAt(b[:n], off); err != nil {
		return archiveErr("entry %q: data descriptor: %v", name, err)
	}
	d := b[:n]
	if n == 16 || n == 24 {
		if le.Uint32(d) != sigDescriptor {
			return archiveErr("entry %q: bad data descriptor signature", name)
		}
		d = d[4:]
	}
	crc := le.Uint32(d)
	var cs, us uint64
	if len(d) == 12 {
		cs, us = uint64(le.Uint32(d[4:])), uint64(le.Uint32(d[8:]))
	} else {
		cs, us = le.Uint64(d[4:]), le.Uint64(d[12:])
	}
	if crc != c.crc || cs != c.csize || us != c.usize {
		return archiveErr("entry %q: data descriptor (CRC-32 %#08x, sizes %d/%d) differs from the central directory", name, crc, cs, us)
	}
	return nil
}

// checkLayout checks that the entries' spans tile the archive from its
// first byte to the central directory: no data before the first entry, no
// unreferenced bytes between entries (where a streaming reader would find
// other local headers), no overlap. Data descriptors are checked on the
// way, since only the next record tells their length.
func checkLayout(r io.ReaderAt, spans []span, central []rawCentral, dirOff int64) error {
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	if len(spans) == 0 {
		if dirOff != 0 {
			return archiveErr("%d bytes of data before the central directory", dirOff)
		}
		return nil
	}
	if spans[0].start != 0 {
		return archiveErr("%d bytes of data before the first entry", spans[0].start)
	}
	for i, s := range spans {
		next := dirOff
		if i+1 < len(spans) {
			next = spans[i+1].start
			if next < s.end {
				return archiveErr("entries %q and %q overlap", s.name, spans[i+1].name)
			}
		}
		c := &central[s.index]
		switch {
		case c.flags&flagDescriptor != 0:
			if err := checkDescriptor(r, c, s.name, s.end, next); err != nil {
				return err
			}
		case next != s.end:
			return archiveErr("%d bytes of unreferenced data after entry %q", next-s.end, s.name)
		}
	}
	return nil
}
