package modelpkg_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"testing"

	"github.com/klauspost/compress/flate"
	"github.com/modelvault/modelvault/modelpkg"
)

// rawEntry is one entry of a hand-made ZIP: every field the writer in
// archive/zip would refuse to get wrong can be set here.
type rawEntry struct {
	name      string
	localName *string // local header name, if different
	plain     []byte  // uncompressed contents
	deflate   bool
	data      []byte // stored bytes; nil means plain, deflated if deflate
	flags     uint16
	method    *uint16
	crc       *uint32
	usize     *uint32 // declared sizes, if lying
	csize     *uint32
	unixMode  uint32 // if non-zero, creator Unix with this st_mode
	cdExtra   []byte // extra field in the central header only
	// localExtra is the local header's extra field.
	localExtra []byte
	// localCRC, localSize and localFlags make the local header
	// disagree with the central one (localSize sets both sizes).
	localCRC   *uint32
	localSize  *uint32
	localFlags *uint16
	// creator overrides the host byte of "version made by" (3 for Unix
	// when unixMode is set, 0 otherwise); external overrides the
	// external attributes.
	creator  *uint8
	external *uint32
	// descriptor, if set, follows the data (flag 0x0008 is set, the
	// local CRC-32 and sizes are zero).
	descriptor []byte
	// after is junk placed after this entry's data (and descriptor).
	after []byte
	// inner, if set, is placed inside this entry's stored data (so its
	// span overlaps this one's); its own central header follows ours.
	inner *rawEntry
}

func ptr[T any](v T) *T { return &v }

func deflateBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

type central struct {
	e      rawEntry
	offset uint32
	crc    uint32
	cs, us uint32
}

type craftOpts struct {
	prefix, suffix []byte
	cdPad          int // bytes of junk between the last entry and the CD
	// absolute makes offsets count the prefix (a polyglot whose ZIP
	// part is self-consistent) instead of ignoring it.
	absolute bool
	// cdTrailer is placed after the central headers, inside the size
	// the end record declares.
	cdTrailer []byte
	// beforeEnd is placed between the central directory and the end
	// record (a zip64 end record and locator); it gets the offset of
	// the central directory and its size.
	beforeEnd func(cdOff, cdSize int) []byte
}

// craft writes entries as a ZIP archive, byte by byte.
func craft(t testing.TB, opts craftOpts, entries ...rawEntry) []byte {
	t.Helper()
	le := binary.LittleEndian
	var out bytes.Buffer
	out.Write(opts.prefix)
	var cds []central
	var local func(e rawEntry) []byte
	local = func(e rawEntry) []byte {
		data := e.data
		method := uint16(0)
		if e.deflate {
			method = 8
		}
		if data == nil {
			data = e.plain
			if e.deflate {
				data = deflateBytes(t, e.plain)
			}
		}
		if e.method != nil {
			method = *e.method
		}
		c := central{e: e, crc: crc32.ChecksumIEEE(e.plain), cs: uint32(len(data)), us: uint32(len(e.plain))}
		if e.crc != nil {
			c.crc = *e.crc
		}
		if e.csize != nil {
			c.cs = *e.csize
		}
		if e.usize != nil {
			c.us = *e.usize
		}
		c.e.method = &method
		lname := e.name
		if e.localName != nil {
			lname = *e.localName
		}
		flags := e.flags
		lcrc, lcs, lus := c.crc, c.cs, c.us
		if e.descriptor != nil {
			flags |= 8
			lcrc, lcs, lus = 0, 0, 0
		}
		c.e.flags = flags
		if e.localFlags != nil {
			flags = *e.localFlags
		}
		if e.localCRC != nil {
			lcrc = *e.localCRC
		}
		if e.localSize != nil {
			lcs, lus = *e.localSize, *e.localSize
		}
		var h [30]byte
		le.PutUint32(h[0:], 0x04034b50)
		le.PutUint16(h[4:], 20)
		le.PutUint16(h[6:], flags)
		le.PutUint16(h[8:], method)
		le.PutUint16(h[12:], 0x21) // 1980-01-01
		le.PutUint32(h[14:], lcrc)
		le.PutUint32(h[18:], lcs)
		le.PutUint32(h[22:], lus)
		le.PutUint16(h[26:], uint16(len(lname)))
		le.PutUint16(h[28:], uint16(len(e.localExtra)))
		var b bytes.Buffer
		b.Write(h[:])
		b.WriteString(lname)
		b.Write(e.localExtra)
		idx := len(cds)
		cds = append(cds, c)
		if e.inner != nil {
			// This entry's data is: its own data, then the inner entry.
			start := out.Len() + b.Len() + len(data)
			inner := local(*e.inner)
			cds[len(cds)-1].offset = uint32(start)
			data = append(append([]byte{}, data...), inner...)
			plain := data
			cds[idx].crc = crc32.ChecksumIEEE(plain)
			cds[idx].cs, cds[idx].us = uint32(len(data)), uint32(len(data))
			le.PutUint32(b.Bytes()[14:], cds[idx].crc)
			le.PutUint32(b.Bytes()[18:], cds[idx].cs)
			le.PutUint32(b.Bytes()[22:], cds[idx].us)
		}
		b.Write(data)
		b.Write(e.descriptor)
		b.Write(e.after)
		return b.Bytes()
	}
	for _, e := range entries {
		off := out.Len()
		n := len(cds)
		out.Write(local(e))
		cds[n].offset = uint32(off)
	}
	out.Write(make([]byte, opts.cdPad))
	cdOff := out.Len()
	base := uint32(len(opts.prefix))
	if opts.absolute {
		base = 0
	}
	for _, c := range cds {
		var h [46]byte
		le.PutUint32(h[0:], 0x02014b50)
		creator := uint16(20)
		ext := uint32(0)
		if c.e.unixMode != 0 {
			creator |= 3 << 8
			ext = c.e.unixMode << 16
		}
		if c.e.creator != nil {
			creator = 20 | uint16(*c.e.creator)<<8
		}
		if c.e.external != nil {
			ext = *c.e.external
		}
		le.PutUint16(h[4:], creator)
		le.PutUint16(h[6:], 20)
		le.PutUint16(h[8:], c.e.flags)
		le.PutUint16(h[10:], *c.e.method)
		le.PutUint16(h[14:], 0x21)
		le.PutUint32(h[16:], c.crc)
		le.PutUint32(h[20:], c.cs)
		le.PutUint32(h[24:], c.us)
		le.PutUint16(h[28:], uint16(len(c.e.name)))
		le.PutUint16(h[30:], uint16(len(c.e.cdExtra)))
		le.PutUint32(h[38:], ext)
		le.PutUint32(h[42:], c.offset-base)
		out.Write(h[:])
		out.WriteString(c.e.name)
		out.Write(c.e.cdExtra)
	}
	out.Write(opts.cdTrailer)
	cdSize := out.Len() - cdOff
	if opts.beforeEnd != nil {
		out.Write(opts.beforeEnd(cdOff-int(base), cdSize))
	}
	var end [22]byte
	le.PutUint32(end[0:], 0x06054b50)
	le.PutUint16(end[8:], uint16(len(cds)))
	le.PutUint16(end[10:], uint16(len(cds)))
	le.PutUint32(end[12:], uint32(cdSize))
	le.PutUint32(end[16:], uint32(cdOff)-base)
	out.Write(end[:])
	out.Write(opts.suffix)
	return out.Bytes()
}

// manifestEntry returns a manifest entry listing the plain contents of
// entries (inner entries included).
func manifestEntry(t testing.TB, entries ...rawEntry) rawEntry {
	t.Helper()
	m := &modelpkg.Manifest{FileHashes: map[string]string{}}
	var add func(e rawEntry)
	add = func(e rawEntry) {
		if len(e.name) > 0 && e.name[len(e.name)-1] != '/' {
			sum := sha256.Sum256(e.plain)
			m.FileHashes[e.name] = hex.EncodeToString(sum[:])
		}
		if e.inner != nil {
			add(*e.inner)
		}
	}
	for _, e := range entries {
		add(e)
	}
	b, err := m.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return rawEntry{name: modelpkg.DefaultManifestFile, plain: b}
}

// pkgOf crafts entries plus a manifest that matches them.
func pkgOf(t testing.TB, entries ...rawEntry) []byte {
	return craft(t, craftOpts{}, append(entries, manifestEntry(t, entries...))...)
}

// zip64End returns a zip64 end of central directory record and locator
// for a directory of records entries at cdOff of cdSize bytes, to be
// placed at recOff.
func zip64End(recOff, records, cdOff, cdSize uint64) []byte {
	le := binary.LittleEndian
	b := make([]byte, 56+20)
	le.PutUint32(b[0:], 0x06064b50)
	le.PutUint64(b[4:], 44)
	le.PutUint16(b[12:], 45)
	le.PutUint16(b[14:], 45)
	le.PutUint64(b[24:], records)
	le.PutUint64(b[32:], records)
	le.PutUint64(b[40:], cdSize)
	le.PutUint64(b[48:], cdOff)
	le.PutUint32(b[56:], 0x07064b50)
	le.PutUint64(b[64:], recOff)
	le.PutUint32(b[72:], 1)
	return b
}

// extraField returns one extra field.
func extraField(tag uint16, data []byte) []byte {
	b := make([]byte, 4, 4+len(data))
	binary.LittleEndian.PutUint16(b, tag)
	binary.LittleEndian.PutUint16(b[2:], uint16(len(data)))
	return append(b, data...)
}

// unicodePath returns an Info-ZIP Unicode Path extra field (0x7075)
// naming name, for a header whose own name is header.
func unicodePath(header, name string) []byte {
	d := []byte{1, 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(d[1:], crc32.ChecksumIEEE([]byte(header)))
	return extraField(0x7075, append(d, name...))
}

// descriptor returns a data descriptor for plain contents stored as
// csize bytes: with a signature or not, with 4- or 8-byte sizes.
func descriptor(plain []byte, csize int, sig, wide bool) []byte {
	le := binary.LittleEndian
	var b []byte
	if sig {
		b = le.AppendUint32(b, 0x08074b50)
	}
	b = le.AppendUint32(b, crc32.ChecksumIEEE(plain))
	if wide {
		b = le.AppendUint64(b, uint64(csize))
		b = le.AppendUint64(b, uint64(len(plain)))
	} else {
		b = le.AppendUint32(b, uint32(csize))
		b = le.AppendUint32(b, uint32(len(plain)))
	}
	return b
}
