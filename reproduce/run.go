package reproduce

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/subtune/subtune/blas"
	"github.com/subtune/subtune/dirlock"
	"github.com/subtune/subtune/glue"
	"github.com/subtune/subtune/progress"
	"github.com/subtune/subtune/report"
	"github.com/subtune/subtune/safetensors"
	"github.com/subtune/subtune/subspace"
)

// Options configure a reproduction.
type Options struct {
	Model     string   // HF model folder
	Tasks     []string // GLUE task names
	Profile   Profile
	OutputDir string
	DataDir   string // "" for the shipped GLUE data
	Threads   int
	BF16      bool   // every run in bf16 mixed precision (trainer.Args.BF16)
	Command   string // the command line, for the report
	Log       io.Writer
	// Analyses are the paper's analyses to run beyond Table 1, by the names
	// of AnalysisNames (ParseAnalyses reads --analyses).
	Analyses []string
	// Dims and Lengths are the subspace dimensions and trajectory lengths
	// the dims and trajectory analyses sweep (nil: DefaultDims and
	// DefaultLengths).
	Dims, Lengths []int

	// Stage runs one stage of the graph alone (an id of Plan's).
	Stage string
	// Jobs runs up to this many stages at once as child processes, each
	// with Threads/Jobs threads.
	Jobs int
	// Scheduler "slurm" submits every pending stage as a Slurm job.
	Scheduler string
	// SlurmArgs are passed to every sbatch (partition, account, time).
	SlurmArgs []string
	// Detach returns once the jobs are submitted instead of waiting.
	Detach bool
	// Executable and StageArgs make a stage's command line: the subtune
	// binary and the reproduce arguments that fix the result (Command
	// adds --stage and --threads).
	Executable string
	StageArgs  []string
	// Poll is how often a waiting scheduler looks at its jobs (0: 10 s).
	Poll time.Duration
}

// Run executes every run that has not finished yet and writes REPORT.md,
// results.json and the plots into o.OutputDir. The full runs come first,
// since every other run depends on their trajectories; then Table 1's
// other runs and those of the analyses.
//
// With o.Stage set, Run runs that stage alone and returns no results; with
// o.Jobs > 1 or o.Scheduler set, it runs the stages as separate processes,
// here or as Slurm jobs (see schedule), then writes the report.
func Run(ctx context.Context, o Options) (*report.Results, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	switch {
	case o.Stage != "":
		return nil, runStage(ctx, o)
	case o.Scheduler != "" || o.Jobs > 1:
		return schedule(ctx, o)
	}
	return runAll(ctx, o)
}

// runAll runs every stage in this process, one after another.
func runAll(ctx context.Context, o Options) (*report.Results, error) {
	start := time.Now()
	// The folder is this reproduction's until it returns; each run in it
	// holds its own folder too.
	lock, err := dirlock.Acquire(o.OutputDir)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	r, err := newReproduction(o)
	if err != nil {
		return nil, err
	}
	var full []job
	for _, p := range r.pipes {
		full = append(full, job{p, p.mainSpec(report.Full)})
	}
	// Until the full runs have finished, the later runs are planned with
	// the trajectory lengths the schedule predicts.
	later, err := r.laterJobs()
	if err != nil {
		return nil, err
	}
	// The graph refuses a finished stage run from other inputs, before
	// anything runs; it is planned again once the full runs are known.
	if r.graph, err = r.buildGraph(); err != nil {
		return nil, err
	}
	prog := progress.NewRuns(o.Log)
	plan(prog, slices.ContainsFunc(full, func(j job) bool { return !j.cached() }), full, later)
	if err := r.execute(ctx, full, prog); err != nil {
		return nil, err
	}
	if later, err = r.laterJobs(); err != nil {
		return nil, err
	}
	if r.graph, err = r.buildGraph(); err != nil {
		return nil, err
	}
	plan(prog, false, later)
	if err := r.execute(ctx, later, prog); err != nil {
		return nil, err
	}

	res := &report.Results{Model: o.Model, Profile: o.Profile.Name, Tasks: o.Tasks, Seeds: o.Profile.Seeds, Command: o.Command, Runs: r.runs}
	for _, task := range o.Tasks {
		sp, err := spectra(r.pipe(task, o.Profile.Seeds[0]).basisPath(), task)
		if err != nil {
			return nil, err
		}
		res.Spectra = append(res.Spectra, sp...)
	}
	sections, err := r.report(res)
	if err != nil {
		return nil, err
	}
	res.WallSeconds = time.Since(start).Seconds()
	if err := res.Save(filepath.Join(o.OutputDir, "results.json")); err != nil {
		return nil, err
	}
	if err := report.WriteMarkdown(*res, o.OutputDir, sections...); err != nil {
		return nil, err
	}
	if err := r.record(r.graph.byID[ReportStage]); err != nil {
		return nil, err
	}
	return res, nil
}

// reproduction is one Run: a pipeline per task and seed, the analyses
// asked for, and the runs finished so far.
type reproduction struct {
	o        Options
	pipes    []*pipeline // task-major, in the order of o.Tasks and the seeds
	byKey    map[runKey]*pipeline
	analyses []analysisDef
	runs     []report.Run
	done     map[string]bool // run directories finished
	modelSum string          // modelHash, once known
	// graph is the stages as last planned, whose keys execute records;
	// recorded are the stage ids recorded so far.
	graph    *graph
	recorded map[string]bool
}

// runKey names one run: a task, a method and a seed.
type runKey struct {
	task, method string
	seed         int
}

// Validate checks o as Run does before its first run: tasks, seeds,
// analyses and the fine-tuning arguments every run shares. Nothing is read
// or written.
func (o Options) Validate() error {
	_, err := newReproduction(o)
	return err
}

func newReproduction(o Options) (*reproduction, error) {
	if len(o.Tasks) == 0 {
		return nil, fmt.Errorf("no tasks")
	}
	if len(o.Profile.Seeds) == 0 {
		return nil, fmt.Errorf("profile %s has no seeds", o.Profile.Name)
	}
	if o.BF16 {
		if err := blas.BF16Check(); err != nil {
			return nil, fmt.Errorf("--bf16: %w", err)
		}
	}
	switch o.Profile.Rows {
	case subspace.RowsRaw, subspace.RowsDelta, subspace.RowsCentered:
	default:
		return nil, fmt.Errorf("rows %q: want %s, %s or %s", o.Profile.Rows, subspace.RowsRaw, subspace.RowsDelta, subspace.RowsCentered)
	}
	r := &reproduction{o: o, byKey: map[runKey]*pipeline{}, done: map[string]bool{}, recorded: map[string]bool{}}
	for _, name := range o.Tasks {
		task, err := glue.Lookup(name)
		if err != nil {
			return nil, err
		}
		for _, seed := range o.Profile.Seeds {
			po := o
			po.Profile = o.Profile.forTask(name)
			p := &pipeline{o: po, task: task, seed: seed, dir: filepath.Join(o.OutputDir, task.Name, fmt.Sprintf("seed%d", seed))}
			r.pipes = append(r.pipes, p)
			r.byKey[runKey{task: name, seed: seed}] = p
		}
	}
	// Every run shares the profile's fine-tuning arguments: check them
	// once, before the first run, as the trainer will.
	p := r.pipes[0]
	s := p.mainSpec(report.Freeze)
	s.dir = p.runDir(report.Freeze)
	a, err := p.args(s)
	if err == nil {
		err = a.Validate()
	}
	if err != nil {
		return nil, err
	}
	defs, err := lookupAnalyses(o.Analyses, len(o.Tasks))
	if err != nil {
		return nil, err
	}
	r.analyses = defs
	return r, nil
}

// pipe is the pipeline of task and seed.
func (r *reproduction) pipe(task string, seed int) *pipeline {
	return r.byKey[runKey{task: task, seed: seed}]
}

// laterJobs are every run after the full ones: Table 1's others, then each
// analysis's, without repeats (an analysis may reuse a run of Table 1).
func (r *reproduction) laterJobs() ([]job, error) {
	var jobs []job
	for _, p := range r.pipes {
		for _, m := range []string{report.Intrinsic, report.Random, report.Freeze} {
			jobs = append(jobs, job{p, p.mainSpec(m)})
		}
	}
	for _, a := range r.analyses {
		js, err := a.jobs(r)
		if err != nil {
			return nil, fmt.Errorf("analysis %s: %w", a.name, err)
		}
		jobs = append(jobs, js...)
	}
	return dedupe(jobs), nil
}

// execute runs jobs in order, recording their results.
func (r *reproduction) execute(ctx context.Context, jobs []job, prog *progress.Runs) error {
	for _, j := range jobs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if r.done[j.dir()] {
			continue
		}
		cached := j.cached()
		prog.Begin(fmt.Sprintf("%s seed %d: %s", j.p.task.Name, j.p.seed, j.spec.method), cached)
		start := time.Now()
		run, err := j.p.stage(ctx, j.spec)
		if err != nil {
			return fmt.Errorf("%s seed %d %s: %w", j.p.task.Name, j.p.seed, j.spec.method, err)
		}
		prog.End(cached, time.Since(start))
		r.runs = append(r.runs, run)
		r.done[j.dir()] = true
		if err := r.recordFinished(r.graph); err != nil {
			return err
		}
	}
	return nil
}

// spectra reads the singular values of every layer from a subspace file.
func spectra(path, task string) ([]report.Spectrum, error) {
	f, err := safetensors.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []report.Spectrum
	for l := 0; ; l++ {
		name := fmt.Sprintf("layer.%d.singular_values", l)
		if _, ok := f.Info(name); !ok {
			break
		}
		sv, err := f.Float32(name)
		if err != nil {
			return nil, err
		}
		s := report.Spectrum{Task: task, Layer: l}
		for _, v := range sv {
			s.SingularValues = append(s.SingularValues, float64(v))
		}
		out = append(out, s)
	}
	return out, nil
}

// Tasks parses a comma-separated task list.
func Tasks(s string) []string {
	var out []string
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}
