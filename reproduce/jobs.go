package reproduce

import (
	"os"
	"path/filepath"

	"github.com/subtune/subtune/progress"
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

// plan tells prog the jobs still to come; estimated marks a count that
// rests on predicted trajectory lengths.
func plan(prog *progress.Runs, estimated bool, lists ...[]job) {
	n, toTrain := 0, 0
	for _, js := range lists {
		for _, j := range js {
			n++
			if !j.cached() {
				toTrain++
			}
		}
	}
	prog.Plan(n, toTrain, estimated)
}
