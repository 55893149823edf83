package registryhttp

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/internal/spoolfile"
)

// A staged package is an open spool file with no name (on Unix), so a
// killed server leaves nothing; closing the handler while a confirmation
// reads it leaves the file open, its bytes counted, until that
// confirmation ends.
func TestStagedSpoolLifetime(t *testing.T) {
	dir := t.TempDir()
	gate := &spoolGate{maxUploads: 1, maxBytes: 1 << 20}
	st := &stager{entries: map[string]*staged{}, expired: map[string]time.Time{}, ttl: time.Hour, max: 2, gate: gate}
	sp, err := spoolfile.Create(dir, spoolPattern)
	require.NoError(t, err)
	_, err = sp.WriteString("package bytes")
	require.NoError(t, err)
	if runtime.GOOS != "windows" {
		left, err := filepath.Glob(filepath.Join(dir, "*"))
		require.NoError(t, err)
		assert.Empty(t, left, "the spool is unlinked at once")
	}
	require.True(t, gate.acquire(13))
	gate.releaseUpload(13, 13) // the staged package keeps its bytes
	s := &staged{spool: sp, name: "model_1.0_deployment.zip", size: 13, actor: "a"}
	tok := st.add(s)

	got, err := st.take(tok, "a")
	require.NoError(t, err)
	st.closeAll() // Handler.Close while the confirmation reads the spool
	buf := make([]byte, 7)
	_, err = got.spool.ReadAt(buf, 0)
	require.NoError(t, err, "the spool stays open for the confirmation")
	assert.Equal(t, "package", string(buf))
	assert.EqualValues(t, 13, gate.bytes, "its bytes stay counted while its file is open")

	st.done(tok, got, false)
	_, err = got.spool.ReadAt(buf, 0)
	assert.ErrorIs(t, err, os.ErrClosed, "closed once the confirmation ends")
	assert.Zero(t, gate.bytes, "and its bytes released with it")
}
