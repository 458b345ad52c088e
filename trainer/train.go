package trainer

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/subtune/subtune/atomicfile"
	"github.com/subtune/subtune/checkpoint"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/progress"
	"github.com/subtune/subtune/safetensors"
	"github.com/subtune/subtune/trainloop"
	"github.com/subtune/subtune/trajectory"
)

// training is the --do_train part of a run, the fine-tuning Task of
// trainloop.Run: it feeds the shuffled training set in micro-batches,
// keeps the Trainer's state and log, evaluates during training, records
// the trajectory and saves checkpoints.
type training struct {
	r     *run
	s     schedule
	loop  *trainloop.Loop
	hook  ParamHook // nil: full fine-tuning
	st    *State
	ck    *trainloop.Checkpointer
	tw    *trajectory.Writer // nil: no trajectory
	every int                // trajectory every N steps; 0: every epoch
	keep  int                // checkpoints kept (rotateCheckpoints); 0: all
	// newBest says the evaluation of this step scored best so far, which
	// the checkpoint of this step then records.
	newBest bool

	bt           *batcher
	lengths      []int
	order        []int // the training examples' order in epoch orderEpoch
	orderEpoch   int
	nonEmbedding float64 // parameters in the FLOP estimate

	bar         *progress.Reporter
	barShown    time.Time
	barExamples int // examples since the bar was last updated
	start       time.Time
	before      float64 // training seconds of the run before a resume
}

// trainRun fine-tunes r.m on r.train, leaving the final model, its metrics
// and state in the output directory.
func (r *run) trainRun(ctx context.Context, res *Result) error {
	t, err := r.newTraining()
	if err != nil {
		return err
	}
	res.State = t.st
	if err := t.openTrajectory(); err != nil {
		return err
	}
	if t.tw != nil {
		defer t.tw.Close()
		res.TrajectoryDir = t.tw.Dir()
	}
	if t.hook != nil {
		t.hook.BeforeForward()
	}
	t.describe()
	t.start, t.before = time.Now(), t.st.Resume.TrainSeconds
	t.bar = progress.New(r.log, "train", t.loop.Step, t.s.maxSteps, 30*time.Second)
	err = trainloop.Run(ctx, t.loop, t.s.maxSteps, t)
	t.bar.Finish()
	if err != nil {
		return err
	}
	if err := r.loadBest(r.m, t.hook, t.st); err != nil {
		return err
	}
	res.Train = t.metrics()
	return t.saveFinal(res.Train)
}

// newTraining builds the optimiser step and the state of a run, resumed
// from r.resumeDir when there is one.
func (r *run) newTraining() (*training, error) {
	a := &r.a
	m := r.m
	s := newSchedule(a, r.train.Len())
	theta0 := trajectory.HashLayers(m)
	t := &training{r: r, s: s, orderEpoch: -1, lengths: r.train.Lengths(),
		bt:           newBatcher(s.batch, r.maxT, r.tok.PadID(), r.bt.padTo, r.regression),
		nonEmbedding: float64(m.NumParams() - embeddingParams(m))}
	c := trainloop.Config{
		LearningRate: a.LearningRate, WeightDecay: a.WeightDecay,
		Beta1: a.AdamBeta1, Beta2: a.AdamBeta2, Epsilon: a.AdamEpsilon,
		MaxGradNorm: a.MaxGradNorm, WarmupSteps: s.warmup, TotalSteps: s.maxSteps, LRSchedulerType: a.LRSchedulerType,
	}
	if r.hooks.NewParamHook != nil {
		var err error
		if t.hook, err = r.hooks.NewParamHook(m); err != nil {
			return nil, err
		}
	}
	if t.hook != nil {
		c.Hook = t.hook
	}
	t.loop = trainloop.New(m, r.ws, c)
	t.st = &State{
		EvalSteps: a.EvalSteps, LoggingSteps: a.LoggingSteps, MaxSteps: s.maxSteps, NumTrainEpochs: s.epochs,
		SaveSteps: a.SaveSteps, TrainBatchSize: a.PerDeviceTrainBatchSize, IsLocalProcessZero: true, IsWorldProcessZero: true,
		LogHistory: []Metrics{},
	}
	var recording bool
	t.every, recording, _ = trajectory.ParseSchedule(a.SaveTrajectory)
	// Checkpoints are rotated after each save (rotateCheckpoints), which
	// keeps the best one.
	t.ck = &trainloop.Checkpointer{Dir: a.OutputDir, Loop: t.loop, Settings: r.settings(s, theta0), State: t.st,
		Extra: []func(string) error{r.tok.Save, func(dir string) error { // a checkpoint is a loadable model folder
			return atomicfile.WriteJSON(filepath.Join(dir, resumeFile), t.st.Resume)
		}}}
	t.keep = a.SaveTotalLimit
	if t.keep == 0 && recording {
		t.keep = 1 // the trajectory keeps the history; one checkpoint suffices to resume
	}
	if t.hook != nil {
		t.ck.Extra = append(t.ck.Extra, t.hook.Save)
	}
	if r.resumeDir != "" {
		if err := t.resume(); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// settings are what the weights of this run depend on: its arguments
// but those tagged resume:"free", the hooks' settings, and the number of
// training examples and the base model's encoder (θ0's hash) they led to.
func (r *run) settings(s schedule, theta0 string) trainloop.Settings {
	set := trainloop.FlagSettings(r.a)
	maps.Copy(set, r.hooks.Settings)
	set["train examples"] = strconv.Itoa(s.n)
	set["base model encoder SHA-256"] = theta0
	return set
}

// resume restores model, optimiser, schedule position and running sums
// from r.resumeDir, after checking that it belongs to this run: that it
// was saved with the same settings.
func (t *training) resume() error {
	dir := t.r.resumeDir
	if err := t.ck.Load(dir, &t.st.GlobalStep); err != nil {
		return err
	}
	data, err := os.ReadFile(filepath.Join(dir, resumeFile))
	if err != nil {
		return fmt.Errorf("%s was not written by subtune finetune: %w", dir, err)
	}
	if err := json.Unmarshal(data, &t.st.Resume); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(dir, resumeFile), err)
	}
	if t.loop.Opt.Steps != t.st.GlobalStep {
		return fmt.Errorf("%s: optimizer has %d steps but the state says %d", dir, t.loop.Opt.Steps, t.st.GlobalStep)
	}
	// Settings that may change on resume take their new values.
	a := &t.r.a
	t.st.MaxSteps, t.st.LoggingSteps, t.st.EvalSteps, t.st.SaveSteps = t.s.maxSteps, a.LoggingSteps, a.EvalSteps, a.SaveSteps
	if t.hook != nil {
		if err := t.hook.Load(dir); err != nil {
			return err
		}
	}
	fmt.Fprintf(t.r.log, "resuming from %s at step %d (epoch %.2f)\n", dir, t.st.GlobalStep, t.st.Epoch)
	return nil
}

// openTrajectory creates the trajectory, which starts from θ0 before any
// step, or reopens it when resuming, after checking that it holds every
// checkpoint the run saved.
func (t *training) openTrajectory() error {
	r, a := t.r, &t.r.a
	if _, recording, _ := trajectory.ParseSchedule(a.SaveTrajectory); !recording {
		return nil
	}
	var err error
	if r.resumeDir == "" {
		dtype, _ := a.trajectoryDType()
		t.tw, err = trajectory.Create(r.trajectoryDir(), r.m, trajectory.Options{BaseModelPath: a.ModelNameOrPath,
			Task: a.TaskName, Seed: uint64(a.Seed), Schedule: a.SaveTrajectory, DType: dtype})
		return err
	}
	if !trajectory.Exists(r.trajectoryDir()) {
		return fmt.Errorf("the run in %s recorded no trajectory in %s; a trajectory starts at θ0, so it cannot be added to a resumed run", a.OutputDir, r.trajectoryDir())
	}
	theta0 := t.ck.Settings["base model encoder SHA-256"]
	if t.tw, err = trajectory.Resume(r.trajectoryDir(), theta0, t.st.GlobalStep); err != nil {
		return fmt.Errorf("resuming the trajectory: %w", err)
	}
	for step := 1; step <= t.st.GlobalStep; step++ {
		if t.s.trajectoryDue(step, t.every) && !t.tw.Has(step) {
			return fmt.Errorf("the trajectory in %s lacks the checkpoint of step %d, which the run saved before %s", t.tw.Dir(), step, r.resumeDir)
		}
	}
	return nil
}

// describe logs the run as the Trainer does, and what subtune adds.
func (t *training) describe() {
	log, s := t.r.log, t.s
	trainable := t.loop.TrainableParams()
	all := t.r.m.NumParams()
	if t.hook != nil {
		all += trainloop.CountParams(t.hook.Groups())
	}
	fmt.Fprintf(log, "***** Running training *****\n")
	fmt.Fprintf(log, "  Num examples = %s\n  Num Epochs = %d\n  Instantaneous batch size per device = %d\n", commas(s.n), s.epochs, s.batch)
	fmt.Fprintf(log, "  Total train batch size (w. parallel, distributed & accumulation) = %d\n  Gradient Accumulation steps = %d\n", s.batch*s.accum, s.accum)
	fmt.Fprintf(log, "  Total optimization steps = %s\n  Warmup steps = %d\n  Number of trainable parameters = %s\n", commas(s.maxSteps), s.warmup, commas(trainable))
	if t.hook != nil {
		fmt.Fprintf(log, "%s\n", t.hook.Describe())
	}
	fmt.Fprintf(log, "trainable params: %s || all params: %s || trainable%%: %.4f\n", commas(trainable), commas(all), 100*float64(trainable)/float64(all))
	if t.tw != nil {
		fmt.Fprintf(log, "trajectory: %s (%s, %s)\n", t.tw.Dir(), t.r.a.SaveTrajectory, t.tw.Manifest().DType)
	}
}

// Batches yields the micro-batches of the step after `step` steps: the
// next of the epoch's order, each with dropout masks of its own.
func (t *training) Batches(step int) iter.Seq2[*model.Batch, uint64] {
	return func(yield func(*model.Batch, uint64) bool) {
		s, seed := t.s, uint64(t.r.a.Seed)
		epoch, lo, hi := s.micro(step)
		if epoch != t.orderEpoch {
			t.order, t.orderEpoch = epochOrder(seed, epoch, t.lengths, s.batch, t.r.a.GroupByLength), epoch
		}
		for k := lo; k < hi; k++ {
			b := t.bt.fill(t.r.train, t.order[k*s.batch:min((k+1)*s.batch, s.n)])
			if !yield(b, dropoutSeed(seed, epoch*s.batches+k)) {
				return
			}
			t.barExamples += b.B
			t.st.NumInputTokensSeen += int64(b.B * b.T)
			t.st.TotalFlos += 6 * float64(b.B*b.T) * t.nonEmbedding
		}
	}
}

// Stepped keeps the state and the log of the step just taken, evaluates
// when due, and appends to the trajectory when due, which a checkpoint
// must then follow.
func (t *training) Stepped(stats trainloop.StepStats) (bool, error) {
	a, st, step := &t.r.a, t.st, t.loop.Step
	_, _, hi := t.s.micro(step - 1)
	epochEnd := hi == t.s.batches
	st.GlobalStep = step
	st.Epoch = t.s.epochAt(step - 1)
	st.Resume.TotalLoss += stats.Loss
	st.Resume.LogLoss += stats.Loss
	st.Resume.LogSteps++
	t.showProgress(stats, epochEnd)
	if t.r.hooks.OnStep != nil {
		t.r.hooks.OnStep(step, stats)
	}
	if (a.LoggingStrategy == "steps" && step%a.LoggingSteps == 0) || (a.LoggingStrategy == "epoch" && epochEnd) {
		t.logLoss(stats)
	}
	t.newBest = false
	if len(t.r.evalSets) > 0 && ((a.EvalStrategy == "steps" && step%a.EvalSteps == 0) || (a.EvalStrategy == "epoch" && epochEnd)) {
		if err := t.evaluate(); err != nil {
			return false, err
		}
	}
	st.Resume.TrainSeconds = t.before + time.Since(t.start).Seconds()
	save := (a.SaveStrategy == "steps" && step%a.SaveSteps == 0) || (a.SaveStrategy == "epoch" && epochEnd) ||
		(a.SaveStrategy != "no" && step == t.s.maxSteps)
	if t.tw != nil && t.s.trajectoryDue(step, t.every) {
		// The trajectory file goes first: a checkpoint must never be
		// newer than the trajectory it implies.
		if err := t.tw.Append(t.r.m, step, st.Epoch); err != nil {
			return false, err
		}
		save = true
	}
	return save, nil
}

// showProgress updates the progress bar. Formatting its fields allocates:
// it is done a few times a second, not every step.
func (t *training) showProgress(stats trainloop.StepStats, epochEnd bool) {
	step := t.loop.Step
	if now := time.Now(); now.Sub(t.barShown) >= 200*time.Millisecond || epochEnd || step == t.s.maxSteps {
		t.bar.Update(step, t.barExamples, fmt.Sprintf("epoch=%.2f", t.st.Epoch), fmt.Sprintf("loss=%.4f", stats.Loss), fmt.Sprintf("lr=%.3g", stats.LR))
		t.barExamples, t.barShown = 0, now
	}
}

// logLoss adds the mean loss since the last such line to the log history.
func (t *training) logLoss(stats trainloop.StepStats) {
	st := t.st
	line := Metrics{"loss": round(st.Resume.LogLoss/float64(st.Resume.LogSteps), 4), "grad_norm": stats.GradNorm,
		"learning_rate": t.loop.NextLR(), "epoch": st.Epoch, "step": float64(st.GlobalStep)}
	st.LogHistory = append(st.LogHistory, line)
	st.Resume.LogLoss, st.Resume.LogSteps = 0, 0
	t.bar.Println("%s", mustJSON(line))
}

// evaluate scores, as the Trainer does during training, the first
// evaluation set only (MNLI: matched).
func (t *training) evaluate() error {
	met, err := t.r.evaluate(t.r.evalSets[0])
	if err != nil {
		return err
	}
	met["epoch"], met["step"] = t.st.Epoch, float64(t.st.GlobalStep)
	t.st.LogHistory = append(t.st.LogHistory, met)
	t.bar.Println("%s", mustJSON(met))
	t.newBest, err = t.r.trackBest(t.st, met)
	return err
}

// Checkpoint saves the checkpoint of the current step.
func (t *training) Checkpoint() (string, error) {
	t.st.Resume.TrainSeconds = t.before + time.Since(t.start).Seconds()
	a := &t.r.a
	if t.newBest {
		best := filepath.Join(a.OutputDir, fmt.Sprintf("%s%d", trainloop.CheckpointPrefix, t.loop.Step))
		t.st.BestModelCheckpoint = &best
	}
	dir, err := t.ck.Save()
	if err != nil {
		return "", err
	}
	rotateCheckpoints(a.OutputDir, t.keep, t.st.BestModelCheckpoint, a.LoadBestModelAtEnd)
	return dir, nil
}

// Stopped names the step that failed and the checkpoint to continue from.
func (t *training) Stopped(step int, err error) error {
	last := "no checkpoint had been saved yet"
	if c, ok := trainloop.LatestCheckpoint(t.r.a.OutputDir); ok {
		last = "the last good checkpoint is " + c + " (continue from it with --resume)"
	}
	return fmt.Errorf("step %d (epoch %.2f): %w; training stopped, %s", step+1, t.s.epochAt(step), err, last)
}

// metrics are train_results.json's, and the log history's last line.
func (t *training) metrics() Metrics {
	a, s, st := &t.r.a, t.s, t.st
	runtime := time.Since(t.start).Seconds()
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
	maps.Copy(line, train)
	st.LogHistory = append(st.LogHistory, line)
	train["train_samples"] = float64(s.n)
	return train
}

// saveFinal writes the final model as trainer.save_model() does, an HF
// folder in output_dir, with the run's arguments, metrics and state.
func (t *training) saveFinal(train Metrics) error {
	a := &t.r.a
	saveModel := t.r.hooks.SaveModel
	if saveModel == nil {
		saveModel = func(dir string, m *model.Model) error { return checkpoint.Save(dir, m, safetensors.F32) }
	}
	if err := saveModel(a.OutputDir, t.r.m); err != nil {
		return err
	}
	if err := t.r.tok.Save(a.OutputDir); err != nil {
		return err
	}
	if t.hook != nil {
		if err := t.hook.Save(a.OutputDir); err != nil {
			return err
		}
	}
	if err := atomicfile.WriteJSON(filepath.Join(a.OutputDir, "training_args.json"), a); err != nil {
		return err
	}
	printMetrics(t.r.log, "train", train)
	if err := writeMetricsFile(a.OutputDir, "train", train); err != nil {
		return err
	}
	return atomicfile.WriteJSON(filepath.Join(a.OutputDir, trainloop.StateFile), t.st)
}
