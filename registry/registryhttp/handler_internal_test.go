package registryhttp

import (
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/modelvault/modelvault/internal/httpguard"
)

// TestUnwrapReachesTheServersWriter: http.MaxBytesReader tells the
// server's own ResponseWriter that a body was cut off (so the server
// closes the connection only after the client has read the 413); it must
// get that writer, not the handler's wrappers, which hide the method.
func TestUnwrapReachesTheServersWriter(t *testing.T) {
	base := httptest.NewRecorder()
	h := &Handler{}
	w := h.observe(httpguard.NewWriter(base))
	assert.Same(t, base, httpguard.Root(w))
	assert.Same(t, base, httpguard.Root(base))
}
