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
		var h [30]byte
		le.PutUint32(h[0:], 0x04034b50)
		le.PutUint16(h[4:], 20)
		le.PutUint16(h[6:], e.flags)
		le.PutUint16(h[8:], method)
		le.PutUint16(h[12:], 0x21) // 1980-01-01
		le.PutUint32(h[14:], c.crc)
		le.PutUint32(h[18:], c.cs)
		le.PutUint32(h[22:], c.us)
		le.PutUint16(h[26:], uint16(len(lname)))
		var b bytes.Buffer
		b.Write(h[:])
		b.WriteString(lname)
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
	for _, c := range cds {
		var h [46]byte
		le.PutUint32(h[0:], 0x02014b50)
		creator := uint16(20)
		ext := uint32(0)
		if c.e.unixMode != 0 {
			creator |= 3 << 8
			ext = c.e.unixMode << 16
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
		le.PutUint32(h[42:], c.offset-uint32(len(opts.prefix)))
		out.Write(h[:])
		out.WriteString(c.e.name)
		out.Write(c.e.cdExtra)
	}
	cdSize := out.Len() - cdOff
	var end [22]byte
	le.PutUint32(end[0:], 0x06054b50)
	le.PutUint16(end[8:], uint16(len(cds)))
	le.PutUint16(end[10:], uint16(len(cds)))
	le.PutUint32(end[12:], uint32(cdSize))
	le.PutUint32(end[16:], uint32(cdOff-len(opts.prefix)))
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
