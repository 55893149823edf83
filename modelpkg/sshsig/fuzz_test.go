package sshsig_test

import (
	"bytes"
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"github.com/modelvault/modelvault/modelpkg/sshsig"
)

// FuzzParse checks that Parse and Verify never panic on hostile input and
// that whatever parses verifies or fails with a named error.
func FuzzParse(f *testing.F) {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	good, err := sshsig.Sign(key, sshsig.Namespace, bytes.NewReader(manifest))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte("-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAQ==\n-----END SSH SIGNATURE-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sig, err := sshsig.Parse(data)
		if err != nil {
			return
		}
		_ = sig.Verify(bytes.NewReader(manifest), sshsig.Namespace)
	})
}

// FuzzParseAllowedSigners checks the policy parser on hostile files.
func FuzzParseAllowedSigners(f *testing.F) {
	f.Add(`a@x namespaces="git,modelvault-*",valid-after="20260101Z" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPd2yCbVO8m7H7ZC0G6Jxh0T7c7pJqv9p9+O1pR2bB0z c`)
	f.Add("# c\n\n\"a@x,b@y\" cert-authority ssh-ed25519 AAAA\n")
	f.Fuzz(func(t *testing.T, text string) {
		as, err := sshsig.ParseAllowedSigners(strings.NewReader(text))
		if err != nil {
			return
		}
		key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32))
		armored, err := sshsig.Sign(key, sshsig.Namespace, bytes.NewReader(manifest))
		if err != nil {
			t.Fatal(err)
		}
		sig, err := sshsig.Parse(armored)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = as.Verify(sig, bytes.NewReader(manifest), sshsig.Namespace, time.Unix(0, 0))
	})
}
