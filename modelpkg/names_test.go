package modelpkg_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/modelpkg"
)

func TestParseFileName(t *testing.T) {
	good := map[string]string{
		"model_1.2_deployment.zip":                              "1.2",
		"model_1.2.3-rc.1+b5_deployment.zip":                    "1.2.3-rc.1+b5",
		"model_v2_deployment.zip":                               "v2",
		"model_a_b_deployment.zip":                              "a_b",
		"model_x_deployment_deployment.zip":                     "x_deployment",
		"model_" + strings.Repeat("9", 128) + "_deployment.zip": strings.Repeat("9", 128),
	}
	for name, want := range good {
		t.Run(name, func(t *testing.T) {
			v, err := modelpkg.ParseFileName(name)
			require.NoError(t, err)
			assert.Equal(t, want, v)
			assert.Equal(t, name, modelpkg.FileName(v))
		})
	}
	bad := []string{
		"", "model__deployment.zip", "model_.._deployment.zip", "model_._deployment.zip",
		"model_-1_deployment.zip", "model_1.2_deployment.ZIP", "Model_1.2_deployment.zip",
		"model_1.2_deployment.zip.bak", "dir/model_1.2_deployment.zip", `dir\model_1.2_deployment.zip`,
		"model_1 2_deployment.zip", "model_1/2_deployment.zip", "model_é_deployment.zip",
		"model_" + strings.Repeat("9", 129) + "_deployment.zip", "model_1.2.zip",
	}
	for _, name := range bad {
		t.Run("reject "+name, func(t *testing.T) {
			_, err := modelpkg.ParseFileName(name)
			require.ErrorIs(t, err, modelpkg.ErrInvalidName)
			assert.Contains(t, err.Error(), "model_{version}_deployment.zip")
			assert.Equal(t, "invalid_name", modelpkg.Code(err))
		})
	}
}

func TestDirName(t *testing.T) {
	assert.Equal(t, "model_1.2", modelpkg.DirName("1.2"))
	v, err := modelpkg.ParseDirName("model_1.2")
	require.NoError(t, err)
	assert.Equal(t, "1.2", v)
	for _, bad := range []string{"model_", "model_..", "1.2", "model_1/2", "model_1.2_deployment.zip/x"} {
		_, err := modelpkg.ParseDirName(bad)
		assert.ErrorIs(t, err, modelpkg.ErrInvalidName, bad)
	}
}

func TestValidateVersion(t *testing.T) {
	for _, v := range []string{"1", "1.2.3", "2024-05-01", "v1+x", "a_b"} {
		assert.NoError(t, modelpkg.ValidateVersion(v), v)
	}
	for _, v := range []string{"", ".", "..", ".1", "-1", "_1", "1 2", "1/2", "1\\2", "1:2", strings.Repeat("1", 129)} {
		assert.ErrorIs(t, modelpkg.ValidateVersion(v), modelpkg.ErrInvalidName, v)
	}
}

func TestCompareVersions(t *testing.T) {
	vs := []string{"latest", "1.10.0", "1.2", "1.2.0", "1.9.0", "2.0.0-rc.1", "2.0.0", "v1.3", "2024-01-01", "alpha"}
	slices.SortFunc(vs, modelpkg.CompareVersions)
	assert.Equal(t, []string{"1.2", "1.2.0", "v1.3", "1.9.0", "1.10.0", "2.0.0-rc.1", "2.0.0", "2024-01-01", "alpha", "latest"}, vs)
	assert.Equal(t, 0, modelpkg.CompareVersions("1.2", "1.2"))
	assert.Equal(t, -1, modelpkg.CompareVersions("1.2", "1.10"))
	assert.Equal(t, 1, modelpkg.CompareVersions("b", "a"))
	// Antisymmetric and transitive over a mixed set.
	all := []string{"1", "1.0", "1.0.0", "1.0.0+b", "v1", "x", "1.0.0-a", "10", "9", "a.b", "0.0.1"}
	for _, a := range all {
		for _, b := range all {
			assert.Equal(t, -modelpkg.CompareVersions(b, a), modelpkg.CompareVersions(a, b), "%s %s", a, b)
			for _, c := range all {
				if modelpkg.CompareVersions(a, b) < 0 && modelpkg.CompareVersions(b, c) < 0 {
					assert.Negative(t, modelpkg.CompareVersions(a, c), "%s < %s < %s", a, b, c)
				}
			}
		}
	}
}

// TestNameErrorsAreCut: a hostile name (a 1 MB upload file name, an
// escape sequence in a URL) is quoted escaped and cut in the error, which
// the HTTP API returns and hosts log.
func TestNameErrorsAreCut(t *testing.T) {
	huge := strings.Repeat("9", 1<<20)
	for name, err := range map[string]error{
		"version":   modelpkg.ValidateVersion(huge),
		"bad char":  modelpkg.ValidateVersion("1\x1b[2J" + huge),
		"file name": func() error { _, err := modelpkg.ParseFileName("model_" + huge + "\x1b[2J_deployment.zip"); return err }(),
		"path":      func() error { _, err := modelpkg.ParseFileName("../" + huge); return err }(),
		"dir name":  func() error { _, err := modelpkg.ParseDirName("model_\u202e" + huge); return err }(),
	} {
		require.ErrorIs(t, err, modelpkg.ErrInvalidName, name)
		assert.Less(t, len(err.Error()), 300, name)
		assert.NotContains(t, err.Error(), "\x1b", name)
		assert.NotContains(t, err.Error(), "\u202e", name)
	}
}
