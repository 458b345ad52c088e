package main

import (
	"context"
	"io"
)

// interruptible returns a reader of r whose Read returns ctx's error once
// ctx is cancelled, even while r is blocked (a read of a terminal or pipe
// cannot be cancelled otherwise). r is read by a goroutine that stays
// blocked until r returns; by then the process is on its way out.
func interruptible(ctx context.Context, r io.Reader) io.Reader {
	return &ctxReader{ctx: ctx, r: r}
}

type ctxReader struct {
	ctx    context.Context
	r      io.Reader
	chunks chan chunk
	buf    []byte
	err    error
}

type chunk struct {
	b   []byte
	err error
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if len(c.buf) == 0 && c.err == nil {
		if c.chunks == nil {
			c.chunks = make(chan chunk, 1)
			go c.pump()
		}
		select {
		case <-c.ctx.Done():
			return 0, c.ctx.Err()
		case ch := <-c.chunks:
			c.buf, c.err = ch.b, ch.err
		}
	}
	if len(c.buf) > 0 {
		n := copy(p, c.buf)
		c.buf = c.buf[n:]
		return n, nil
	}
	return 0, c.err
}

// pump reads r into chunks until an error (io.EOF included).
func (c *ctxReader) pump() {
	for {
		b := make([]byte, 64<<10)
		n, err := c.r.Read(b)
		c.chunks <- chunk{b[:n], err}
		if err != nil {
			return
		}
	}
}
