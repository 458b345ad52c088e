package trainer

import (
	"encoding/json"
	"math"
	"slices"
	"testing"
)

func TestMetricsJSON(t *testing.T) {
	m := Metrics{"eval_pearson": math.NaN(), "eval_loss": 0.25, "step": 3, "epoch": 1.5, "x": math.Inf(1)}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"epoch":1.5,"eval_loss":0.25,"eval_pearson":null,"step":3,"x":null}`
	if string(b) != want {
		t.Fatalf("got %s, want %s", b, want)
	}
	var back Metrics
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(back["eval_pearson"]) || back["eval_loss"] != 0.25 || back["step"] != 3 {
		t.Fatalf("read back %v", back)
	}
}

// TestStateKeys: trainer_state.json holds TrainerState's fields only, so
// that transformers' TrainerState(**json) can read it.
func TestStateKeys(t *testing.T) {
	b, _ := json.Marshal(State{Resume: ResumeState{TotalLoss: 1}})
	var raw map[string]any
	json.Unmarshal(b, &raw)
	var got []string
	for k := range raw {
		got = append(got, k)
	}
	slices.Sort(got)
	want := []string{"best_global_step", "best_metric", "best_model_checkpoint", "epoch", "eval_steps", "global_step", "is_hyper_param_search",
		"is_local_process_zero", "is_world_process_zero", "log_history", "logging_steps", "max_steps",
		"num_input_tokens_seen", "num_train_epochs", "save_steps", "total_flos", "train_batch_size", "trial_name", "trial_params"}
	if !slices.Equal(got, want) {
		t.Fatalf("keys %v", got)
	}
}
