package reproduce

import (
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/subtune/subtune/atomicfile"
	"github.com/subtune/subtune/report"
	"github.com/subtune/subtune/trainer"
)

// fillMetrics copies a run's dev metrics into run, with its main metric as
// the score (NaN if the run did not report it).
func fillMetrics(run *report.Run, eval trainer.Metrics) {
	run.Metrics = map[string]float64{}
	for k, v := range eval {
		run.Metrics[k] = v
	}
	run.Score = math.NaN()
	if v, ok := eval["eval_"+run.Metric]; ok {
		run.Score = v
	}
}

const runFile = "reproduce_run.json"

func writeRun(dir string, run report.Run) error {
	data, err := json.MarshalIndent(jsonRun(run), "", "  ")
	if err != nil {
		return err
	}
	// Written last and atomically: its presence marks the run finished.
	return atomicfile.WriteFile(filepath.Join(dir, runFile), func(w io.Writer) error {
		_, err := w.Write(append(data, '\n'))
		return err
	})
}

func readRun(dir string, run *report.Run) (bool, error) {
	data, err := os.ReadFile(filepath.Join(dir, runFile))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var jr runJSON
	if err := json.Unmarshal(data, &jr); err != nil {
		return false, err
	}
	*run = jr.run()
	return true, nil
}

// runJSON stores a Run with NaN as null.
type runJSON struct {
	Task, Method, Dir, Metric string
	Seed                      int
	Score                     *float64
	Metrics                   map[string]*float64
	Trainable, Total          int
	WallSeconds               float64
}

func jsonRun(r report.Run) runJSON {
	j := runJSON{Task: r.Task, Method: r.Method, Dir: r.Dir, Metric: r.Metric, Seed: r.Seed, Trainable: r.Trainable, Total: r.Total, WallSeconds: r.WallSeconds, Metrics: map[string]*float64{}}
	num := func(v float64) *float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		return &v
	}
	j.Score = num(r.Score)
	for k, v := range r.Metrics {
		j.Metrics[k] = num(v)
	}
	return j
}

func (j runJSON) run() report.Run {
	r := report.Run{Task: j.Task, Method: j.Method, Dir: j.Dir, Metric: j.Metric, Seed: j.Seed, Trainable: j.Trainable, Total: j.Total, WallSeconds: j.WallSeconds, Metrics: map[string]float64{}}
	val := func(p *float64) float64 {
		if p == nil {
			return math.NaN()
		}
		return *p
	}
	r.Score = val(j.Score)
	for k, v := range j.Metrics {
		r.Metrics[k] = val(v)
	}
	return r
}
