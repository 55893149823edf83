package sshsig

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// maxPolicy bounds an allowed-signers file.
const maxPolicy = 4 << 20

// AllowedSigners is a trust policy in the format of OpenSSH's
// allowed_signers file (ssh-keygen(1), "ALLOWED SIGNERS"): one line per
// trusted key, "principals [options] keytype base64-key [comment]", with
// the options namespaces="...", valid-after="...", valid-before="..." and
// cert-authority.
type AllowedSigners struct {
	entries []signerEntry
}

type signerEntry struct {
	line          int
	principals    string
	key           ssh.PublicKey
	certAuthority bool
	namespaces    string // pattern list; "" means any
	validAfter    time.Time
	validBefore   time.Time
}

// ParseAllowedSigners parses an allowed-signers file. Errors wrap
// ErrInvalidPolicy and name the line.
func ParseAllowedSigners(r io.Reader) (*AllowedSigners, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxPolicy+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxPolicy {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrInvalidPolicy, maxPolicy)
	}
	as := &AllowedSigners{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), maxPolicy)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		e, err := parseEntry(line)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrInvalidPolicy, n, err)
		}
		e.line = n
		as.entries = append(as.entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidPolicy, err)
	}
	return as, nil
}

// nextField splits off the first whitespace-delimited field of s, where a
// double-quoted run may contain spaces (as in namespaces="a b").
func nextField(s string) (field, rest string) {
	s = strings.TrimLeft(s, " \t")
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			inQuote = !inQuote
		case (c == ' ' || c == '\t') && !inQuote:
			return s[:i], s[i:]
		}
	}
	return s, ""
}

func parseEntry(line string) (signerEntry, error) {
	var e signerEntry
	principals, rest := nextField(line)
	principals = strings.Trim(principals, `"`)
	if principals == "" || strings.TrimSpace(rest) == "" {
		return e, fmt.Errorf("want principals and a key")
	}
	e.principals = principals
	// The rest is an authorized_keys line: [options] keytype base64 [comment].
	key, _, opts, _, err := ssh.ParseAuthorizedKey([]byte(strings.TrimSpace(rest)))
	if err != nil {
		return e, fmt.Errorf("key: %v", err)
	}
	e.key = key
	for _, o := range opts {
		if err := e.parseOption(o); err != nil {
			return e, err
		}
	}
	return e, nil
}

func (e *signerEntry) parseOption(o string) error {
	name, val, hasVal := strings.Cut(o, "=")
	name = strings.ToLower(name)
	if hasVal {
		if len(val) < 2 || val[0] != '"' || val[len(val)-1] != '"' {
			return fmt.Errorf("option %s: value must be double-quoted", name)
		}
		val = val[1 : len(val)-1]
	}
	var err error
	switch {
	case name == "cert-authority" && !hasVal:
		e.certAuthority = true
	case name == "namespaces" && hasVal:
		e.namespaces = val
	case name == "valid-after" && hasVal:
		e.validAfter, err = parseTimestamp(val)
	case name == "valid-before" && hasVal:
		e.validBefore, err = parseTimestamp(val)
	default:
		return fmt.Errorf("unknown option %q", o)
	}
	if err != nil {
		return fmt.Errorf("option %s: %v", name, err)
	}
	return nil
}

// parseTimestamp parses OpenSSH's YYYYMMDD[Z] and YYYYMMDDHHMM[SS][Z];
// without Z the time is local, as ssh-keygen reads it.
func parseTimestamp(s string) (time.Time, error) {
	loc := time.Local
	if strings.HasSuffix(s, "Z") || strings.HasSuffix(s, "z") {
		loc, s = time.UTC, s[:len(s)-1]
	}
	var layout string
	switch len(s) {
	case 8:
		layout = "20060102"
	case 12:
		layout = "200601021504"
	case 14:
		layout = "20060102150405"
	default:
		return time.Time{}, fmt.Errorf("timestamp %q: want YYYYMMDD[HHMM[SS]][Z]", s)
	}
	return time.ParseInLocation(layout, s, loc)
}

// matchList reports whether s matches OpenSSH's comma-separated pattern
// list (match_pattern_list): "*" and "?" wildcards, "!" negates, and a
// negated match wins.
func matchList(s, list string) bool {
	matched := false
	for _, p := range strings.Split(list, ",") {
		neg := strings.HasPrefix(p, "!")
		p = strings.TrimPrefix(p, "!")
		// path.Match's syntax is a superset of OpenSSH's for these two
		// wildcards; brackets and backslashes are taken literally.
		p = strings.NewReplacer("[", "\\[", "]", "\\]", "\\", "\\\\").Replace(p)
		ok, err := path.Match(p, s)
		if err != nil || !ok {
			// path.Match's * does not cross '/', OpenSSH's does.
			ok = err == nil && globAll(p, s)
		}
		if ok {
			if neg {
				return false
			}
			matched = true
		}
	}
	return matched
}

// globAll matches * and ? across any character, '/' included.
func globAll(p, s string) bool {
	for len(p) > 0 {
		switch p[0] {
		case '*':
			for i := len(s); i >= 0; i-- {
				if globAll(p[1:], s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
			p, s = p[1:], s[1:]
		case '\\':
			if len(p) < 2 || s == "" || s[0] != p[1] {
				return false
			}
			p, s = p[2:], s[1:]
		default:
			if s == "" || s[0] != p[0] {
				return false
			}
			p, s = p[1:], s[1:]
		}
	}
	return s == ""
}

// Verify verifies sig over message for namespace and returns the
// principals of the first policy line that trusts its key for that
// namespace at time at (as `ssh-keygen -Y find-principals` prints them).
// A signature that does not verify is ErrBadSignature; a valid signature
// by a key no line trusts then is ErrUntrustedSigner.
func (as *AllowedSigners) Verify(sig *Signature, message io.Reader, namespace string, at time.Time) (string, error) {
	if err := sig.Verify(message, namespace); err != nil {
		return "", err
	}
	return as.Principals(sig.PublicKey, namespace, at)
}

// Principals returns the principals of the first line that trusts key for
// namespace at time at, or an error wrapping ErrUntrustedSigner that says
// why the closest line did not.
func (as *AllowedSigners) Principals(key ssh.PublicKey, namespace string, at time.Time) (string, error) {
	want := key.Marshal()
	why := "no line lists key " + ssh.FingerprintSHA256(key)
	for _, e := range as.entries {
		if e.certAuthority || !bytes.Equal(e.key.Marshal(), want) {
			continue
		}
		switch {
		case e.namespaces != "" && !matchList(namespace, e.namespaces):
			why = fmt.Sprintf("line %d: namespace %q not in %q", e.line, namespace, e.namespaces)
		case !e.validAfter.IsZero() && at.Before(e.validAfter):
			why = fmt.Sprintf("line %d: key not valid before %s", e.line, e.validAfter.Format(time.RFC3339))
		case !e.validBefore.IsZero() && !at.Before(e.validBefore):
			why = fmt.Sprintf("line %d: key expired at %s", e.line, e.validBefore.Format(time.RFC3339))
		default:
			return e.principals, nil
		}
	}
	return "", fmt.Errorf("%w: %s", ErrUntrustedSigner, why)
}

// VerifyIdentity is Verify for a required identity, as `ssh-keygen -Y
// verify -I identity`: the trusting line's principals must match
// identity (OpenSSH pattern rules), else the signer is untrusted.
func (as *AllowedSigners) VerifyIdentity(sig *Signature, message io.Reader, namespace, identity string, at time.Time) error {
	if err := sig.Verify(message, namespace); err != nil {
		return err
	}
	want := sig.PublicKey.Marshal()
	for _, e := range as.entries {
		if !e.certAuthority && bytes.Equal(e.key.Marshal(), want) && matchList(identity, e.principals) {
			if _, err := (&AllowedSigners{entries: []signerEntry{e}}).Principals(sig.PublicKey, namespace, at); err == nil {
				return nil
			}
		}
	}
	if _, err := as.Principals(sig.PublicKey, namespace, at); err != nil {
		return err
	}
	return fmt.Errorf("%w: no line trusts key %s for identity %q", ErrUntrustedSigner, ssh.FingerprintSHA256(sig.PublicKey), identity)
}
