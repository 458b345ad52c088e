package trainer

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/subtune/subtune/glue"
	"github.com/subtune/subtune/internal/testmodel"
	"github.com/subtune/subtune/model"
)

// writeFakeMNLI writes a tiny MNLI folder (GLUE file names, columns read
// by name) with n rows per file.
func writeFakeMNLI(t *testing.T, n int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "MNLI")
	os.MkdirAll(dir, 0o755)
	words := strings.Fields("the cat sat on a mat while dogs ran in park and birds sang over trees")
	rng := rand.New(rand.NewPCG(1, 2))
	sentence := func() string {
		w := make([]string, 3+rng.IntN(8))
		for i := range w {
			w[i] = words[rng.IntN(len(words))]
		}
		return strings.Join(w, " ")
	}
	labels := []string{"entailment", "neutral", "contradiction"}
	for _, f := range []string{"train.tsv", "dev_matched.tsv", "dev_mismatched.tsv", "test_matched.tsv", "test_mismatched.tsv"} {
		var b strings.Builder
		test := strings.HasPrefix(f, "test")
		if test {
			b.WriteString("index\tsentence1\tsentence2\n")
		} else {
			b.WriteString("index\tsentence1\tsentence2\tgold_label\n")
		}
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "%d\t%s\t%s", i, sentence(), sentence())
			if !test {
				fmt.Fprintf(&b, "\t%s", labels[rng.IntN(3)])
			}
			b.WriteByte('\n')
		}
		os.WriteFile(filepath.Join(dir, f), []byte(b.String()), 0o644)
	}
	return filepath.Dir(dir) // a GLUE root
}

// TestTaskOutputs checks what run_glue writes for tasks of each kind.
func TestTaskOutputs(t *testing.T) {
	modelDir := tinyModelDir(t, testmodel.Tiny(1))
	mnliRoot := writeFakeMNLI(t, 24)
	userDir := t.TempDir()
	csv := "sentence1,sentence2,label\n"
	for i := 0; i < 20; i++ {
		csv += fmt.Sprintf("\"a, b %d\",c d e,%s\n", i, []string{"pos", "neg"}[i%2])
	}
	os.WriteFile(filepath.Join(userDir, "train.csv"), []byte(csv), 0o644)
	os.WriteFile(filepath.Join(userDir, "dev.csv"), []byte(csv), 0o644)

	for _, tc := range []struct {
		name      string
		setup     func(a *Args)
		evalKeys  []string
		predFiles map[string]string // file → a line it must contain
	}{
		{"mnli matched and mismatched", func(a *Args) { a.TaskName, a.DataDir = "mnli", mnliRoot },
			[]string{"eval_accuracy", "eval_loss", "eval_accuracy_mm", "eval_loss_mm", "eval_samples_mm", "epoch_mm"},
			map[string]string{"predict_results_mnli.txt": "index\tprediction", "predict_results_mnli-mm.txt": "index\tprediction"}},
		{"mrpc has f1 and combined_score", func(a *Args) { a.TaskName = "mrpc" },
			[]string{"eval_accuracy", "eval_f1", "eval_combined_score"},
			map[string]string{"predict_results_mrpc.txt": "equivalent"}},
		{"stsb regression", func(a *Args) { a.TaskName = "stsb" },
			[]string{"eval_pearson", "eval_spearmanr", "eval_combined_score", "eval_loss"},
			map[string]string{"predict_results_stsb.txt": "."}},
		{"cola", func(a *Args) { a.TaskName = "cola" }, []string{"eval_matthews_correlation"}, nil},
		{"own csv files", func(a *Args) {
			a.TaskName, a.TrainFile, a.ValidationFile = "", filepath.Join(userDir, "train.csv"), filepath.Join(userDir, "dev.csv")
			a.DoPredict = false
		}, []string{"eval_accuracy", "eval_loss"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			a := tinyArgs(modelDir, out)
			a.NumTrainEpochs, a.MaxTrainSamples, a.MaxEvalSamples = 1, 16, 12
			a.DoPredict, a.MaxPredictSamples = true, 5
			tc.setup(&a)
			var log strings.Builder
			if _, err := Finetune(context.Background(), a, &log, Hooks{}); err != nil {
				t.Fatalf("%v\n%s", err, log.String())
			}
			var eval map[string]*float64 // null (NaN) must read back
			readJSON(t, filepath.Join(out, "eval_results.json"), &eval)
			for _, k := range tc.evalKeys {
				if _, ok := eval[k]; !ok {
					t.Errorf("eval_results.json lacks %s: %v", k, keys(eval))
				}
			}
			for f, want := range tc.predFiles {
				data, err := os.ReadFile(filepath.Join(out, f))
				if err != nil || !strings.Contains(string(data), want) || strings.Count(string(data), "\n") != 6 {
					t.Errorf("%s: %v\n%s", f, err, data)
				}
			}
		})
	}
}

func keys[V any](m map[string]V) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	slices.Sort(k)
	return k
}

// TestGradientAccumulation: without dropout, 2 micro-batches of 4 per
// step give the update of one batch of 8, up to float rounding.
func TestGradientAccumulation(t *testing.T) {
	c := testmodel.Tiny(2)
	c.HiddenDropoutProb, c.AttentionDropoutProb = 0, 0
	modelDir := tinyModelDir(t, c)
	run := func(batch, accum int) []float32 {
		a := tinyArgs(modelDir, t.TempDir())
		a.NumTrainEpochs, a.DoEval = 1, false
		a.PerDeviceTrainBatchSize, a.GradientAccumulationSteps = batch, accum
		res, err := Finetune(context.Background(), a, io.Discard, Hooks{})
		if err != nil {
			t.Fatal(err)
		}
		if res.State.GlobalStep != 8 {
			t.Fatalf("batch %d × %d: %d steps, want 8", batch, accum, res.State.GlobalStep)
		}
		return res.Model.Data
	}
	one, two := run(8, 1), run(4, 2)
	var worst float64
	for i := range one {
		worst = max(worst, math.Abs(float64(one[i]-two[i])))
	}
	t.Logf("max |Δ| = %.3g", worst)
	if worst > 1e-5 {
		t.Fatalf("accumulated steps differ from big-batch steps by %g", worst)
	}
}

func TestEpochOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	lengths := make([]int, 1000)
	for i := range lengths {
		lengths[i] = 5 + rng.IntN(120)
	}
	for _, group := range []bool{false, true} {
		a := epochOrder(42, 0, lengths, 8, group)
		if !slices.Equal(a, epochOrder(42, 0, lengths, 8, group)) {
			t.Fatal("order is not a function of (seed, epoch)")
		}
		if slices.Equal(a, epochOrder(42, 1, lengths, 8, group)) || slices.Equal(a, epochOrder(43, 0, lengths, 8, group)) {
			t.Fatal("epochs or seeds share an order")
		}
		sorted := slices.Clone(a)
		slices.Sort(sorted)
		for i, v := range sorted {
			if v != i {
				t.Fatal("not a permutation")
			}
		}
		if !group {
			continue
		}
		// LengthGroupedSampler: the longest example first, mega-batches of
		// min(1000/32, 50) = 31 batches sorted longest first.
		if lengths[a[0]] != slices.Max(lengths) {
			t.Error("the longest example is not first")
		}
		mega := 31 * 8
		for lo := 0; lo < len(a); lo += mega {
			part := a[lo:min(lo+mega, len(a))]
			for i := 2; i < len(part); i++ {
				if lengths[part[i]] > lengths[part[i-1]] {
					t.Fatalf("mega-batch at %d is not sorted by length", lo)
				}
			}
		}
	}
}

func TestSetFromJSON(t *testing.T) {
	a := DefaultArgs()
	err := a.SetFromJSON([]byte(`{"model_name_or_path": "m", "task_name": "rte", "do_train": true,
		"num_train_epochs": 3.0, "per_device_train_batch_size": 16.0, "learning_rate": 1e-5,
		"evaluation_strategy": "steps", "max_steps": null, "output-dir": "o"}`), func(k string) bool { return k == "learning_rate" })
	if err != nil {
		t.Fatal(err)
	}
	if a.ModelNameOrPath != "m" || a.TaskName != "rte" || !a.DoTrain || a.NumTrainEpochs != 3 ||
		a.PerDeviceTrainBatchSize != 16 || a.LearningRate != 2e-5 || a.EvalStrategy != "steps" || a.MaxSteps != -1 || a.OutputDir != "o" {
		t.Fatalf("%+v", a)
	}
	b := DefaultArgs()
	if err := b.SetFromJSON([]byte(`{"eval_steps": 10}`), nil); err != nil || b.EvalSteps != 10 || b.EvalStrategy != "steps" {
		t.Fatalf("eval_steps alone: %v %+v", err, b)
	}
	for _, bad := range []string{`{"no_such_flag": 1}`, `{"seed": "x"}`, `{"seed": 1.5}`, `[1]`} {
		c := DefaultArgs()
		if err := c.SetFromJSON([]byte(bad), nil); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// TestValidate lists arguments that must be refused before any work, each
// with the message naming it.
func TestValidate(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	for _, tc := range []struct {
		name string
		edit func(a *Args)
		want string
	}{
		{"no model", func(a *Args) { a.ModelNameOrPath = "" }, "--model_name_or_path is required"},
		{"no task", func(a *Args) { a.TaskName = "" }, "need --task_name"},
		{"nothing to do", func(a *Args) { a.DoTrain, a.DoEval = false, false }, "nothing to do"},
		{"bad schedule", func(a *Args) { a.LRSchedulerType = "cosnie" }, "--lr_scheduler_type \"cosnie\": want one of"},
		{"bad trajectory", func(a *Args) { a.SaveTrajectory = "sometimes" }, "sometimes"},
		{"bad trajectory dtype", func(a *Args) { a.TrajectoryDType = "f16" }, "--trajectory_dtype"},
		{"bad strategy", func(a *Args) { a.EvalStrategy = "often" }, "--eval_strategy"},
		{"zero accumulation", func(a *Args) { a.GradientAccumulationSteps = 0 }, "--gradient_accumulation_steps 0: want an integer ≥ 1"},
		{"warmup ratio", func(a *Args) { a.WarmupRatio = 2 }, "--warmup_ratio 2: want a finite number in [0, 1]"},
		{"epochs nan", func(a *Args) { a.NumTrainEpochs = nan }, "--num_train_epochs NaN: want a finite number > 0"},
		{"epochs inf", func(a *Args) { a.NumTrainEpochs = inf }, "--num_train_epochs +Inf: want a finite number > 0"},
		{"epochs zero", func(a *Args) { a.NumTrainEpochs = 0 }, "--num_train_epochs 0: want a finite number > 0"},
		{"epochs nan with max_steps", func(a *Args) { a.NumTrainEpochs, a.MaxSteps = nan, 5 }, "--num_train_epochs NaN: want a finite number ≥ 0"},
		{"lr nan", func(a *Args) { a.LearningRate = nan }, "--learning_rate NaN: want a finite number in (0, 10]"},
		{"lr inf", func(a *Args) { a.LearningRate = inf }, "--learning_rate +Inf"},
		{"lr absurd", func(a *Args) { a.LearningRate = 1e10 }, "--learning_rate 1e+10: want a finite number in (0, 10]"},
		{"lr zero", func(a *Args) { a.LearningRate = 0 }, "--learning_rate 0"},
		{"lr negative", func(a *Args) { a.LearningRate = -1e-5 }, "--learning_rate -1e-05"},
		{"weight decay nan", func(a *Args) { a.WeightDecay = nan }, "--weight_decay NaN: want a finite number ≥ 0"},
		{"weight decay negative", func(a *Args) { a.WeightDecay = -0.1 }, "--weight_decay -0.1"},
		{"decay flips weights", func(a *Args) { a.LearningRate, a.WeightDecay = 0.1, 20 }, "--learning_rate 0.1 × --weight_decay 20 = 2: each step would multiply the weights by -1"},
		{"adam epsilon zero", func(a *Args) { a.AdamEpsilon = 0 }, "--adam_epsilon 0: want a finite number > 0"},
		{"adam beta1", func(a *Args) { a.AdamBeta1 = 1.5 }, "--adam_beta1 1.5: want a finite number in [0, 1)"},
		{"adam beta2 one", func(a *Args) { a.AdamBeta2 = 1 }, "--adam_beta2 1: want a finite number in [0, 1)"},
		{"adam beta2 negative", func(a *Args) { a.AdamBeta2 = -0.1 }, "--adam_beta2 -0.1"},
		{"max grad norm nan", func(a *Args) { a.MaxGradNorm = nan }, "--max_grad_norm NaN: want a finite number ≥ 0 (0: no clipping)"},
		{"max grad norm negative", func(a *Args) { a.MaxGradNorm = -1 }, "--max_grad_norm -1"},
		{"max steps zero", func(a *Args) { a.MaxSteps = 0 }, "--max_steps 0: want an integer ≥ 1 (or -1: --num_train_epochs decides)"},
		{"max steps -5", func(a *Args) { a.MaxSteps = -5 }, "--max_steps -5"},
		{"max train samples", func(a *Args) { a.MaxTrainSamples = -5 }, "--max_train_samples -5: want an integer ≥ 0 (0: all)"},
		{"max eval samples", func(a *Args) { a.MaxEvalSamples = -1 }, "--max_eval_samples -1"},
		{"max predict samples", func(a *Args) { a.MaxPredictSamples = -1 }, "--max_predict_samples -1"},
		{"max seq length", func(a *Args) { a.MaxSeqLength = 0 }, "--max_seq_length 0: want an integer ≥ 1"},
		{"train batch", func(a *Args) { a.PerDeviceTrainBatchSize = 0 }, "--per_device_train_batch_size 0"},
		{"eval batch", func(a *Args) { a.PerDeviceEvalBatchSize = -8 }, "--per_device_eval_batch_size -8"},
		{"warmup steps", func(a *Args) { a.WarmupSteps = -1 }, "--warmup_steps -1"},
		{"eval steps", func(a *Args) { a.EvalSteps = -1 }, "--eval_steps -1: want an integer ≥ 0 (0: --logging_steps)"},
		{"logging steps", func(a *Args) { a.LoggingSteps = 0 }, "--logging_steps 0"},
		{"save steps", func(a *Args) { a.SaveSteps = -5 }, "--save_steps -5"},
		{"save total limit", func(a *Args) { a.SaveTotalLimit = -1 }, "--save_total_limit -1"},
		{"threads", func(a *Args) { a.Threads = -2 }, "--threads -2: want an integer ≥ 0 (0: all cores)"},
	} {
		a := tinyArgs("m", "o")
		tc.edit(&a)
		err := a.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
	a := tinyArgs("m", "o")
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestOutputDirRules: run_glue refuses a non-empty output directory
// unless told to overwrite it or to resume.
func TestOutputDirRules(t *testing.T) {
	modelDir := tinyModelDir(t, testmodel.Tiny(1))
	out := t.TempDir()
	os.WriteFile(filepath.Join(out, "old.txt"), nil, 0o644)
	a := tinyArgs(modelDir, out)
	a.MaxSteps, a.DoEval = 2, false
	if _, err := Finetune(context.Background(), a, io.Discard, Hooks{}); err == nil || !strings.Contains(err.Error(), "--overwrite_output_dir") {
		t.Fatalf("non-empty output dir: %v", err)
	}
	a.OverwriteOutputDir = true
	if _, err := Finetune(context.Background(), a, io.Discard, Hooks{}); err != nil {
		t.Fatal(err)
	}
}

// TestBatchFillAllocs: assembling a padded batch reuses its buffers.
func TestBatchFillAllocs(t *testing.T) {
	d := &Dataset{Examples: make([]glue.Example, 3), ids: []int32{1, 2, 3, 4, 5, 6}, types: make([]int32, 6), start: []int{0, 1, 3, 6}}
	for i := range d.Examples {
		d.Examples[i].HasLabel, d.Examples[i].Label = true, i%2
	}
	bt := newBatcher(4, 8, 0, 0, false)
	idx := []int{2, 0, 1}
	var b *model.Batch
	if n := testing.AllocsPerRun(100, func() { b = bt.fill(d, idx) }); n != 0 {
		t.Fatalf("fill allocates %v times", n)
	}
	if b.T != 3 || !slices.Equal(b.InputIDs, []int32{4, 5, 6, 1, 0, 0, 2, 3, 0}) ||
		!slices.Equal(b.AttentionMask, []int32{1, 1, 1, 1, 0, 0, 1, 1, 0}) || !slices.Equal(b.Labels, []int32{0, 0, 1}) {
		t.Fatalf("batch %+v", b)
	}
}
