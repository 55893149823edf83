package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/internal/pkgtest"
)

// TestSignAndVerify signs a packed package with a key made by ssh-keygen
// and checks it against an allowed_signers policy, then tampers with it.
func TestSignAndVerify(t *testing.T) {
	kg := pkgtest.SSHKeygen(t)
	dir := t.TempDir()
	key := filepath.Join(dir, "id_ed25519")
	out, err := exec.Command(kg, "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput()
	require.NoError(t, err, string(out))
	pub, err := os.ReadFile(key + ".pub")
	require.NoError(t, err)
	allowed := filepath.Join(dir, "allowed_signers")
	require.NoError(t, os.WriteFile(allowed, append([]byte("release@example.com "), pub...), 0o600))
	other := filepath.Join(dir, "other_signers")
	require.NoError(t, os.WriteFile(other, []byte("x@y ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPd2yCbVO8m7H7ZC0G6Jxh0T7c7pJqv9p9+O1pR2bB0z\n"), 0o600))

	pkg := packVersion(t, "1.0")
	// Unsigned: rejected by verify with or without a policy.
	res := ctlJSON(t, 1, "--json", "verify", pkg, "--allowed-signers", allowed)
	assert.Equal(t, "unsigned", res["findings"].([]any)[0].(map[string]any)["code"])

	ctlJSON(t, 0, "--json", "sign", pkg, "--key", key)
	res = ctlJSON(t, 0, "--json", "verify", pkg, "--allowed-signers", allowed)
	assert.Equal(t, "release@example.com", res["signer"].(map[string]any)["principal"])
	ctlJSON(t, 0, "--json", "verify", pkg)
	ctlJSON(t, 0, "--json", "inspect", pkg) // the signature file is not "unlisted"

	res = ctlJSON(t, 1, "--json", "verify", pkg, "--allowed-signers", other)
	assert.Equal(t, "untrusted_signer", res["findings"].([]any)[0].(map[string]any)["code"])

	// -o writes a signed copy and leaves the input alone.
	copyPath := filepath.Join(dir, "model_1.0_deployment.zip")
	code, _, stderr := ctl(t, "sign", pkg, "--key", key, "-o", copyPath)
	require.Equal(t, 0, code, stderr)
	ctlJSON(t, 0, "--json", "verify", copyPath, "--allowed-signers", allowed)

	// A registry with the policy refuses an unsigned package and records
	// the signer of a signed one.
	store := filepath.Join(dir, "store")
	unsigned := packVersion(t, "2.0")
	res = ctlJSON(t, 1, "--store", store, "--allowed-signers", allowed, "import", unsigned)
	assert.Equal(t, "unsigned", res["error"].(map[string]any)["findings"].([]any)[0].(map[string]any)["code"])
	res = ctlJSON(t, 0, "--store", store, "--allowed-signers", allowed, "import", pkg)
	assert.Equal(t, "release@example.com", res["version"].(map[string]any)["signer"].(map[string]any)["principal"])
	code, listed, stderr := ctl(t, "--store", store, "list")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, listed, "release@example.com")
}
