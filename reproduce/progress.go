package reproduce

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// job is one run to do: a runSpec of a pipeline.
type job struct {
	p    *pipeline
	spec runSpec
}

func (j job) dir() string {
	if j.spec.dir != "" {
		return j.spec.dir
	}
	return j.p.runDir(j.spec.method)
}

// cached reports whether the run has finished before: its results file is
// there, so stage will read it rather than train.
func (j job) cached() bool {
	_, err := os.Stat(filepath.Join(j.dir(), runFile))
	return err == nil
}

// dedupe keeps the first job of each run directory: analyses reuse Table
// 1's runs, and capped sweep values coincide.
func dedupe(jobs []job) []job {
	seen := map[string]bool{}
	var out []job
	for _, j := range jobs {
		if !seen[j.dir()] {
			seen[j.dir()] = true
			out = append(out, j)
		}
	}
	return out
}

// progress counts the runs of a reproduction and estimates the time left:
// the mean wall time of the runs trained so far in this invocation times
// the runs still to train (cached runs take no time).
type progress struct {
	log       io.Writer
	total     int  // runs planned
	estimated bool // total rests on predicted trajectory lengths
	started   int  // runs begun
	pending   int  // runs planned, not cached and not yet finished
	trained   int
	spent     time.Duration
}

// plan sets the runs still to come: the jobs not yet begun (done ones, of
// an earlier plan, are kept in the count). estimated marks a total that may
// change once the trajectories are known.
func (pr *progress) plan(a, b []job, estimated bool) {
	pr.total, pr.pending = pr.started, 0
	for _, js := range [][]job{a, b} {
		for _, j := range js {
			pr.total++
			if !j.cached() {
				pr.pending++
			}
		}
	}
	pr.estimated = estimated
}

// begin logs "== what (run i of N, ETA …)".
func (pr *progress) begin(what string, cached bool) {
	pr.started++
	approx := ""
	if pr.estimated {
		approx = "~"
	}
	fmt.Fprintf(pr.log, "== %s (run %d of %s%d, %s)\n", what, pr.started, approx, max(pr.total, pr.started), pr.eta(cached))
}

// end records a finished run.
func (pr *progress) end(cached bool, d time.Duration) {
	if cached {
		return
	}
	pr.trained++
	pr.spent += d
	pr.pending = max(0, pr.pending-1)
}

func (pr *progress) eta(cached bool) string {
	switch {
	case pr.pending == 0:
		return "nothing left to train"
	case pr.trained == 0 && cached:
		return fmt.Sprintf("cached; %d to train", pr.pending)
	case pr.trained == 0:
		return fmt.Sprintf("%d to train, ETA after the first", pr.pending)
	}
	left := time.Duration(float64(pr.spent) / float64(pr.trained) * float64(pr.pending))
	return fmt.Sprintf("%d to train, ETA %s", pr.pending, roundETA(left))
}

// roundETA rounds d to what is worth reading: seconds under ten minutes,
// then minutes.
func roundETA(d time.Duration) time.Duration {
	if d < 10*time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(time.Minute)
}
