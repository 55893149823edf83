package sshsig_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/modelvault/modelvault/internal/pkgtest"
	"github.com/modelvault/modelvault/modelpkg/sshsig"
)

var manifest = []byte(`{"file_hashes":{"model.joblib":"` + strings.Repeat("ab", 32) + `"}}`)

// sshKeygen returns the path of ssh-keygen (required in CI).
func sshKeygen(t *testing.T) string { return pkgtest.SSHKeygen(t) }

func run(t *testing.T, stdin []byte, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// keygen makes a key pair with ssh-keygen and returns the private key
// file and the public key line.
func keygen(t *testing.T, kind string) (string, string) {
	kg := sshKeygen(t)
	priv := filepath.Join(t.TempDir(), "id_"+kind)
	args := []string{"-q", "-t", kind, "-N", "", "-C", "test", "-f", priv}
	if kind == "ecdsa" {
		args = append(args, "-b", "256")
	}
	if kind == "rsa" {
		args = append(args, "-b", "2048")
	}
	out, err := run(t, nil, kg, args...)
	require.NoError(t, err, out)
	pub, err := os.ReadFile(priv + ".pub")
	require.NoError(t, err)
	return priv, strings.TrimSpace(string(pub))
}

func writeFile(t *testing.T, data []byte) string {
	p := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(p, data, 0o600))
	return p
}

func policy(t *testing.T, text string) *sshsig.AllowedSigners {
	as, err := sshsig.ParseAllowedSigners(strings.NewReader(text))
	require.NoError(t, err)
	return as
}

func TestKeygenSignsWeVerify(t *testing.T) {
	for _, kind := range []string{"ed25519", "ecdsa", "rsa"} {
		t.Run(kind, func(t *testing.T) {
			priv, pub := keygen(t, kind)
			msg := writeFile(t, manifest)
			out, err := run(t, nil, sshKeygen(t), "-Y", "sign", "-f", priv, "-n", sshsig.Namespace, msg)
			require.NoError(t, err, out)
			armored, err := os.ReadFile(msg + ".sig")
			require.NoError(t, err)
			sig, err := sshsig.Parse(armored)
			require.NoError(t, err)
			as := policy(t, "release@example.com "+pub+"\n")
			who, err := as.Verify(sig, bytes.NewReader(manifest), sshsig.Namespace, time.Now())
			require.NoError(t, err)
			assert.Equal(t, "release@example.com", who)

			// A modified manifest, another namespace, another key.
			_, err = as.Verify(sig, bytes.NewReader(append([]byte{' '}, manifest...)), sshsig.Namespace, time.Now())
			assert.ErrorIs(t, err, sshsig.ErrBadSignature)
			_, err = as.Verify(sig, bytes.NewReader(manifest), "git", time.Now())
			assert.ErrorIs(t, err, sshsig.ErrBadSignature)
			_, other := keygen(t, "ed25519")
			_, err = policy(t, "release@example.com "+other+"\n").Verify(sig, bytes.NewReader(manifest), sshsig.Namespace, time.Now())
			assert.ErrorIs(t, err, sshsig.ErrUntrustedSigner)
		})
	}
}

func TestWeSignKeygenVerifies(t *testing.T) {
	for _, kind := range []string{"ed25519", "ecdsa", "rsa"} {
		t.Run(kind, func(t *testing.T) {
			priv, pub := keygen(t, kind)
			pem, err := os.ReadFile(priv)
			require.NoError(t, err)
			key, err := ssh.ParseRawPrivateKey(pem)
			require.NoError(t, err)
			armored, err := sshsig.Sign(key, sshsig.Namespace, bytes.NewReader(manifest))
			require.NoError(t, err)
			allowed := writeFile(t, []byte("release@example.com "+pub+"\n"))
			sigFile := writeFile(t, armored)
			kg := sshKeygen(t)
			out, err := run(t, manifest, kg, "-Y", "verify", "-f", allowed, "-I", "release@example.com", "-n", sshsig.Namespace, "-s", sigFile)
			require.NoError(t, err, out)
			assert.Contains(t, out, `Good "modelvault-package" signature for release@example.com`)

			// ssh-keygen refuses what we refuse.
			out, err = run(t, manifest, kg, "-Y", "verify", "-f", allowed, "-I", "release@example.com", "-n", "git", "-s", sigFile)
			assert.Error(t, err, "wrong namespace: %s", out)
			out, err = run(t, manifest, kg, "-Y", "verify", "-f", allowed, "-I", "mallory@example.com", "-n", sshsig.Namespace, "-s", sigFile)
			assert.Error(t, err, "wrong principal: %s", out)
			out, err = run(t, append(manifest, '\n'), kg, "-Y", "verify", "-f", allowed, "-I", "release@example.com", "-n", sshsig.Namespace, "-s", sigFile)
			assert.Error(t, err, "modified manifest: %s", out)
		})
	}
}

func TestPolicyRules(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	sshPub, err := ssh.NewPublicKey(priv.Public())
	require.NoError(t, err)
	pub := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub)))
	armored, err := sshsig.Sign(priv, sshsig.Namespace, bytes.NewReader(manifest))
	require.NoError(t, err)
	sig, err := sshsig.Parse(armored)
	require.NoError(t, err)
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

	cases := []struct {
		name, line string
		ok         bool
	}{
		{"plain", `a@x ` + pub, true},
		{"namespaces match", `a@x namespaces="git,modelvault-*" ` + pub, true},
		{"namespaces miss", `a@x namespaces="git,file" ` + pub, false},
		{"namespaces negated", `a@x namespaces="*,!modelvault-package" ` + pub, false},
		{"valid window", `a@x valid-after="20260101Z",valid-before="20270101Z" ` + pub, true},
		{"expired", `a@x valid-before="20260501Z" ` + pub, false},
		{"not yet valid", `a@x valid-after="202606011300Z" ` + pub, false},
		{"cert-authority never matches a plain key", `a@x cert-authority ` + pub, false},
		{"quoted principals", `"a@x,b@x" ` + pub, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := policy(t, "# comment\n\n"+c.line+"\n").Verify(sig, bytes.NewReader(manifest), sshsig.Namespace, at)
			if c.ok {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, sshsig.ErrUntrustedSigner)
			}
		})
	}
	as := policy(t, `a@x,*@release.example `+pub+"\n")
	assert.NoError(t, as.VerifyIdentity(sig, bytes.NewReader(manifest), sshsig.Namespace, "ci@release.example", at))
	assert.ErrorIs(t, as.VerifyIdentity(sig, bytes.NewReader(manifest), sshsig.Namespace, "b@x", at), sshsig.ErrUntrustedSigner)
}

func TestSignersAndParseErrors(t *testing.T) {
	ek, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	for _, k := range []any{ek, rk} {
		armored, err := sshsig.Sign(k, sshsig.Namespace, bytes.NewReader(manifest))
		require.NoError(t, err)
		sig, err := sshsig.Parse(armored)
		require.NoError(t, err)
		require.NoError(t, sig.Verify(bytes.NewReader(manifest), sshsig.Namespace))
		assert.True(t, strings.HasPrefix(sig.Fingerprint(), "SHA256:"))
	}
	_, err = sshsig.Sign("not a key", sshsig.Namespace, bytes.NewReader(manifest))
	assert.Error(t, err)

	for _, bad := range []string{
		"",
		"-----BEGIN SSH SIGNATURE-----\n!!!\n-----END SSH SIGNATURE-----\n",
		"-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n",
		strings.Repeat("x", 70<<10),
	} {
		_, err := sshsig.Parse([]byte(bad))
		assert.True(t, errors.Is(err, sshsig.ErrMalformed), "%q: %v", bad[:min(len(bad), 40)], err)
	}
	for _, bad := range []string{"a@x", "a@x ssh-ed25519 !!", `a@x bogus="1" ssh-ed25519 AAAA`, `a@x valid-after="2026" ssh-ed25519 AAAA`} {
		_, err := sshsig.ParseAllowedSigners(strings.NewReader(bad))
		assert.ErrorIs(t, err, sshsig.ErrInvalidPolicy, bad)
	}
}
