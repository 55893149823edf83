package validate_test

import (
	"bytes"
	"crypto/ed25519"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/modelvault/modelvault/internal/pkgtest"
	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/modelpkg/sshsig"
	"github.com/modelvault/modelvault/validate"
)

func testKey(seed byte) (ed25519.PrivateKey, string) {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, 32))
	pub, _ := ssh.NewPublicKey(priv.Public())
	return priv, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
}

// signedFiles returns a package's files with the manifest signed by sign.
func signedFiles(t *testing.T, version string, sign sshsig.SignFunc) fstest.MapFS {
	files := pkgtest.Files(version)
	sig, err := sign(files[modelpkg.DefaultManifestFile].Data)
	require.NoError(t, err)
	files[sshsig.SignatureFile] = &fstest.MapFile{Data: sig, Mode: 0o644}
	return files
}

func withPolicy(t *testing.T, lines string) validate.Validator {
	as, err := sshsig.ParseAllowedSigners(strings.NewReader(lines))
	require.NoError(t, err)
	return validate.Standard(&validate.Options{Signature: &validate.SignatureOptions{
		Policy: as,
		Now:    func() time.Time { return time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) },
	}})
}

func TestSignature(t *testing.T) {
	key, pub := testKey(1)
	_, otherPub := testKey(2)
	signed := func() fstest.MapFS { return signedFiles(t, "1.0", sshsig.KeySigner(key)) }

	t.Run("no policy, signed: verified and reported", func(t *testing.T) {
		r := run(validate.Default(nil), signed(), "1.0")
		require.Empty(t, codes(r))
		require.NotNil(t, r.Signer)
		assert.False(t, r.Signer.Trusted)
		assert.True(t, strings.HasPrefix(r.Signer.Fingerprint, "SHA256:"))
	})
	t.Run("no policy, unsigned: fine", func(t *testing.T) {
		r := run(validate.Default(nil), pkgtest.Files("1.0"), "1.0")
		assert.Empty(t, codes(r))
		assert.Nil(t, r.Signer)
	})
	t.Run("policy, trusted", func(t *testing.T) {
		r := run(withPolicy(t, "release@example.com "+pub), signed(), "1.0")
		require.Empty(t, codes(r))
		assert.Equal(t, &validate.Signer{Principal: "release@example.com", Fingerprint: r.Signer.Fingerprint, Trusted: true}, r.Signer)
	})
	cases := []struct {
		name   string
		policy string
		files  func() fstest.MapFS
		want   []string
	}{
		{"unsigned", "a@x " + pub, func() fstest.MapFS { return pkgtest.Files("1.0") },
			[]string{"error:unsigned:deployment_manifest.json.sig"}},
		{"untrusted key", "a@x " + otherPub, signed,
			[]string{"error:untrusted_signer:deployment_manifest.json.sig"}},
		{"expired", `a@x valid-before="20260101Z" ` + pub, signed,
			[]string{"error:untrusted_signer:deployment_manifest.json.sig"}},
		{"wrong namespace in policy", `a@x namespaces="git" ` + pub, signed,
			[]string{"error:untrusted_signer:deployment_manifest.json.sig"}},
		{"signed for another namespace", "a@x " + pub, func() fstest.MapFS {
			return signedFiles(t, "1.0", func(m []byte) ([]byte, error) { return sshsig.Sign(key, "git", bytes.NewReader(m)) })
		}, []string{"error:bad_signature:deployment_manifest.json.sig"}},
		{"modified manifest", "a@x " + pub, func() fstest.MapFS {
			f := signed()
			f[modelpkg.DefaultManifestFile].Data = append(f[modelpkg.DefaultManifestFile].Data, ' ')
			return f
		}, []string{"error:bad_signature:deployment_manifest.json.sig"}},
		{"modified file", "a@x " + pub, func() fstest.MapFS {
			f := signed()
			f["README.md"].Data = []byte("changed\n")
			return f
		}, []string{"error:hash_mismatch:README.md"}},
		{"signature of another package", "a@x " + pub, func() fstest.MapFS {
			f := signed()
			f[sshsig.SignatureFile] = signedFiles(t, "2.0", sshsig.KeySigner(key))[sshsig.SignatureFile]
			return f
		}, []string{"error:bad_signature:deployment_manifest.json.sig"}},
		{"garbage signature", "a@x " + pub, func() fstest.MapFS {
			f := signed()
			f[sshsig.SignatureFile].Data = []byte("not a signature")
			return f
		}, []string{"error:bad_signature:deployment_manifest.json.sig"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := run(withPolicy(t, c.policy), c.files(), "1.0")
			assert.Equal(t, c.want, codes(r))
			if c.name != "modified file" { // the manifest's signature is good; a file is not
				assert.Nil(t, r.Signer)
			}
		})
	}
}

// TestSignatureByKeygen signs a built package with OpenSSH's ssh-keygen
// and with SignPackage, and checks both through the zip reader and the
// default validators.
func TestSignatureByKeygen(t *testing.T) {
	kg := pkgtest.SSHKeygen(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "id")
	out, err := exec.Command(kg, "-q", "-t", "ed25519", "-N", "", "-f", keyFile).CombinedOutput()
	require.NoError(t, err, string(out))
	pub, err := os.ReadFile(keyFile + ".pub")
	require.NoError(t, err)

	keygenSign := func(manifest []byte) ([]byte, error) {
		m := filepath.Join(t.TempDir(), "manifest")
		if err := os.WriteFile(m, manifest, 0o600); err != nil {
			return nil, err
		}
		if out, err := exec.Command(kg, "-Y", "sign", "-f", keyFile, "-n", sshsig.Namespace, m).CombinedOutput(); err != nil {
			return nil, &exec.Error{Name: string(out), Err: err}
		}
		return os.ReadFile(m + ".sig")
	}
	zipped := pkgtest.Zip(t, pkgtest.Files("1.0"))
	var signedZip bytes.Buffer
	_, err = sshsig.SignPackage(ctx, &signedZip, bytes.NewReader(zipped), int64(len(zipped)), keygenSign)
	require.NoError(t, err)

	pkg, err := modelpkg.Open(bytes.NewReader(signedZip.Bytes()), int64(signedZip.Len()), nil)
	require.NoError(t, err)
	as, err := sshsig.ParseAllowedSigners(strings.NewReader("ci@example.com " + string(pub)))
	require.NoError(t, err)
	var r validate.Report
	validate.Standard(&validate.Options{Signature: &validate.SignatureOptions{Policy: as}}).
		Validate(ctx, &validate.Package{FS: pkg, Version: "1.0"}, &r)
	require.Empty(t, codes(&r))
	assert.Equal(t, "ci@example.com", r.Signer.Principal)

	// Extraction accepts the unlisted signature file like the manifest.
	dest, err := modelpkg.OpenDirDestination(filepath.Join(dir, "out"), nil)
	require.NoError(t, err)
	_, err = pkg.Extract(ctx, dest, nil)
	require.NoError(t, err)
}
