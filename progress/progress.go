package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Reporter shows the progress of a run of Total steps.
type Reporter struct {
	out      io.Writer
	total    int
	desc     string
	bar      *progressbar.ProgressBar
	start    time.Time
	startAt  int
	lastLine time.Time
	every    time.Duration
	examples int
}

// New returns a reporter for steps [start, total) writing to out. On a
// terminal it draws a bar; otherwise it writes a line at most every interval.
func New(out io.Writer, desc string, start, total int, interval time.Duration) *Reporter {
	r := &Reporter{out: out, total: total, desc: desc, start: time.Now(), startAt: start, every: interval}
	if isTerminal(out) {
		r.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(out),
			progressbar.OptionSetDescription(desc),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
		_ = r.bar.Set(start)
	}
	return r
}

// Update records that step (1-based count of finished steps) is done,
// that examples more examples were processed, and shows fields such as
// "loss=0.6931".
func (r *Reporter) Update(step, examples int, fields ...string) {
	r.examples += examples
	elapsed := time.Since(r.start)
	rate := float64(r.examples) / elapsed.Seconds()
	done := step - r.startAt
	var eta time.Duration
	if done > 0 {
		eta = timeLeft(elapsed, done, r.total-step)
	}
	info := fmt.Sprintf("%s %.1f ex/s ETA %s", strings.Join(fields, " "), rate, eta.Round(time.Second))
	if r.bar != nil {
		r.bar.Describe(r.desc + " " + info)
		_ = r.bar.Set(step)
		return
	}
	if time.Since(r.lastLine) >= r.every || step == r.total {
		r.lastLine = time.Now()
		fmt.Fprintf(r.out, "%s step %d/%d %s\n", r.desc, step, r.total, info)
	}
}

// Println prints a line without breaking the bar.
func (r *Reporter) Println(format string, args ...any) {
	if r.bar != nil {
		_ = r.bar.Clear()
	}
	fmt.Fprintf(r.out, format+"\n", args...)
}

// Finish ends the bar.
func (r *Reporter) Finish() {
	if r.bar != nil {
		_ = r.bar.Finish()
		fmt.Fprintln(r.out)
	}
}

// isTerminal reports whether out is a terminal, where a report may rewrite
// its line; elsewhere (a file, a pipe, a CI log) it writes whole lines.
func isTerminal(out io.Writer) bool {
	f, ok := out.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
