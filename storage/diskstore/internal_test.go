package diskstore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/storage"
)

// A temporary name that cannot be removed after the link published the
// object does not turn a stored object into a failed put.
func TestTempRemovalFailureAfterLinkIsNotAFailedPut(t *testing.T) {
	ctx := t.Context()
	s, err := Open(filepath.Join(t.TempDir(), "store"), nil)
	require.NoError(t, err)
	defer s.Close()
	var left []string
	s.d.removeHook = func(tmp string) { left = append(left, tmp) } // the removal "fails"

	require.NoError(t, storage.WriteAll(ctx, s, "m/k", []byte("stored"), &storage.PutOptions{IfNotExist: true}))
	got, err := storage.ReadAll(ctx, s, "m/k")
	require.NoError(t, err)
	require.Equal(t, "stored", string(got))
	require.Len(t, left, 1)
	require.True(t, strings.HasPrefix(filepath.Base(left[0]), storage.ReservedPrefix))

	// The leftover is invisible, and Clean removes it once old.
	var keys []string
	for o, err := range storage.All(ctx, s, nil) {
		require.NoError(t, err)
		keys = append(keys, o.Key)
	}
	require.Equal(t, []string{"m/k"}, keys)
	_, err = os.Stat(filepath.Join(s.Dir(), filepath.FromSlash(left[0])))
	require.NoError(t, err)
	n, err := s.Clean(ctx, -1)
	require.NoError(t, err)
	require.Equal(t, 1, n)
}
