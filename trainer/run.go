package trainer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/subtune/subtune/blas"
	"github.com/subtune/subtune/checkpoint"
	"github.com/subtune/subtune/dirlock"
	"github.com/subtune/subtune/glue"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/tokenizer"
	"github.com/subtune/subtune/trainloop"
	"github.com/subtune/subtune/trajectory"
)

// Hooks extend a run without changing its arithmetic.
type Hooks struct {
	// NewParamHook, when set, changes what the model trains (subspace
	// training). It is called once the model is loaded, its new head
	// initialised and θ0 hashed, before any checkpoint is restored.
	NewParamHook func(m *model.Model) (ParamHook, error)
	// OnStep is called after every optimiser step, with the step count.
	OnStep func(step int, st trainloop.StepStats)
	// Settings are options beyond Args that change the weights (those of
	// NewParamHook), by flag name ("--subspace"): a resumed run must have
	// the same.
	Settings trainloop.Settings
	// SaveModel, when set, writes the trained model into the output
	// directory in place of checkpoint.Save (save_pretrained): a subspace
	// run writes its adapter, with or without the merged model.
	SaveModel func(dir string, m *model.Model) error
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
	// The folder is this run's until it returns: a second run into it, or
	// an --overwrite_output_dir of it, is refused while this one lives.
	lock, err := dirlock.Acquire(a.OutputDir)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	// The engine's thread count is the program's to set (nn.SetThreads;
	// cmd/subtune does it from --threads): a library call changes no
	// process-wide setting. The log names the kernels and threads it used.
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
	if a.BF16 {
		fmt.Fprintf(log, "bf16 mixed precision: %s\n", blas.BF16Describe())
	}
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
		if dir, ok := trainloop.LatestCheckpoint(a.OutputDir); ok {
			r.resumeDir = dir
		}
	}
	if (a.Resume || r.resumeDir != "") && !a.DoTrain {
		return errors.New("--resume needs --do_train")
	}
	entries, _ := os.ReadDir(a.OutputDir)
	entries = slices.DeleteFunc(entries, func(e os.DirEntry) bool { return e.Name() == dirlock.FileName })
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
		if err := trainloop.RemoveCheckpoints(a.OutputDir); err != nil {
			return err
		}
		if err := trajectory.Remove(r.trajectoryDir()); err != nil {
			return err
		}
	}
	if a.DoTrain {
		// What a run of this folder killed mid-write left behind.
		if err := trainloop.RemoveTemporaries(a.OutputDir); err != nil {
			return err
		}
	}
	if _, recording, _ := trajectory.ParseSchedule(a.SaveTrajectory); recording && a.DoTrain && a.TrajectoryDir != "" {
		// A trajectory outside the output folder must be writable too,
		// which is better known now than after the data is loaded.
		if err := os.MkdirAll(a.TrajectoryDir, 0o755); err != nil {
			return fmt.Errorf("--trajectory_dir %s cannot be created: %w", a.TrajectoryDir, err)
		}
		if err := dirlock.CheckWritable(a.TrajectoryDir); err != nil {
			return fmt.Errorf("--trajectory_dir %w", err)
		}
	}
	return nil
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
	use := model.Usage{Batch: max(a.PerDeviceTrainBatchSize, a.PerDeviceEvalBatchSize), SeqLen: a.MaxSeqLength, Train: a.DoTrain, BF16: a.BF16}
	m, rep, err := checkpoint.Load(a.ModelNameOrPath, model.SequenceClassification, checkpoint.Options{Labels: labels, Seed: uint64(a.Seed), Usage: use})
	if err != nil {
		return err
	}
	if err := m.SetBF16(a.BF16); err != nil {
		return fmt.Errorf("--bf16: %w", err)
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
	maxLen, warning := tokenizer.CapLength(a.MaxSeqLength, m.Config.PositionLimit(), tok.MaxLength())
	if warning != "" {
		fmt.Fprintf(r.log, "warning: %s\n", warning)
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

// evaluate scores one evaluation set.
func (r *run) evaluate(set evalSet) (Metrics, error) {
	p, err := predict(r.m, r.ws, r.bt, set.d, r.a.PerDeviceEvalBatchSize)
	if err != nil {
		return nil, err
	}
	return scoreMetrics(r.task, r.regression, set.d, p)
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
