package sklearn

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

// TestFixedSizes pins the fixed part of a loaded model, which dominates
// the memory of small models (BenchmarkLoadedMemory measures the whole):
// a Model is four words, a linear regressor five (the 48-byte size
// class), a linear classifier eight (64 bytes).
func TestFixedSizes(t *testing.T) {
	assert.LessOrEqual(t, unsafe.Sizeof(Model{}), uintptr(32))
	assert.LessOrEqual(t, unsafe.Sizeof(linearRegressor{}), uintptr(48))
	assert.LessOrEqual(t, unsafe.Sizeof(linearClassifier{}), uintptr(64))
	assert.LessOrEqual(t, unsafe.Sizeof(linearClassifierProba{}), uintptr(64))
	assert.LessOrEqual(t, len(supported), 256, "a class is a byte")
	for i, name := range supported {
		c, ok := classOf(name)
		assert.True(t, ok, name)
		assert.Equal(t, class(i), c)
		assert.Equal(t, name, c.String())
	}
	_, ok := classOf("NotAnEstimator")
	assert.False(t, ok)
}
