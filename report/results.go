package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/subtune/subtune/atomicfile"
)

// Run is one fine-tuning run: one task, one method, one seed.
type Run struct {
	Task string // GLUE task name as glue.Lookup takes it, e.g. "sst2"
	// Method is Full, Freeze, Random or Intrinsic, or a method an analysis
	// adds (Unified, Transfer("sst2"), a sweep's "intrinsic_d4", …).
	Method string
	Seed   int
	Dir    string // run directory the numbers come from

	Metric  string             // the task's main metric, e.g. "accuracy", "pearson", "matthews_correlation"
	Score   float64            // Metrics[Metric] on dev (0..1 or a correlation); NaN if unknown
	Metrics map[string]float64 // every dev metric of the run

	Trainable, Total int // trainable parameters and all parameters; 0 if unknown
	WallSeconds      float64
}

// Spectrum is the singular values of one layer's trajectory matrix.
type Spectrum struct {
	Task           string
	Layer          int
	SingularValues []float64 // in decreasing order, as extracted
}

// Results is everything a reproduction measured; saved as results.json.
type Results struct {
	Model   string // model directory or name
	Profile string // e.g. "quick", "paper"
	Tasks   []string
	Seeds   []int
	// WallSeconds is the wall time of the whole reproduction.
	WallSeconds float64
	Command     string // the command line that produced the results

	Runs    []Run
	Spectra []Spectrum
	// Analyses are the tables of the analyses beyond Table 1, each number
	// with the runs behind it.
	Analyses []AnalysisTable
	// Claims are the paper's claims decided from the seeds: Table 1's
	// ordering, then the analyses', each with the sentence REPORT.md
	// writes (WriteMarkdown fills them in).
	Claims []Claim
}

// Save writes r to path as indented JSON, atomically.
func (r Results) Save(path string) error {
	return atomicfile.WriteJSON(path, r)
}

// Load reads a file written by [Results.Save]. It does not validate; see
// [Results.Validate].
func Load(path string) (Results, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Results{}, err
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return Results{}, fmt.Errorf("report: %s: %w", path, err)
	}
	return r, nil
}

// Validate reports every inconsistency that would make a table ambiguous:
// runs without task or method, two runs for the same (task, method, seed),
// negative parameter counts or more trainable than total parameters, two
// spectra for the same (task, layer), and analysis tables that are ragged
// or named twice.
func (r Results) Validate() error {
	var errs []error
	type key struct {
		task, method string
		seed         int
	}
	seen := map[key]int{}
	for i, run := range r.Runs {
		if run.Task == "" || run.Method == "" {
			errs = append(errs, fmt.Errorf("run %d (%s): empty task or method", i, run.Dir))
		}
		k := key{run.Task, run.Method, run.Seed}
		if j, dup := seen[k]; dup {
			errs = append(errs, fmt.Errorf("runs %d (%s) and %d (%s): both task %s, method %s, seed %d",
				j, r.Runs[j].Dir, i, run.Dir, run.Task, run.Method, run.Seed))
		} else {
			seen[k] = i
		}
		if run.Trainable < 0 || run.Total < 0 || (run.Total > 0 && run.Trainable > run.Total) {
			errs = append(errs, fmt.Errorf("run %d (%s): %d trainable of %d parameters", i, run.Dir, run.Trainable, run.Total))
		}
	}
	type skey struct {
		task  string
		layer int
	}
	sseen := map[skey]bool{}
	for _, s := range r.Spectra {
		k := skey{s.Task, s.Layer}
		if sseen[k] {
			errs = append(errs, fmt.Errorf("two spectra for task %s layer %d", s.Task, s.Layer))
		}
		sseen[k] = true
	}
	aseen := map[string]bool{}
	for _, t := range r.Analyses {
		if err := t.Validate(); err != nil {
			errs = append(errs, err)
		}
		if k := analysisKey(t); aseen[k] {
			errs = append(errs, fmt.Errorf("two analysis tables %s", k))
		} else {
			aseen[k] = true
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("report: invalid results: %w", errors.Join(errs...))
	}
	return nil
}

// AllTasks returns r.Tasks followed by any task that appears only in runs
// or spectra, in order of first appearance, so no number is left out of a
// table.
func (r Results) AllTasks() []string {
	tasks := slices.Clone(r.Tasks)
	add := func(t string) {
		if t != "" && !slices.Contains(tasks, t) {
			tasks = append(tasks, t)
		}
	}
	for _, run := range r.Runs {
		add(run.Task)
	}
	for _, s := range r.Spectra {
		add(s.Task)
	}
	return tasks
}

// HasMethod reports whether any run uses method.
func (r Results) HasMethod(method string) bool {
	return slices.ContainsFunc(r.Runs, func(run Run) bool { return run.Method == method })
}

// Select returns the runs of task and method, in their order in r.Runs.
func (r Results) Select(task, method string) []Run {
	var out []Run
	for _, run := range r.Runs {
		if run.Task == task && run.Method == method {
			out = append(out, run)
		}
	}
	return out
}
