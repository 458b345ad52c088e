package trainer

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/subtune/subtune/internal/testmodel"
	"github.com/subtune/subtune/trajectory"
)

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestFinetuneSST2 runs a short fine-tuning end to end: the loss must
// fall, the output directory must have the Trainer's layout, and the
// trajectory must be one the reader accepts.
func TestFinetuneSST2(t *testing.T) {
	modelDir := tinyModelDir(t, testmodel.Tiny(2))
	out := t.TempDir()
	a := tinyArgs(modelDir, out)
	// 32 examples, 8 epochs of 4 steps at a high learning rate: enough
	// for the tiny model to start memorising them.
	a.MaxTrainSamples, a.NumTrainEpochs, a.LearningRate = 32, 8, 1e-2
	a.DoPredict, a.MaxPredictSamples = true, 10
	a.SaveTrajectory = "epoch"
	var log strings.Builder
	res, err := Finetune(context.Background(), a, &log, Hooks{})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	t.Log(log.String())

	var st State
	readJSON(t, filepath.Join(out, "trainer_state.json"), &st)
	var losses []float64
	for _, l := range st.LogHistory {
		if v, ok := l["loss"]; ok {
			losses = append(losses, v)
		}
	}
	if st.GlobalStep != 32 || len(losses) != 32 {
		t.Fatalf("global_step %d with %d logged losses, want 32", st.GlobalStep, len(losses))
	}
	first, last := mean(losses[:4]), mean(losses[28:])
	t.Logf("mean loss epoch 1 %.4f, epoch 8 %.4f", first, last)
	if last > 0.8*first {
		t.Errorf("training loss did not fall: epoch 1 %.4f, epoch 8 %.4f", first, last)
	}

	for _, f := range []string{"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json",
		"train_results.json", "eval_results.json", "all_results.json", "trainer_state.json", "training_args.json",
		"predict_results_sst2.txt", "checkpoint-32/model.safetensors", "checkpoint-32/optimizer.safetensors"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("output lacks %s", f)
		}
	}
	var train, eval, all map[string]float64
	readJSON(t, filepath.Join(out, "train_results.json"), &train)
	readJSON(t, filepath.Join(out, "eval_results.json"), &eval)
	readJSON(t, filepath.Join(out, "all_results.json"), &all)
	for _, k := range []string{"epoch", "train_loss", "train_runtime", "train_samples", "train_samples_per_second", "total_flos"} {
		if _, ok := train[k]; !ok || all[k] != train[k] {
			t.Errorf("train_results/all_results lack %s", k)
		}
	}
	for _, k := range []string{"eval_accuracy", "eval_loss", "eval_samples", "eval_runtime", "epoch"} {
		if _, ok := eval[k]; !ok || all[k] != eval[k] {
			t.Errorf("eval_results/all_results lack %s", k)
		}
	}
	if eval["eval_samples"] != 32 || train["train_samples"] != 32 || res.Eval["eval_accuracy"] != eval["eval_accuracy"] {
		t.Errorf("eval %v train %v", eval, train)
	}
	pred, _ := os.ReadFile(filepath.Join(out, "predict_results_sst2.txt"))
	lines := strings.Split(strings.TrimSpace(string(pred)), "\n")
	if len(lines) != 11 || lines[0] != "index\tprediction" || !(strings.HasSuffix(lines[1], "\tpositive") || strings.HasSuffix(lines[1], "\tnegative")) {
		t.Errorf("predictions:\n%s", pred)
	}
	// Eight epochs: eight checkpoints, and θ0.
	r, err := trajectory.Open(res.TrajectoryDir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Verify(); err != nil {
		t.Fatal(err)
	}
	if r.NumCheckpoints() != 8 || r.Manifest.Checkpoints[7].Step != 32 || r.Manifest.Checkpoints[0].Epoch != 1 {
		t.Fatalf("trajectory checkpoints %+v", r.Manifest.Checkpoints)
	}
	if r.Manifest.Task != "sst2" || r.Manifest.Seed != 42 || r.Manifest.BaseModel.Path != modelDir {
		t.Errorf("manifest %+v", r.Manifest)
	}
	// The last checkpoint is the final model's encoder.
	got := make([]float32, r.Manifest.LayerSize)
	if err := r.ReadLayer(7, 1, got); err != nil {
		t.Fatal(err)
	}
	for i, v := range res.Model.Layer(1) {
		if got[i] != v {
			t.Fatalf("trajectory's last checkpoint differs from the final model at %d", i)
		}
	}
}

func mean(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}
