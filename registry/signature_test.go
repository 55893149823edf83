package registry_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/modelpkg/sshsig"
	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/validate"
)

// signedZip returns a package of version whose manifest key signed.
func signedZip(t *testing.T, version string, key ed25519.PrivateKey) []byte {
	t.Helper()
	data := zipOf(t, pkgFiles(version, ""))
	if key == nil {
		return data
	}
	var out bytes.Buffer
	_, err := sshsig.SignPackage(context.Background(), &out, bytes.NewReader(data), int64(len(data)), sshsig.KeySigner(key))
	require.NoError(t, err)
	return out.Bytes()
}

// TestSignedPackages runs a registry with a trust policy: only packages
// signed by a trusted key are imported, the signer is recorded with the
// version and in its import event, and Deploy and Live re-verify the
// signature against the policy at their own time.
func TestSignedPackages(t *testing.T) {
	ctx := context.Background()
	trusted := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32))
	untrusted := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, 32))
	pub, err := ssh.NewPublicKey(trusted.Public())
	require.NoError(t, err)
	policy, err := sshsig.ParseAllowedSigners(strings.NewReader(
		`release@example.com valid-before="20270101Z" ` + string(ssh.MarshalAuthorizedKey(pub))))
	require.NoError(t, err)

	var mu sync.Mutex
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	store := memStore()
	reg := openReg(t, store, &registry.Options{Signers: policy, Now: clock})

	imp := func(version string, key ed25519.PrivateKey, opts *registry.ImportOptions) (*registry.Version, error) {
		return reg.Import(ctx, modelpkg.FileName(version), bytes.NewReader(signedZip(t, version, key)), opts)
	}
	_, err = imp("0.1", nil, nil)
	assert.ErrorIs(t, err, validate.ErrUnsigned)
	_, err = imp("0.2", untrusted, nil)
	assert.ErrorIs(t, err, validate.ErrUntrustedSigner)
	_, err = imp("0.3", nil, &registry.ImportOptions{SkipValidation: true})
	assert.ErrorIs(t, err, validate.ErrUnsigned, "skipping validation does not skip the trust policy")

	v1, err := imp("1.0", trusted, nil)
	require.NoError(t, err)
	require.NotNil(t, v1.Signer)
	assert.Equal(t, "release@example.com", v1.Signer.Principal)
	assert.True(t, v1.Signer.Trusted)
	events, err := reg.History(ctx, nil)
	require.NoError(t, err)
	var recorded *validate.Signer
	for _, e := range events {
		if e.Type == registry.EventImported && e.Version == "1.0" {
			recorded = e.Record.Signer
		}
	}
	assert.Equal(t, v1.Signer, recorded, "the import event records the signer")
	_, err = imp("2.0", trusted, nil)
	require.NoError(t, err)

	_, err = reg.Deploy(ctx, "1.0", nil)
	require.NoError(t, err)
	live, err := registry.NewLive(ctx, reg, testLoader(nil, nil, nil), nil)
	require.NoError(t, err)
	require.NoError(t, live.Close())

	// The key expires: nothing it signed is deployed or loaded any more.
	mu.Lock()
	now = time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC)
	mu.Unlock()
	_, err = reg.Deploy(ctx, "2.0", nil)
	assert.ErrorIs(t, err, validate.ErrUntrustedSigner)
	_, err = registry.NewLive(ctx, reg, testLoader(nil, nil, nil), nil)
	assert.ErrorIs(t, err, validate.ErrUntrustedSigner)
}
