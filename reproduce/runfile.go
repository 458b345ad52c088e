package reproduce

import (
	"encoding/json"
	"errors"
	"fmt"
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

// runFile is a finished run's numbers: one report.Run in the results
// schema (see report.Results), so that a run directory and results.json
// describe a run alike.
const runFile = "reproduce_run.json"

func writeRun(dir string, run report.Run) error {
	// Written last and atomically: its presence marks the run finished.
	return atomicfile.WriteJSON(filepath.Join(dir, runFile), run)
}

func readRun(dir string, run *report.Run) (bool, error) {
	path := filepath.Join(dir, runFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(data, run); err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	// Files written before the results schema have Go field names as keys;
	// JSON keys match case-insensitively, so only the wall time differs.
	var old struct{ WallSeconds *float64 }
	if err := json.Unmarshal(data, &old); err == nil && old.WallSeconds != nil {
		run.WallSeconds = *old.WallSeconds
	}
	return true, nil
}
