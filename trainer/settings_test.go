package trainer

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/subtune/subtune/internal/testmodel"
	"github.com/subtune/subtune/trainloop"
)

// TestResumeSettings: a run resumed with any option that changes the
// weights set otherwise is refused, the error naming each such option with
// its old and new value; options that cannot change the weights may differ.
func TestResumeSettings(t *testing.T) {
	modelDir := tinyModelDir(t, testmodel.Tiny(1))
	sameWeights := filepath.Join(t.TempDir(), "model-copy")
	if err := os.CopyFS(sameWeights, os.DirFS(modelDir)); err != nil {
		t.Fatal(err)
	}
	otherWeights := testmodel.New(t, testmodel.Tiny(1), 0, 2)
	args := func(out string) Args {
		a := tinyArgs(modelDir, out)
		a.NumTrainEpochs, a.SaveSteps, a.DoEval = 2, 4, false // 16 steps
		return a
	}
	stopped := stoppedRun(t, args(t.TempDir()), Hooks{Settings: trainloop.Settings{"--ensemble": "2"}}, 8)
	for _, tc := range []struct {
		name  string
		edit  func(a *Args, h *Hooks)
		wants []string // nil: the resume must succeed
	}{
		{"learning_rate", func(a *Args, h *Hooks) { a.LearningRate = 1e-3 }, []string{"--learning_rate 0.003 (now 0.001)"}},
		{"weight_decay", func(a *Args, h *Hooks) { a.WeightDecay = 0.01 }, []string{"--weight_decay 0 (now 0.01)"}},
		{"adam", func(a *Args, h *Hooks) { a.AdamBeta1, a.AdamBeta2, a.AdamEpsilon = 0.8, 0.99, 1e-6 }, []string{
			"--adam_beta1 0.9 (now 0.8)", "--adam_beta2 0.999 (now 0.99)", "--adam_epsilon 1e-08 (now 1e-06)"}},
		{"max_grad_norm", func(a *Args, h *Hooks) { a.MaxGradNorm = 0 }, []string{"--max_grad_norm 1 (now 0)"}},
		{"warmup_ratio", func(a *Args, h *Hooks) { a.WarmupRatio = 0.2 }, []string{"--warmup_ratio 0.1 (now 0.2)"}},
		{"warmup_steps", func(a *Args, h *Hooks) { a.WarmupSteps = 3 }, []string{"--warmup_steps 0 (now 3)"}},
		{"num_train_epochs", func(a *Args, h *Hooks) { a.NumTrainEpochs = 3 }, []string{"--num_train_epochs 2 (now 3)"}},
		{"max_steps", func(a *Args, h *Hooks) { a.MaxSteps = 12 }, []string{"--max_steps -1 (now 12)"}},
		{"seed", func(a *Args, h *Hooks) { a.Seed = 7 }, []string{"--seed 42 (now 7)"}},
		{"batch", func(a *Args, h *Hooks) { a.PerDeviceTrainBatchSize, a.GradientAccumulationSteps = 4, 2 }, []string{
			"--per_device_train_batch_size 8 (now 4)", "--gradient_accumulation_steps 1 (now 2)"}},
		{"max_seq_length", func(a *Args, h *Hooks) { a.MaxSeqLength = 64 }, []string{"--max_seq_length 32 (now 64)"}},
		{"padding and order", func(a *Args, h *Hooks) { a.PadToMaxLength, a.GroupByLength = true, true }, []string{
			"--pad_to_max_length false (now true)", "--group_by_length false (now true)"}},
		{"max_train_samples", func(a *Args, h *Hooks) { a.MaxTrainSamples = 48 }, []string{
			"--max_train_samples 64 (now 48)", "train examples 64 (now 48)"}},
		{"task_name", func(a *Args, h *Hooks) { a.TaskName = "cola" }, []string{"--task_name sst2 (now cola)"}},
		{"model moved", func(a *Args, h *Hooks) { a.ModelNameOrPath = sameWeights }, []string{
			"--model_name_or_path " + modelDir + " (now " + sameWeights + ")"}},
		{"other model", func(a *Args, h *Hooks) { a.ModelNameOrPath = otherWeights }, []string{
			"--model_name_or_path " + modelDir, "base model encoder SHA-256 "}},
		{"trajectory", func(a *Args, h *Hooks) { a.SaveTrajectory = "epoch" }, []string{`--save_trajectory "" (now epoch)`}},
		{"hook settings", func(a *Args, h *Hooks) { h.Settings = trainloop.Settings{"--ensemble": "4", "--subspace": "s"} }, []string{
			"--ensemble 2 (now 4)", "--subspace not given (now s)"}},
		{"hook settings dropped", func(a *Args, h *Hooks) { h.Settings = nil }, []string{"--ensemble 2 (now not given)"}},
		{"free options", func(a *Args, h *Hooks) {
			a.LoggingSteps, a.PerDeviceEvalBatchSize, a.Threads, a.SaveSteps, a.SaveTotalLimit = 3, 4, 1, 5, 1
			a.DoEval, a.EvalStrategy, a.MaxEvalSamples, a.DoPredict, a.MaxPredictSamples = true, "steps", 16, true, 8
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := copyRun(t, stopped)
			a, hooks := args(out), Hooks{Settings: trainloop.Settings{"--ensemble": "2"}}
			a.Resume = true
			tc.edit(&a, &hooks)
			var log strings.Builder
			_, err := Finetune(context.Background(), a, &log, hooks)
			if tc.wants == nil {
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(log.String(), "resuming from "+filepath.Join(out, "checkpoint-8")) {
					t.Fatalf("did not resume:\n%s", log.String())
				}
				return
			}
			if err == nil {
				t.Fatal("resumed with other settings")
			}
			t.Log(err)
			if !strings.Contains(err.Error(), filepath.Join(out, "checkpoint-8")+" was saved by a run with other settings") {
				t.Errorf("error does not name the checkpoint")
			}
			for _, want := range tc.wants {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q", want)
				}
			}
		})
	}
}
