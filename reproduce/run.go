package reproduce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/subtune/subtune/glue"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/report"
	"github.com/subtune/subtune/safetensors"
	"github.com/subtune/subtune/subspace"
	"github.com/subtune/subtune/trainer"
)

// Options configure a reproduction.
type Options struct {
	Model     string   // HF model folder
	Tasks     []string // GLUE task names
	Profile   Profile
	OutputDir string
	DataDir   string // "" for the shipped GLUE data
	Threads   int
	Command   string // the command line, for the report
	Log       io.Writer
}

// Methods in the order of the paper's Table 1.
const (
	MethodFull      = "full"
	MethodFreeze    = "freeze"
	MethodRandom    = "random"
	MethodIntrinsic = "intrinsic"
)

// Run executes every stage that has not finished yet and writes REPORT.md,
// results.json and the plots into o.OutputDir.
func Run(ctx context.Context, o Options) (*report.Results, error) {
	start := time.Now()
	if o.Log == nil {
		o.Log = io.Discard
	}
	if err := os.MkdirAll(o.OutputDir, 0o755); err != nil {
		return nil, err
	}
	res := &report.Results{Model: o.Model, Profile: o.Profile.Name, Tasks: o.Tasks, Seeds: o.Profile.Seeds, Command: o.Command}
	total := len(o.Tasks) * len(o.Profile.Seeds) * 4
	done := 0
	for _, name := range o.Tasks {
		task, err := glue.Lookup(name)
		if err != nil {
			return nil, err
		}
		for _, seed := range o.Profile.Seeds {
			p := &pipeline{o: o, task: task, seed: seed, dir: filepath.Join(o.OutputDir, task.Name, fmt.Sprintf("seed%d", seed))}
			for _, method := range []string{MethodFull, MethodIntrinsic, MethodRandom, MethodFreeze} {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				fmt.Fprintf(o.Log, "== %s seed %d: %s (%d of %d runs)\n", task.Name, seed, method, done+1, total)
				run, err := p.stage(ctx, method)
				if err != nil {
					return nil, fmt.Errorf("%s seed %d %s: %w", task.Name, seed, method, err)
				}
				res.Runs = append(res.Runs, run)
				done++
			}
			if seed == o.Profile.Seeds[0] {
				sp, err := spectra(p.basisPath(), task.Name)
				if err != nil {
					return nil, err
				}
				res.Spectra = append(res.Spectra, sp...)
			}
		}
	}
	res.WallSeconds = time.Since(start).Seconds()
	if err := res.Save(filepath.Join(o.OutputDir, "results.json")); err != nil {
		return nil, err
	}
	if err := report.WriteMarkdown(*res, o.OutputDir); err != nil {
		return nil, err
	}
	return res, nil
}

// pipeline is one task and seed.
type pipeline struct {
	o    Options
	task *glue.Task
	seed int
	dir  string
}

func (p *pipeline) runDir(method string) string { return filepath.Join(p.dir, method) }
func (p *pipeline) basisPath() string           { return filepath.Join(p.dir, "subspace.safetensors") }

// args are the fine-tuning arguments every method shares.
func (p *pipeline) args(method string) (trainer.Args, error) {
	pr := p.o.Profile
	a := trainer.DefaultArgs()
	a.ModelNameOrPath = p.o.Model
	a.TaskName = p.task.Name
	a.DataDir = p.o.DataDir
	a.OutputDir = p.runDir(method)
	a.DoTrain, a.DoEval = true, true
	a.NumTrainEpochs = pr.Epochs
	a.MaxTrainSamples = pr.MaxTrainSamples
	a.MaxEvalSamples = pr.MaxEvalSamples
	a.PerDeviceTrainBatchSize = pr.BatchSize
	a.PerDeviceEvalBatchSize = 64
	a.LearningRate = pr.LearningRate
	a.WarmupRatio = pr.WarmupRatio
	a.Seed = p.seed
	a.Threads = p.o.Threads
	a.Resume = true
	a.SaveStrategy = "epoch"
	a.SaveTotalLimit = 1
	a.EvalStrategy = "no"
	a.LoggingSteps = 50
	if method == MethodFull {
		every, err := p.trajectoryEvery()
		if err != nil {
			return a, err
		}
		a.SaveTrajectory = every
	}
	return a, nil
}

// trajectoryEvery spaces the profile's t checkpoints over the run: one per
// epoch when t equals the epochs, else every ⌈steps/t⌉ steps.
func (p *pipeline) trajectoryEvery() (string, error) {
	pr := p.o.Profile
	if float64(pr.Checkpoints) == pr.Epochs {
		return "epoch", nil
	}
	train, err := p.task.Load(p.o.DataDir, glue.Train)
	if err != nil {
		return "", err
	}
	n := len(train)
	if pr.MaxTrainSamples > 0 {
		n = min(n, pr.MaxTrainSamples)
	}
	steps := int(math.Ceil(float64((n+pr.BatchSize-1)/pr.BatchSize) * pr.Epochs))
	return fmt.Sprintf("steps:%d", max(1, (steps+pr.Checkpoints-1)/pr.Checkpoints)), nil
}

// stage runs one method unless its results exist, and returns its numbers.
func (p *pipeline) stage(ctx context.Context, method string) (report.Run, error) {
	dir := p.runDir(method)
	run := report.Run{Task: p.task.Name, Method: method, Seed: p.seed, Dir: dir, Metric: p.task.MainMetric()}
	if cached, err := readRun(dir, &run); err == nil && cached {
		fmt.Fprintf(p.o.Log, "   cached in %s\n", dir)
		return run, nil
	}
	if method == MethodIntrinsic {
		if err := p.extract(); err != nil {
			return run, err
		}
	}
	a, err := p.args(method)
	if err != nil {
		return run, err
	}
	var hooks trainer.Hooks
	var counter *paramCounter
	if method != MethodFull {
		counter = &paramCounter{}
		hooks.NewReparam = p.newReparam(method, counter)
	}
	start := time.Now()
	res, err := trainer.Finetune(ctx, a, p.o.Log, hooks)
	if err != nil {
		return run, err
	}
	run.WallSeconds = time.Since(start).Seconds()
	run.Total = res.Model.NumParams()
	run.Trainable = run.Total
	if counter != nil {
		run.Trainable = counter.n
	}
	fillMetrics(&run, res.Eval)
	if err := writeRun(dir, run); err != nil {
		return run, err
	}
	return run, nil
}

type paramCounter struct{ n int }

// newReparam builds the re-parameterisation of a method once the trainer
// has loaded the model.
func (p *pipeline) newReparam(method string, counter *paramCounter) func(m *model.Model) (trainer.Reparam, error) {
	pr := p.o.Profile
	return func(m *model.Model) (trainer.Reparam, error) {
		spec := subspace.Spec{Ensemble: pr.Ensemble, LearningRate: pr.SubspaceLR, Seed: uint64(p.seed)}
		switch method {
		case MethodFreeze:
			spec.FreezeEncoder = true
		case MethodIntrinsic:
			spec.BasisFile = p.basisPath()
		case MethodRandom:
			dim, err := p.basisDim()
			if err != nil {
				return nil, err
			}
			spec.Random, spec.Dim = subspace.KindDense, dim
		}
		h, n, err := spec.NewHook(m)
		if err != nil {
			return nil, err
		}
		counter.n = n
		return h, nil
	}
}

// basisDim is the per-layer dimension of the extracted subspace, so that the
// random baseline has exactly as many coordinates.
func (p *pipeline) basisDim() (int, error) {
	b, err := subspace.LoadBasis(p.basisPath(), subspace.Expect{})
	if err != nil {
		return 0, err
	}
	return b.Blocks()[0].Dim, nil
}

// extract builds the intrinsic subspace from the full run's trajectory.
func (p *pipeline) extract() error {
	if _, err := os.Stat(p.basisPath()); err == nil {
		return nil
	}
	tr, err := subspace.OpenTrajectory(filepath.Join(p.runDir(MethodFull), "trajectory"))
	if err != nil {
		return err
	}
	defer tr.Close()
	_, err = subspace.Extract(tr, p.basisPath(), subspace.ExtractOptions{Rows: p.o.Profile.Rows, Dim: p.o.Profile.Dim, Log: p.o.Log})
	return err
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
	return os.WriteFile(filepath.Join(dir, runFile), append(data, '\n'), 0o644)
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
