package pickle

import (
	"bytes"
	"compress/bzip2"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// peerCorpora finds the public attack corpora of picklescan, modelscan
// and fickling: $MODELVAULT_PEER_CORPORA, or shared/peer-corpora next to
// the checkout (../shared for /work/main, ../../shared for a worktree).
func peerCorpora(t *testing.T) string {
	if d := os.Getenv("MODELVAULT_PEER_CORPORA"); d != "" {
		return d
	}
	for _, d := range []string{"../../../shared/peer-corpora", "../../../../shared/peer-corpora"} {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d
		}
	}
	t.Skip("peer corpora not found: set MODELVAULT_PEER_CORPORA")
	return ""
}

// TestPeerCorporaRejected: every file the peers label dangerous or dos
// is rejected as a model file (ScanAll, as validate scans it); benign
// files that are not scikit-learn models are rejected by policy too.
func TestPeerCorporaRejected(t *testing.T) {
	root := peerCorpora(t)
	counts := map[string][2]int{} // label: rejected, total
	for _, peer := range []string{"picklescan", "modelscan", "fickling"} {
		raw, err := os.ReadFile(filepath.Join(root, peer, "labels.json"))
		require.NoError(t, err)
		var labels []struct {
			File  string `json:"file"`
			Kind  string `json:"kind"`
			Label string `json:"label"`
			Bz2   bool   `json:"bz2"`
		}
		require.NoError(t, json.Unmarshal(raw, &labels))
		for _, l := range labels {
			if l.Kind != "pickle" {
				continue
			}
			data, err := os.ReadFile(filepath.Join(root, peer, l.File))
			require.NoError(t, err)
			if l.Bz2 {
				data, err = io.ReadAll(bzip2.NewReader(bytes.NewReader(data)))
				require.NoError(t, err)
			}
			_, err = ScanAll(context.Background(), openBytes(data), nil)
			c := counts[l.Label]
			c[1]++
			if err != nil {
				c[0]++
			}
			counts[l.Label] = c
			if l.Label == "dangerous" || l.Label == "dos" {
				assert.Error(t, err, "%s/%s (%s) accepted", peer, l.File, l.Label)
			}
			var e *Error
			if err != nil {
				assert.ErrorAs(t, err, &e, "%s/%s: not a *Error", peer, l.File)
			}
		}
	}
	for label, c := range counts {
		t.Logf("%s: %d of %d rejected", label, c[0], c[1])
	}
	require.NotZero(t, counts["dangerous"][1])
	assert.Equal(t, counts["dangerous"][0], counts["dangerous"][1])
}
