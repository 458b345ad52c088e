package progress

import (
	"fmt"
	"io"
	"time"
)

// Runs counts the runs of a sequence of long runs (a reproduction) and
// estimates the time left: the mean wall time of the runs trained so far
// times the runs still to train. A cached run (finished by an earlier
// invocation) is counted but takes no time.
type Runs struct {
	log       io.Writer
	total     int  // runs planned
	estimated bool // total rests on predicted figures
	started   int  // runs begun
	pending   int  // runs planned, not cached and not yet finished
	trained   int
	spent     time.Duration
}

// NewRuns returns a counter that logs to log and has planned no run.
func NewRuns(log io.Writer) *Runs { return &Runs{log: log} }

// Plan sets the runs still to come: left runs not yet begun, toTrain of
// them not cached (the runs begun so far stay counted). estimated marks a
// total that may change, shown as "~N".
func (r *Runs) Plan(left, toTrain int, estimated bool) {
	r.total, r.pending, r.estimated = r.started+left, toTrain, estimated
}

// Begin logs "== what (run i of N, ETA …)".
func (r *Runs) Begin(what string, cached bool) {
	r.started++
	approx := ""
	if r.estimated {
		approx = "~"
	}
	fmt.Fprintf(r.log, "== %s (run %d of %s%d, %s)\n", what, r.started, approx, max(r.total, r.started), r.eta(cached))
}

// End records a finished run that took d.
func (r *Runs) End(cached bool, d time.Duration) {
	if cached {
		return
	}
	r.trained++
	r.spent += d
	r.pending = max(0, r.pending-1)
}

func (r *Runs) eta(cached bool) string {
	switch {
	case r.pending == 0:
		return "nothing left to train"
	case r.trained == 0 && cached:
		return fmt.Sprintf("cached; %d to train", r.pending)
	case r.trained == 0:
		return fmt.Sprintf("%d to train, ETA after the first", r.pending)
	}
	return fmt.Sprintf("%d to train, ETA %s", r.pending, RoundETA(timeLeft(r.spent, r.trained, r.pending)))
}

// timeLeft extrapolates: spent over done units, times left units.
func timeLeft(spent time.Duration, done, left int) time.Duration {
	return time.Duration(float64(spent) / float64(done) * float64(left))
}

// RoundETA rounds d to what is worth reading: seconds under ten minutes,
// then minutes.
func RoundETA(d time.Duration) time.Duration {
	if d < 10*time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(time.Minute)
}
