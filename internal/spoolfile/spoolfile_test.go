package spoolfile_test

import (
	"os"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/internal/spoolfile"
)

func TestCreate(t *testing.T) {
	dir := t.TempDir()
	f, err := spoolfile.Create(dir, "spool-*.zip")
	require.NoError(t, err)
	_, err = f.WriteString("bytes")
	require.NoError(t, err)
	buf := make([]byte, 5)
	_, err = f.ReadAt(buf, 0)
	require.NoError(t, err)
	assert.Equal(t, "bytes", string(buf))

	left, err := os.ReadDir(dir)
	require.NoError(t, err)
	if runtime.GOOS == "windows" {
		assert.True(t, f.Named())
		assert.Len(t, left, 1)
	} else {
		assert.False(t, f.Named())
		assert.Empty(t, left, "a spool file has no name while open: a killed process leaves nothing")
	}
	require.NoError(t, f.Close())
	left, err = os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, left, "nothing is left after Close")
}
