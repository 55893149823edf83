package main

import (
	"os"
	"os/user"
	"strconv"
	"strings"
	"unicode"
)

// defaultActor is who modelctl records when --actor is not given: $USER,
// else the operating system's user, else "unknown". Never blank.
func defaultActor() string {
	if a := strings.TrimSpace(os.Getenv("USER")); a != "" {
		return a
	}
	if u, err := user.Current(); err == nil && strings.TrimSpace(u.Username) != "" {
		return u.Username
	}
	return "unknown"
}

// safe returns s for a terminal: control and format characters (escape
// sequences, bidirectional overrides) are printed escaped, as Go quotes
// them, so that text stored in a registry cannot drive the terminal.
func safe(s string) string {
	if strings.IndexFunc(s, unsafeRune) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unsafeRune(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	return r == unicode.ReplacementChar || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029'
}
