package progress

import (
	"fmt"
	"io"
	"time"
)

// Bytes reports the progress of a transfer of Total bytes (a download)
// written through it: a self-rewriting line on a terminal, else a line
// every few seconds.
type Bytes struct {
	out               io.Writer
	what              string
	total, done, from int64
	start, last       time.Time
	tty               bool
}

// NewBytes announces the transfer of total bytes of what on out, resuming
// at byte from (0: from the start), and returns its reporter; write the
// bytes to it as they arrive.
func NewBytes(out io.Writer, what string, total, from int64) *Bytes {
	p := &Bytes{out: out, what: what, total: total, done: from, from: from, start: time.Now(), tty: isTerminal(out)}
	if from > 0 {
		fmt.Fprintf(out, "downloading %s (%s, resuming at %s)\n", what, mb(total), mb(from))
	} else {
		fmt.Fprintf(out, "downloading %s (%s)\n", what, mb(total))
	}
	p.last = p.start
	return p
}

// Write counts b and never fails.
func (p *Bytes) Write(b []byte) (int, error) {
	p.done += int64(len(b))
	every := 5 * time.Second
	if p.tty {
		every = 200 * time.Millisecond
	}
	if now := time.Now(); now.Sub(p.last) >= every {
		p.last = now
		p.print()
	}
	return len(b), nil
}

func (p *Bytes) print() {
	rate := float64(p.done-p.from) / max(time.Since(p.start).Seconds(), 1e-3)
	line := fmt.Sprintf("  %s: %s / %s (%.0f%%), %s/s", p.what, mb(p.done), mb(p.total), 100*float64(p.done)/float64(max(p.total, 1)), mb(int64(rate)))
	if p.tty {
		fmt.Fprintf(p.out, "\r%s\x1b[K", line)
	} else {
		fmt.Fprintln(p.out, line)
	}
}

// Finish ends the report; ok says the transfer completed, and shows its
// final count.
func (p *Bytes) Finish(ok bool) {
	if ok {
		p.print()
	}
	if p.tty {
		fmt.Fprintln(p.out)
	}
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
