package pickle

import "unicode/utf8"

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// escapeDecode implements Python's codecs.escape_decode, which the
// unpicklers apply to the quoted argument of STRING. ok is false where
// Python raises.
func escapeDecode(s []byte) ([]byte, bool) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(s) {
			return nil, false // "Trailing \ in string"
		}
		switch c = s[i]; c {
		case '\n':
		case '\\', '\'', '"':
			out = append(out, c)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 't':
			out = append(out, '\t')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 'v':
			out = append(out, '\v')
		case 'a':
			out = append(out, '\a')
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := int(c - '0')
			for j := 0; j < 2 && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '7'; j++ {
				i++
				v = v*8 + int(s[i]-'0')
			}
			out = append(out, byte(v))
		case 'x':
			if i+2 >= len(s) {
				return nil, false
			}
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return nil, false
			}
			out = append(out, hi<<4|lo)
			i += 2
		default:
			out = append(out, '\\', c)
		}
	}
	return out, true
}

// rawUnicodeEscapeDecode implements Python's raw_unicode_escape codec,
// which the unpicklers apply to UNICODE's argument: \uXXXX and \UXXXXXXXX
// after an odd run of backslashes, every other byte is a Latin-1 code
// point. The result is UTF-8 (lone surrogates become U+FFFD, which can
// never match an allow-listed name).
func rawUnicodeEscapeDecode(s []byte) ([]byte, bool) {
	out := make([]byte, 0, len(s))
	run := 0 // backslashes immediately before i
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' {
			run++
			out = append(out, c)
			continue
		}
		if run%2 == 1 && (c == 'u' || c == 'U') {
			n := 4
			if c == 'U' {
				n = 8
			}
			if i+n >= len(s) {
				return nil, false
			}
			var r rune
			for j := 1; j <= n; j++ {
				h, ok := unhex(s[i+j])
				if !ok {
					return nil, false
				}
				r = r<<4 | rune(h)
			}
			if r > 0x10FFFF || r < 0 {
				return nil, false
			}
			out = out[:len(out)-1] // the escaping backslash
			out = utf8.AppendRune(out, r)
			i += n
			run = 0
			continue
		}
		run = 0
		out = utf8.AppendRune(out, rune(c))
	}
	return out, true
}
