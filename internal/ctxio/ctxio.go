// Package ctxio makes long copies stop when their context is done.
package ctxio

import (
	"context"
	"io"
)

// Reader returns a reader that reads from r until ctx is done, and then
// fails every read with ctx's error. Use it as the source of io.Copy so a
// cancelled operation stops between reads.
func Reader(ctx context.Context, r io.Reader) io.Reader {
	return &reader{ctx: ctx, r: r}
}

type reader struct {
	ctx context.Context
	r   io.Reader
}

func (c *reader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
