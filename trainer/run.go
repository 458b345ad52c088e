package trainer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/subtune/subtune/atomicfile"
	"github.com/subtune/subtune/blas"
	"github.com/subtune/subtune/checkpoint"
	"github.com/subtune/subtune/glue"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/progress"
	"github.com/subtune/subtune/safetensors"
	"github.com/subtune/subtune/tokenizer"
	"github.com/subtune/subtune/trajectory"
)

// ErrInterrupted is returned (wrapped) when the context is cancelled during
// training; a checkpoint of the last finished step has been saved.
var ErrInterrupted = errors.New("interrupted")

// Hooks extend a run without changing its arithmetic.
type Hooks struct {
	// NewReparam, when set, re-parameterises the model (issue 5's subspace
	// training). It is called once the model is loaded, its new head
	// initialised and θ0 hashed, before any checkpoint is restored.
	NewReparam func(m *model.Model) (Reparam, error)
	// OnStep is called after every optimiser step, with the step count.
	OnStep func(step int, st StepStats)
}

// Result is what a run produced.
type Result struct {
	Model         *model.Model
	Train         Metrics // train_results.json; nil without --do_train
	Eval          Metrics // eval_results.json; nil without --do_eval
	State         *State
	TrajectoryDir string // "" when none was recorded
}

// run holds one fine-tuning run's pieces.
type run struct {
	a     Args
	log   io.Writer
	hooks Hooks

	task       *glue.Task // nil for one's own data files
	regression bool
	labelNames []string // class names, for id2label and predictions

	trainEx   []glue.Example
	evalSets  []evalSet
	testSets  []evalSet
	train     *Dataset
	resumeDir string

	m    *model.Model
	tok  *tokenizer.Tokenizer
	ws   *model.Workspace
	maxT int      // the workspace's sequence capacity
	bt   *batcher // evaluation batches
}

// evalSet is one evaluation or prediction split, with the name run_glue
// gives its results ("mnli", "mnli-mm").
type evalSet struct {
	name   string
	suffix string // "_mm" for MNLI's mismatched sets
	ex     []glue.Example
	d      *Dataset
}

// Finetune does what run_glue.py does: load the task and the model,
// fine-tune with --do_train, evaluate on the dev set(s) with --do_eval,
// predict the test set(s) with --do_predict, and write the Trainer's output
// layout into --output_dir. log receives the progress and the messages.
func Finetune(ctx context.Context, a Args, log io.Writer, hooks Hooks) (*Result, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = io.Discard
	}
	SetThreads(a.Threads)
	r := &run{a: a, log: log, hooks: hooks}
	if err := r.prepareOutputDir(); err != nil {
		return nil, err
	}
	if err := r.loadData(); err != nil {
		return nil, err
	}
	if err := r.loadModel(); err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "kernels: %s\n", blas.Describe())
	res := &Result{Model: r.m}
	if a.DoTrain {
		if err := r.trainRun(ctx, res); err != nil {
			return res, err
		}
	}
	if a.DoEval {
		if err := r.evalRun(res); err != nil {
			return res, err
		}
	}
	if a.DoPredict {
		if err := r.predictRun(); err != nil {
			return res, err
		}
	}
	return res, nil
}

// prepareOutputDir applies run_glue's rules for an existing output
// directory, and finds the checkpoint to resume from.
func (r *run) prepareOutputDir() error {
	a := &r.a
	switch {
	case a.ResumeFromCheckpoint != "":
		r.resumeDir = a.ResumeFromCheckpoint
	case a.Resume:
		if dir, ok := LatestCheckpoint(a.OutputDir); ok {
			r.resumeDir = dir
		}
	}
	if (a.Resume || r.resumeDir != "") && !a.DoTrain {
		return errors.New("--resume needs --do_train")
	}
	entries, _ := os.ReadDir(a.OutputDir)
	if a.DoTrain && r.resumeDir == "" && len(entries) > 0 {
		if a.Resume {
			// Killed before its first checkpoint: what the run left (a
			// trajectory holding θ0) is redone from the beginning.
			fmt.Fprintf(r.log, "--resume: no checkpoint in %s yet; starting from the beginning\n", a.OutputDir)
		} else if !a.OverwriteOutputDir {
			return fmt.Errorf("output directory (%s) already exists and is not empty. Use --overwrite_output_dir to overcome, or --resume to continue its run", a.OutputDir)
		}
		// A stale trajectory or checkpoint mixed with a new run's would be
		// read as one run: remove them.
		if err := removeCheckpoints(a.OutputDir); err != nil {
			return err
		}
		if err := trajectory.Remove(r.trajectoryDir()); err != nil {
			return err
		}
	}
	return os.MkdirAll(a.OutputDir, 0o755)
}

func (r *run) trajectoryDir() string {
	if r.a.TrajectoryDir != "" {
		return r.a.TrajectoryDir
	}
	return filepath.Join(r.a.OutputDir, "trajectory")
}

// loadData reads the splits the run needs, as run_glue does: a GLUE task's
// files (shipped, or under --data_dir), or one's own files.
func (r *run) loadData() error {
	a := &r.a
	if a.TaskName != "" {
		t, err := glue.Lookup(a.TaskName)
		if err != nil {
			return err
		}
		r.task, r.regression = t, t.IsRegression
		r.labelNames = t.LabelNames
	}
	load := func(file string, split glue.Split) ([]glue.Example, error) {
		if file != "" {
			if r.task == nil && r.labelNames == nil && !r.regression {
				isReg, err := glue.UserFileIsRegression(file)
				if err != nil {
					return nil, err
				}
				r.regression = isReg
			}
			var labels []string
			if r.task != nil {
				labels = r.task.Labels
			} else {
				labels = r.labelNames
			}
			ex, found, err := glue.LoadUserFile(file, r.regression, labels)
			if err != nil {
				return nil, err
			}
			if r.task == nil && !r.regression && r.labelNames == nil {
				r.labelNames = found
			}
			return ex, nil
		}
		if r.task == nil {
			return nil, nil
		}
		return r.task.Load(a.DataDir, split)
	}
	limit := func(ex []glue.Example, n int) []glue.Example {
		if n > 0 && n < len(ex) {
			return ex[:n]
		}
		return ex
	}
	var err error
	// The train file first: for one's own data it fixes the label list.
	if a.DoTrain {
		if r.trainEx, err = load(a.TrainFile, glue.Train); err != nil {
			return err
		}
		if len(r.trainEx) == 0 {
			return errors.New("--do_train requires a train dataset (a --task_name or --train_file)")
		}
		r.trainEx = limit(r.trainEx, a.MaxTrainSamples)
	}
	name := a.TaskName
	if name == "" {
		name = "None" // run_glue's f"predict_results_{task}.txt" with task None
	}
	if a.DoEval {
		splits := []glue.Split{glue.Validation}
		if a.ValidationFile == "" && r.task != nil {
			splits = r.task.EvalSplits()
		}
		for _, s := range splits {
			ex, err := load(a.ValidationFile, s)
			if err != nil {
				return err
			}
			if len(ex) == 0 {
				return errors.New("--do_eval requires a validation dataset (a --task_name or --validation_file)")
			}
			r.evalSets = append(r.evalSets, evalSet{name: setName(name, s), suffix: s.MetricSuffix(), ex: limit(ex, a.MaxEvalSamples)})
		}
	}
	if a.DoPredict {
		splits := []glue.Split{glue.Test}
		if a.TestFile == "" && r.task != nil {
			splits = r.task.TestSplits()
		}
		for _, s := range splits {
			ex, err := load(a.TestFile, s)
			if err != nil {
				return err
			}
			if len(ex) == 0 {
				return errors.New("--do_predict requires a test dataset (a --task_name or --test_file)")
			}
			r.testSets = append(r.testSets, evalSet{name: setName(name, s), suffix: s.MetricSuffix(), ex: limit(ex, a.MaxPredictSamples)})
		}
	}
	if r.regression {
		r.labelNames = nil
	}
	return nil
}

func setName(task string, s glue.Split) string {
	if s.MetricSuffix() == "_mm" {
		return task + "-mm"
	}
	return task
}

// loadModel loads the model with the task's labels (a new head where the
// checkpoint has none) and its tokenizer, and tokenises the data.
func (r *run) loadModel() error {
	a := &r.a
	labels := r.labelNames
	if r.regression {
		labels = []string{"LABEL_0"} // transformers' default id2label for one label
	}
	m, rep, err := checkpoint.Load(a.ModelNameOrPath, model.SequenceClassification, checkpoint.Options{Labels: labels, Seed: uint64(a.Seed)})
	if err != nil {
		return err
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(r.log, "warning: %s\n", w)
	}
	tokDir := a.TokenizerName
	if tokDir == "" {
		tokDir = a.ModelNameOrPath
	}
	tok, err := tokenizer.Load(tokDir)
	if err != nil {
		return err
	}
	if tok.VocabSize() > m.Config.VocabSize {
		return fmt.Errorf("the tokenizer in %s has %d tokens but the model's vocab_size is %d", tokDir, tok.VocabSize(), m.Config.VocabSize)
	}
	maxLen := a.MaxSeqLength
	limit := m.Config.MaxPositionEmbeddings
	if m.Config.ModelType == "roberta" {
		limit -= m.Config.PadTokenID + 1
	}
	if tl := tok.MaxLength(); tl > 0 && tl < limit {
		limit = tl
	}
	if maxLen > limit {
		fmt.Fprintf(r.log, "warning: the max_seq_length passed (%d) is larger than the maximum length for the model (%d). Using max_seq_length=%d.\n", maxLen, limit, limit)
		maxLen = limit
	}
	r.a.MaxSeqLength = maxLen
	r.m, r.tok = m, tok

	maxT := 1
	if len(r.trainEx) > 0 {
		r.train = Tokenize(tok, r.trainEx, maxLen)
		maxT = max(maxT, r.train.MaxLen())
	}
	for _, sets := range [][]evalSet{r.evalSets, r.testSets} {
		for i := range sets {
			sets[i].d = Tokenize(tok, sets[i].ex, maxLen)
			maxT = max(maxT, sets[i].d.MaxLen())
		}
	}
	padTo := 0
	if a.PadToMaxLength {
		padTo, maxT = maxLen, maxLen
	}
	// One workspace, sized for the largest batch of either kind, serves
	// training and evaluation.
	r.ws, r.maxT = m.NewWorkspace(max(a.PerDeviceTrainBatchSize, a.PerDeviceEvalBatchSize), maxT, 0), maxT
	r.bt = newBatcher(a.PerDeviceEvalBatchSize, maxT, tok.PadID(), padTo, r.regression)
	return nil
}

// schedule is the step arithmetic of a run.
type schedule struct {
	n, batch, accum int
	batches         int // per epoch, the last one possibly short (drop_last false)
	updates         int // optimiser steps per epoch
	maxSteps        int
	epochs          int // epochs started
	warmup          int
}

func newSchedule(a *Args, n int) schedule {
	s := schedule{n: n, batch: a.PerDeviceTrainBatchSize, accum: a.GradientAccumulationSteps}
	s.batches = (n + s.batch - 1) / s.batch
	// Recent transformers ends every epoch with an optimiser step over the
	// remaining micro-batches, so an epoch has ceil(batches/accum) steps.
	s.updates = (s.batches + s.accum - 1) / s.accum
	if a.MaxSteps > 0 {
		s.maxSteps = a.MaxSteps
	} else {
		s.maxSteps = int(math.Ceil(a.NumTrainEpochs * float64(s.updates)))
	}
	s.epochs = (s.maxSteps + s.updates - 1) / s.updates
	s.warmup = a.warmup(s.maxSteps)
	return s
}

// micro returns the micro-batches [lo, hi) of the epoch that optimiser
// step `step` (0-based) consumes.
func (s schedule) micro(step int) (epoch, lo, hi int) {
	epoch, u := step/s.updates, step%s.updates
	lo = u * s.accum
	return epoch, lo, min(lo+s.accum, s.batches)
}

// trajectoryDue reports whether the trajectory records the weights after
// `step` steps: at every epoch's end, or every N steps, and at the end.
func (s schedule) trajectoryDue(step, every int) bool {
	if step == s.maxSteps {
		return true
	}
	if every > 0 {
		return step%every == 0
	}
	return step%s.updates == 0
}

func (r *run) trainRun(ctx context.Context, res *Result) error {
	a := &r.a
	m := r.m
	s := newSchedule(a, r.train.Len())
	theta0 := trajectory.HashLayers(m)
	var rp Reparam
	if r.hooks.NewReparam != nil {
		var err error
		if rp, err = r.hooks.NewReparam(m); err != nil {
			return err
		}
	}
	loop := NewLoop(m, r.ws, LoopConfig{
		LearningRate: a.LearningRate, WeightDecay: a.WeightDecay,
		Beta1: a.AdamBeta1, Beta2: a.AdamBeta2, Epsilon: a.AdamEpsilon,
		MaxGradNorm: a.MaxGradNorm, WarmupSteps: s.warmup, TotalSteps: s.maxSteps, Reparam: rp,
	})
	st := &State{
		EvalSteps: a.EvalSteps, LoggingSteps: a.LoggingSteps, MaxSteps: s.maxSteps, NumTrainEpochs: s.epochs,
		SaveSteps: a.SaveSteps, TrainBatchSize: a.PerDeviceTrainBatchSize, IsLocalProcessZero: true, IsWorldProcessZero: true,
		LogHistory: []Metrics{},
		Resume:     ResumeState{Seed: a.Seed, BatchSize: s.batch, Accumulation: s.accum, TrainExamples: s.n, Theta0SHA256: theta0},
	}
	res.State = st

	// The trajectory starts from θ0, before any step: create it now, or
	// reopen it when resuming.
	every, recording, _ := trajectory.ParseSchedule(a.SaveTrajectory)
	var tw *trajectory.Writer
	if recording && r.resumeDir == "" {
		dtype, _ := a.trajectoryDType()
		var err error
		tw, err = trajectory.Create(r.trajectoryDir(), m, trajectory.Options{BaseModelPath: a.ModelNameOrPath,
			Task: a.TaskName, Seed: uint64(a.Seed), Schedule: a.SaveTrajectory, DType: dtype})
		if err != nil {
			return err
		}
	}
	if r.resumeDir != "" {
		if err := r.resume(loop, rp, st, theta0); err != nil {
			return err
		}
		if recording {
			if !trajectory.Exists(r.trajectoryDir()) {
				return fmt.Errorf("the run in %s recorded no trajectory in %s; a trajectory starts at θ0, so it cannot be added to a resumed run", a.OutputDir, r.trajectoryDir())
			}
			var err error
			if tw, err = trajectory.Resume(r.trajectoryDir(), theta0, st.GlobalStep); err != nil {
				return fmt.Errorf("resuming the trajectory: %w", err)
			}
			for step := 1; step <= st.GlobalStep; step++ {
				if s.trajectoryDue(step, every) && !tw.Has(step) {
					return fmt.Errorf("the trajectory in %s lacks the checkpoint of step %d, which the run saved before %s", tw.Dir(), step, r.resumeDir)
				}
			}
		}
	}
	if tw != nil {
		defer tw.Close()
		res.TrajectoryDir = tw.Dir()
	}
	if rp != nil {
		rp.BeforeForward()
	}
	keep := a.SaveTotalLimit
	if keep == 0 && recording {
		keep = 1 // the trajectory keeps the history; one checkpoint suffices to resume
	}

	trainable := loop.TrainableParams()
	all := m.NumParams()
	if rp != nil {
		all += CountParams(rp.Groups())
	}
	fmt.Fprintf(r.log, "***** Running training *****\n")
	fmt.Fprintf(r.log, "  Num examples = %s\n  Num Epochs = %d\n  Instantaneous batch size per device = %d\n", commas(s.n), s.epochs, s.batch)
	fmt.Fprintf(r.log, "  Total train batch size (w. parallel, distributed & accumulation) = %d\n  Gradient Accumulation steps = %d\n", s.batch*s.accum, s.accum)
	fmt.Fprintf(r.log, "  Total optimization steps = %s\n  Warmup steps = %d\n  Number of trainable parameters = %s\n", commas(s.maxSteps), s.warmup, commas(trainable))
	if rp != nil {
		fmt.Fprintf(r.log, "%s\n", rp.Describe())
	}
	fmt.Fprintf(r.log, "trainable params: %s || all params: %s || trainable%%: %.4f\n", commas(trainable), commas(all), 100*float64(trainable)/float64(all))
	if tw != nil {
		fmt.Fprintf(r.log, "trajectory: %s (%s, %s)\n", tw.Dir(), a.SaveTrajectory, tw.Manifest().DType)
	}

	nonEmbedding := float64(m.NumParams() - embeddingParams(m))
	bt := newBatcher(s.batch, r.maxT, r.tok.PadID(), r.bt.padTo, r.regression)
	lengths := r.train.Lengths()
	order, orderEpoch := []int(nil), -1
	lastSaved := -1
	if r.resumeDir != "" {
		lastSaved = st.GlobalStep
	}
	save := func() error {
		if lastSaved == loop.Step {
			return nil
		}
		// A checkpoint is a loadable model folder, tokenizer included.
		extra := []func(string) error{r.tok.Save, func(dir string) error {
			return atomicfile.WriteJSON(filepath.Join(dir, resumeFile), st.Resume)
		}}
		if rp != nil {
			extra = append(extra, rp.Save)
		}
		if _, err := SaveCheckpoint(a.OutputDir, loop.Step, m, loop.Opt, st, keep, extra...); err != nil {
			return fmt.Errorf("saving the checkpoint of step %d: %w", loop.Step, err)
		}
		lastSaved = loop.Step
		return nil
	}
	lastGood := func() string {
		if c, ok := LatestCheckpoint(a.OutputDir); ok {
			return "the last good checkpoint is " + c + " (continue from it with --resume)"
		}
		return "no checkpoint had been saved yet"
	}

	start := time.Now()
	trainedBefore := st.Resume.TrainSeconds
	bar := progress.New(r.log, "train", loop.Step, s.maxSteps, 30*time.Second)
	finish := sync.OnceFunc(bar.Finish)
	defer finish()
	var barShown time.Time
	barExamples := 0
	for loop.Step < s.maxSteps {
		if err := ctx.Err(); err != nil {
			finish()
			st.Resume.TrainSeconds = trainedBefore + time.Since(start).Seconds()
			if err := save(); err != nil {
				return err
			}
			return fmt.Errorf("%w at step %d: checkpoint saved in %s; run the same command with --resume to continue (%w)",
				ErrInterrupted, loop.Step, filepath.Join(a.OutputDir, fmt.Sprintf("%s%d", CheckpointPrefix, loop.Step)), err)
		}
		epoch, lo, hi := s.micro(loop.Step)
		if epoch != orderEpoch {
			order, orderEpoch = epochOrder(uint64(a.Seed), epoch, lengths, s.batch, a.GroupByLength), epoch
		}
		loop.Begin()
		examples := 0
		for k := lo; k < hi; k++ {
			idx := order[k*s.batch : min((k+1)*s.batch, s.n)]
			b := bt.fill(r.train, idx)
			if _, err := loop.Accumulate(b, dropoutSeed(uint64(a.Seed), epoch*s.batches+k)); err != nil {
				finish()
				return fmt.Errorf("step %d (epoch %.2f): %w; training stopped, %s", loop.Step+1, float64(epoch)+float64(k)/float64(s.batches), err, lastGood())
			}
			examples += b.B
			st.NumInputTokensSeen += int64(b.B * b.T)
			st.TotalFlos += 6 * float64(b.B*b.T) * nonEmbedding
		}
		stats, err := loop.Finish()
		if err != nil {
			finish()
			return fmt.Errorf("step %d (epoch %.2f): %w; training stopped, %s", loop.Step+1, float64(epoch)+float64(hi)/float64(s.batches), err, lastGood())
		}
		step := loop.Step
		st.GlobalStep = step
		st.Epoch = float64(epoch) + float64(hi)/float64(s.batches)
		st.Resume.TotalLoss += stats.Loss
		st.Resume.LogLoss += stats.Loss
		st.Resume.LogSteps++
		epochEnd := hi == s.batches
		// Formatting the progress fields allocates: do it a few times a
		// second, not every step.
		barExamples += examples
		if now := time.Now(); now.Sub(barShown) >= 200*time.Millisecond || epochEnd || step == s.maxSteps {
			bar.Update(step, barExamples, fmt.Sprintf("epoch=%.2f", st.Epoch), fmt.Sprintf("loss=%.4f", stats.Loss), fmt.Sprintf("lr=%.3g", stats.LR))
			barExamples, barShown = 0, now
		}
		if r.hooks.OnStep != nil {
			r.hooks.OnStep(step, stats)
		}
		if step%a.LoggingSteps == 0 {
			line := Metrics{"loss": round(st.Resume.LogLoss/float64(st.Resume.LogSteps), 4), "grad_norm": stats.GradNorm,
				"learning_rate": loop.NextLR(), "epoch": st.Epoch, "step": float64(step)}
			st.LogHistory = append(st.LogHistory, line)
			st.Resume.LogLoss, st.Resume.LogSteps = 0, 0
			bar.Println("%s", mustJSON(line))
		}
		if len(r.evalSets) > 0 && ((a.EvalStrategy == "steps" && step%a.EvalSteps == 0) || (a.EvalStrategy == "epoch" && epochEnd)) {
			// As the Trainer, evaluate during training on the first
			// evaluation set only (MNLI: matched).
			met, err := r.evaluate(r.evalSets[0])
			if err != nil {
				return err
			}
			met["epoch"], met["step"] = st.Epoch, float64(step)
			st.LogHistory = append(st.LogHistory, met)
			bar.Println("%s", mustJSON(met))
		}
		st.Resume.TrainSeconds = trainedBefore + time.Since(start).Seconds()
		saveNow := (a.SaveStrategy == "steps" && step%a.SaveSteps == 0) || (a.SaveStrategy == "epoch" && epochEnd) ||
			(a.SaveStrategy != "no" && step == s.maxSteps)
		if tw != nil && s.trajectoryDue(step, every) {
			// The trajectory file goes first: a checkpoint must never be
			// newer than the trajectory it implies.
			if err := tw.Append(m, step, st.Epoch); err != nil {
				return err
			}
			saveNow = true
		}
		if saveNow {
			if err := save(); err != nil {
				return err
			}
		}
	}
	finish()

	runtime := time.Since(start).Seconds()
	samples := float64(s.n) * a.NumTrainEpochs
	if a.MaxSteps > 0 {
		samples = float64(s.maxSteps * s.batch * s.accum)
	}
	train := Metrics{
		"epoch": st.Epoch, "total_flos": st.TotalFlos, "train_loss": st.Resume.TotalLoss / float64(max(1, st.GlobalStep)),
		"train_runtime": round(runtime, 4), "train_samples_per_second": round(samples/runtime, 3),
		"train_steps_per_second": round(float64(s.maxSteps)/runtime, 3),
	}
	line := Metrics{"step": float64(st.GlobalStep)}
	for k, v := range train {
		line[k] = v
	}
	st.LogHistory = append(st.LogHistory, line)
	train["train_samples"] = float64(s.n)
	res.Train = train

	// The final model, as trainer.save_model(): an HF folder in output_dir.
	if err := checkpoint.Save(a.OutputDir, m, safetensors.F32); err != nil {
		return err
	}
	if err := r.tok.Save(a.OutputDir); err != nil {
		return err
	}
	if rp != nil {
		if err := rp.Save(a.OutputDir); err != nil {
			return err
		}
	}
	if err := atomicfile.WriteJSON(filepath.Join(a.OutputDir, "training_args.json"), a); err != nil {
		return err
	}
	printMetrics(r.log, "train", train)
	if err := writeMetricsFile(a.OutputDir, "train", train); err != nil {
		return err
	}
	return atomicfile.WriteJSON(filepath.Join(a.OutputDir, stateFile), st)
}

// resume restores model, optimiser, schedule position and running sums
// from r.resumeDir, after checking that it belongs to this run.
func (r *run) resume(loop *Loop, rp Reparam, st *State, theta0 string) error {
	want := st.Resume
	if err := LoadCheckpoint(r.resumeDir, loop.Model, loop.Opt, st); err != nil {
		return err
	}
	data, err := os.ReadFile(filepath.Join(r.resumeDir, resumeFile))
	if err != nil {
		return fmt.Errorf("%s was not written by subtune finetune: %w", r.resumeDir, err)
	}
	if err := json.Unmarshal(data, &st.Resume); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(r.resumeDir, resumeFile), err)
	}
	got := st.Resume
	var diffs []string
	check := func(what string, a, b any) {
		if a != b {
			diffs = append(diffs, fmt.Sprintf("%s %v (now %v)", what, a, b))
		}
	}
	check("seed", got.Seed, want.Seed)
	check("batch size", got.BatchSize, want.BatchSize)
	check("gradient accumulation", got.Accumulation, want.Accumulation)
	check("train examples", got.TrainExamples, want.TrainExamples)
	check("base model θ0 hash", got.Theta0SHA256, want.Theta0SHA256)
	if len(diffs) > 0 {
		return fmt.Errorf("%s was saved by a different run: %s; a resumed run must use the same model, data and settings", r.resumeDir, strings.Join(diffs, ", "))
	}
	if loop.Opt.Steps != st.GlobalStep {
		return fmt.Errorf("%s: optimizer has %d steps but the state says %d", r.resumeDir, loop.Opt.Steps, st.GlobalStep)
	}
	// Settings that may change on resume take their new values.
	st.MaxSteps, st.LoggingSteps, st.EvalSteps, st.SaveSteps = loop.Config.TotalSteps, r.a.LoggingSteps, r.a.EvalSteps, r.a.SaveSteps
	loop.Step = st.GlobalStep
	if rp != nil {
		if err := rp.Load(r.resumeDir); err != nil {
			return err
		}
	}
	fmt.Fprintf(r.log, "resuming from %s at step %d (epoch %.2f)\n", r.resumeDir, st.GlobalStep, st.Epoch)
	return nil
}

// evaluate scores one evaluation set.
func (r *run) evaluate(set evalSet) (Metrics, error) {
	p, err := predict(r.m, r.ws, r.bt, set.d, r.a.PerDeviceEvalBatchSize)
	if err != nil {
		return nil, err
	}
	return scoreMetrics(r.task, r.regression, set.d, p, r.a.PerDeviceEvalBatchSize)
}

func (r *run) evalRun(res *Result) error {
	all := Metrics{}
	for _, set := range r.evalSets {
		met, err := r.evaluate(set)
		if err != nil {
			return err
		}
		if res.State != nil {
			met["epoch"] = res.State.Epoch
		}
		met["eval_samples"] = float64(set.d.Len())
		for k, v := range met {
			all[k+set.suffix] = v // run_glue suffixes every key of mnli-mm, epoch too
		}
	}
	res.Eval = all
	printMetrics(r.log, "eval", all)
	return writeMetricsFile(r.a.OutputDir, "eval", all)
}

func (r *run) predictRun() error {
	for _, set := range r.testSets {
		p, err := predict(r.m, r.ws, r.bt, set.d, r.a.PerDeviceEvalBatchSize)
		if err != nil {
			return err
		}
		path := filepath.Join(r.a.OutputDir, "predict_results_"+set.name+".txt")
		if err := writePredictions(path, p, r.labelNames); err != nil {
			return err
		}
		fmt.Fprintf(r.log, "***** Predict results %s *****\nwrote %s (%d predictions)\n", set.name, path, set.d.Len())
	}
	return nil
}

// printMetrics prints metrics as Trainer.log_metrics does.
func printMetrics(w io.Writer, split string, m Metrics) {
	fmt.Fprintf(w, "***** %s metrics *****\n", split)
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	})
	width := 0
	for _, k := range keys {
		width = max(width, len(k))
	}
	for _, k := range keys {
		fmt.Fprintf(w, "  %-*s = %s\n", width, k, strconv.FormatFloat(m[k], 'g', 6, 64))
	}
}

func mustJSON(m Metrics) string {
	b, _ := m.MarshalJSON()
	return string(b)
}

// embeddingParams counts the embedding tables, which the Trainer leaves out
// of its FLOP estimate (6 × tokens × non-embedding parameters).
func embeddingParams(m *model.Model) int {
	n := 0
	for _, t := range m.Tensors {
		if strings.Contains(t.Name, "_embeddings.weight") {
			n += t.Size
		}
	}
	return n
}

// commas formats n with thousands separators, as Python's f"{n:,}".
func commas(n int) string { return message.NewPrinter(language.English).Sprintf("%d", n) }
