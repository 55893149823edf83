package registryhttp

import (
	"bytes"
	"io"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fileLike records its writes and, like *os.File, offers ReadFrom.
type fileLike struct {
	writes   []int
	readFrom int
	buf      bytes.Buffer
}

func (f *fileLike) Write(p []byte) (int, error) {
	f.writes = append(f.writes, len(p))
	return f.buf.Write(p)
}

func (f *fileLike) ReadFrom(r io.Reader) (int64, error) {
	f.readFrom++
	return io.Copy(struct{ io.Writer }{f}, r) // writes each Read's bytes, as os.File's fallback does
}

// An upload is spooled in uploadBufferSize writes, even though the part
// yields 4 KiB per Read and the spool file offers ReadFrom.
func TestSpoolWriterWritesLargeChunks(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 3*uploadBufferSize/16+100)
	var f fileLike
	w := spoolWriter(&f)
	n, err := io.Copy(w, &chunkReader{r: bytes.NewReader(data), max: 4096})
	require.NoError(t, err)
	require.NoError(t, w.Flush())
	assert.Equal(t, int64(len(data)), n)
	assert.Equal(t, data, f.buf.Bytes())
	assert.Zero(t, f.readFrom, "the file's ReadFrom is bypassed")
	require.Len(t, f.writes, 4, "three full buffers and the rest")
	for _, w := range f.writes[:3] {
		assert.Equal(t, uploadBufferSize, w)
	}
	require.NoError(t, iotest.TestReader(bytes.NewReader(f.buf.Bytes()), data))
}

// chunkReader returns at most max bytes per Read, as a multipart part does.
type chunkReader struct {
	r   io.Reader
	max int
}

func (c *chunkReader) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), c.max)]) }
