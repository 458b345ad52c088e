package reproduce

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/subtune/subtune/glue"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/outliers"
	"github.com/subtune/subtune/report"
	"github.com/subtune/subtune/subspace"
	"github.com/subtune/subtune/trainer"
	"github.com/subtune/subtune/trainloop"
)

// pipeline is one task and seed: the runs of Table 1 and every analysis
// run fine-tuned on that task, each in its own directory under dir.
type pipeline struct {
	o    Options
	task *glue.Task
	seed int
	dir  string

	nTrain int // trainExamples, once known
}

func (p *pipeline) runDir(method string) string { return filepath.Join(p.dir, dirName(method)) }
func (p *pipeline) basisPath() string           { return filepath.Join(p.dir, "subspace.safetensors") }
func (p *pipeline) trajectoryDir() string       { return filepath.Join(p.runDir(report.Full), "trajectory") }

// dirName turns a method into a directory name: "transfer:sst2" →
// "transfer_from_sst2".
func dirName(method string) string {
	return strings.ReplaceAll(strings.ReplaceAll(method, ":", "_from_"), string(filepath.Separator), "_")
}

// runSpec is one fine-tuning run of a pipeline: the method it is reported
// under, its directory, and how the encoder trains. Table 1's methods and
// every analysis are runSpecs, so that one stage function runs, caches and
// records them all.
type runSpec struct {
	method     string
	dir        string // "": runDir(method)
	trajectory bool   // record the trajectory (the full runs)
	every      string // its schedule ("epoch", "steps:N"); "": the profile's (trajectorySchedule)
	basis      string // train inside this subspace file
	random     int    // or inside a dense random subspace of this dimension per layer
	randomDims []int  // or of these dimensions, one per layer
	freeze     bool   // or train the head only
	// initStd starts z's copies at N(0, initStd²) (nil: the default).
	initStd *float64
	// disable makes full fine-tuning hold some positions at zero (the
	// outlier ablation).
	disable func(m *model.Model) (*outliers.DisableMask, error)
	// needs are the preps the run reads, done before it unless it is
	// cached; then prepare, which finds what the run takes from them (a
	// basis's dimension, the outliers to disable).
	needs   []prep
	prepare func(s *runSpec) error
}

func (s runSpec) reparameterises() bool {
	return s.basis != "" || s.random > 0 || len(s.randomDims) > 0 || s.freeze || s.disable != nil
}

// mainSpec is the runSpec of one of Table 1's methods.
func (p *pipeline) mainSpec(method string) runSpec {
	s := runSpec{method: method}
	switch method {
	case report.Full:
		s.trajectory = true
	case report.Freeze:
		s.freeze = true
	case report.Intrinsic:
		s.basis = p.basisPath()
		s.prepare = func(*runSpec) error { return p.extract() }
	case report.Random:
		// As many coordinates as the extracted subspace has, layer by
		// layer.
		s.prepare = func(s *runSpec) (err error) {
			s.randomDims, err = basisDims(p.basisPath())
			return err
		}
	}
	return s
}

// args are the fine-tuning arguments of s; every run shares the profile's
// schedule.
func (p *pipeline) args(s runSpec) (trainer.Args, error) {
	pr := p.o.Profile
	a := trainer.DefaultArgs()
	a.ModelNameOrPath = p.o.Model
	a.TaskName = p.task.Name
	a.DataDir = p.o.DataDir
	a.OutputDir = s.dir
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
	a.BF16 = p.o.BF16
	a.Resume = true
	a.SaveStrategy = "epoch"
	a.SaveTotalLimit = 1
	a.EvalStrategy = "no"
	a.LoggingSteps = 50
	if s.trajectory {
		every := s.every
		if every == "" {
			var err error
			if every, _, err = p.trajectorySchedule(); err != nil {
				return a, err
			}
		}
		a.SaveTrajectory = every
	}
	return a, nil
}

// trajectorySchedule spaces the profile's t checkpoints over the run: one
// per epoch when t equals the epochs, else every ⌈steps/t⌉ steps. It also
// returns how many checkpoints that records.
func (p *pipeline) trajectorySchedule() (string, int, error) {
	pr := p.o.Profile
	if pr.perEpoch() {
		return "epoch", pr.Checkpoints, nil
	}
	n, err := p.trainExamples()
	if err != nil {
		return "", 0, err
	}
	steps := int(math.Ceil(float64((n+pr.BatchSize-1)/pr.BatchSize) * pr.Epochs))
	every := max(1, (steps+pr.Checkpoints-1)/pr.Checkpoints)
	return fmt.Sprintf("steps:%d", every), (steps + every - 1) / every, nil
}

// perEpoch reports whether Table 1's full run records one checkpoint per
// epoch (its t equals the epochs).
func (pr Profile) perEpoch() bool { return float64(pr.Checkpoints) == pr.Epochs }

// epochCheckpoints is how many checkpoints a trajectory recorded per epoch
// holds: one at the end of every epoch, the last one possibly partial. The
// trainer runs ⌈epochs·u⌉ steps of u per epoch and records after every
// u-th and the last, ⌈⌈epochs·u⌉/u⌉ = ⌈epochs⌉ checkpoints whatever u is.
func (pr Profile) epochCheckpoints() int { return int(math.Ceil(pr.Epochs)) }

// trainExamples is the number of training examples the runs use. It is
// remembered: planning asks for it once per analysis, and reading a large
// task's training set takes seconds.
func (p *pipeline) trainExamples() (int, error) {
	if p.nTrain > 0 {
		return p.nTrain, nil
	}
	train, err := p.task.Load(p.o.DataDir, glue.Train)
	if err != nil {
		return 0, err
	}
	p.nTrain = len(train)
	if m := p.o.Profile.MaxTrainSamples; m > 0 {
		p.nTrain = min(p.nTrain, m)
	}
	return p.nTrain, nil
}

// checkpoints is the length t of the full run's trajectory: read from it
// once the run has finished, else what the schedule will record (estimated
// says which).
func (p *pipeline) checkpoints() (t int, estimated bool, err error) {
	var run report.Run
	if done, _ := readRun(p.runDir(report.Full), &run); done {
		r, err := subspace.OpenRun(p.trajectoryDir())
		if err != nil {
			return 0, false, err
		}
		defer r.Close()
		return r.NumCheckpoints(), false, nil
	}
	_, t, err = p.trajectorySchedule()
	return t, true, err
}

// sourceLength is the length of the trajectory v extracts from: the full
// run's, or the per-epoch run's, which the schedule fixes.
func (p *pipeline) sourceLength(v variant) (int, error) {
	if v.epoch {
		return p.o.Profile.epochCheckpoints(), nil
	}
	t, _, err := p.checkpoints()
	return t, err
}

// stage runs s unless its results exist, and returns its numbers.
func (p *pipeline) stage(ctx context.Context, s runSpec) (report.Run, error) {
	if s.dir == "" {
		s.dir = p.runDir(s.method)
	}
	run := report.Run{Task: p.task.Name, Method: s.method, Seed: p.seed, Dir: s.dir, Metric: p.task.MainMetric()}
	// A finished run's resumable checkpoints go: no stage resumes it again
	// or reads them (its trajectory, model and results stay), and their
	// model copy and optimiser moments are most of its size on disk.
	if cached, err := readRun(s.dir, &run); err == nil && cached {
		fmt.Fprintf(p.o.Log, "   cached in %s\n", s.dir)
		return run, trainloop.RemoveCheckpoints(s.dir)
	}
	for _, need := range s.needs {
		if err := p.o.whilePreparing(ctx, need.make); err != nil {
			return run, err
		}
	}
	if s.prepare != nil {
		if err := p.o.whilePreparing(ctx, func() error { return s.prepare(&s) }); err != nil {
			return run, err
		}
	}
	a, err := p.args(s)
	if err != nil {
		return run, err
	}
	var hooks trainer.Hooks
	var counter *paramCounter
	if s.reparameterises() {
		counter = &paramCounter{}
		hooks.NewParamHook = p.newReparam(s, counter)
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
	if err := writeRun(s.dir, run); err != nil {
		return run, err
	}
	return run, trainloop.RemoveCheckpoints(s.dir)
}

type paramCounter struct{ n int }

// newReparam builds the re-parameterisation of s once the trainer has
// loaded the model.
func (p *pipeline) newReparam(s runSpec, counter *paramCounter) func(m *model.Model) (trainer.ParamHook, error) {
	pr := p.o.Profile
	return func(m *model.Model) (trainer.ParamHook, error) {
		if s.disable != nil {
			h, err := s.disable(m)
			if err != nil {
				return nil, err
			}
			counter.n = m.NumParams() - h.Count()
			return h, nil
		}
		spec := subspace.Spec{Ensemble: pr.Ensemble, LearningRate: pr.SubspaceLR, Seed: uint64(p.seed),
			BasisFile: s.basis, FreezeEncoder: s.freeze, InitStd: s.initStd}
		if s.random > 0 {
			spec.Random, spec.Dim = subspace.KindDense, s.random
		}
		if len(s.randomDims) > 0 {
			spec.Random, spec.Dims = subspace.KindDense, s.randomDims
		}
		if !spec.InSubspace() {
			f, n, err := spec.NewFreeze(m)
			if err != nil {
				return nil, err
			}
			counter.n = n
			return f, nil
		}
		r, n, err := spec.NewReparam(m)
		if err != nil {
			return nil, err
		}
		counter.n = n
		return r, nil
	}
}

// basisDims are the dimensions of the layers of the subspace in path, so
// that a random baseline has as many coordinates in every layer.
func basisDims(path string) ([]int, error) {
	b, err := subspace.LoadBasis(path, subspace.Expect{})
	if err != nil {
		return nil, err
	}
	blocks := b.Blocks()
	dims := make([]int, len(blocks))
	for i, bl := range blocks {
		if bl.Layer != i {
			return nil, fmt.Errorf("%s: block %d is layer %d; a random baseline needs one block per layer, in order", path, i, bl.Layer)
		}
		dims[i] = bl.Dim
	}
	return dims, nil
}

// extract builds the intrinsic subspace from the full run's trajectory.
func (p *pipeline) extract() error {
	return p.extractVariant(p.basisPath(), variant{rows: p.o.Profile.Rows, dim: p.o.Profile.Dim})
}

// extractVariant builds the subspace v of the full run's trajectory into
// path, unless path exists (extraction writes it atomically).
func (p *pipeline) extractVariant(path string, v variant) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	dir := p.trajectoryDir()
	if v.epoch {
		dir = p.epochTrajectoryDir()
	}
	r, err := subspace.OpenRun(dir)
	if err != nil {
		return err
	}
	defer r.Close()
	points := subspace.All(r)
	if idx := v.selection(r.NumCheckpoints()); idx != nil {
		if points, err = subspace.Select(r, idx); err != nil {
			return err
		}
	}
	_, err = subspace.Extract(points, path, subspace.ExtractOptions{Rows: v.rows, Dim: v.dim, Log: p.o.Log})
	if err != nil {
		return fmt.Errorf("%s seed %d: extracting %s: %w", p.task.Name, p.seed, path, err)
	}
	return nil
}
