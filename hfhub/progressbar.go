package hfhub

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"
)

// progressMin is the size from which a download shows progress.
var progressMin int64 = 10 << 20

// progressBar reports a download's progress: a self-rewriting line on a
// terminal, else a line every few seconds.
type progressBar struct {
	out               io.Writer
	what              string
	total, done, from int64
	start, last       time.Time
	tty               bool
}

// newProgressBar starts reporting a download of total bytes that resumes
// at byte from.
func newProgressBar(out io.Writer, what string, total, from int64) *progressBar {
	p := &progressBar{out: out, what: what, total: total, done: from, from: from, start: time.Now()}
	if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
	}
	if from > 0 {
		fmt.Fprintf(out, "downloading %s (%s, resuming at %s)\n", what, mb(total), mb(from))
	} else {
		fmt.Fprintf(out, "downloading %s (%s)\n", what, mb(total))
	}
	p.last = p.start
	return p
}

func (p *progressBar) Write(b []byte) (int, error) {
	p.done += int64(len(b))
	every := 5 * time.Second
	if p.tty {
		every = 200 * time.Millisecond
	}
	if now := time.Now(); now.Sub(p.last) >= every || p.done == p.total {
		p.last = now
		p.print()
	}
	return len(b), nil
}

func (p *progressBar) print() {
	rate := float64(p.done-p.from) / max(time.Since(p.start).Seconds(), 1e-3)
	line := fmt.Sprintf("  %s: %s / %s (%.0f%%), %s/s", p.what, mb(p.done), mb(p.total), 100*float64(p.done)/float64(max(p.total, 1)), mb(int64(rate)))
	if p.tty {
		fmt.Fprintf(p.out, "\r%s\x1b[K", line)
	} else {
		fmt.Fprintln(p.out, line)
	}
}

func (p *progressBar) finish() {
	if p.tty {
		fmt.Fprintln(p.out)
	}
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
