package trainer

import (
	"encoding/json"
	"io"
	"maps"
	"os"
	"path/filepath"

	"github.com/subtune/subtune/atomicfile"
	"github.com/subtune/subtune/jsonnum"
)

// Metrics is a flat map of numbers as the Trainer logs and saves them. It
// marshals with sorted keys, and NaN or ±Inf (a correlation of constant
// predictions, a diverged loss) as null (see package jsonnum).
type Metrics map[string]float64

// MarshalJSON implements json.Marshaler.
func (m Metrics) MarshalJSON() ([]byte, error) {
	return json.Marshal(jsonnum.Map(m))
}

// UnmarshalJSON implements json.Unmarshaler; null reads as NaN.
func (m *Metrics) UnmarshalJSON(data []byte) error {
	var j jsonnum.Map
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	*m = Metrics(j)
	return nil
}

// State is trainer_state.json: HuggingFace's TrainerState fields (so that
// transformers can read the file), and, kept in a file of its own in each
// checkpoint (subtune_state.json), what subtune needs to resume exactly.
type State struct {
	BestGlobalStep      *int      `json:"best_global_step"`
	BestMetric          *float64  `json:"best_metric"`
	BestModelCheckpoint *string   `json:"best_model_checkpoint"`
	Epoch               float64   `json:"epoch"`
	EvalSteps           int       `json:"eval_steps"`
	GlobalStep          int       `json:"global_step"`
	IsHyperParamSearch  bool      `json:"is_hyper_param_search"`
	IsLocalProcessZero  bool      `json:"is_local_process_zero"`
	IsWorldProcessZero  bool      `json:"is_world_process_zero"`
	LogHistory          []Metrics `json:"log_history"`
	LoggingSteps        int       `json:"logging_steps"`
	MaxSteps            int       `json:"max_steps"`
	NumInputTokensSeen  int64     `json:"num_input_tokens_seen"`
	NumTrainEpochs      int       `json:"num_train_epochs"`
	SaveSteps           int       `json:"save_steps"`
	TotalFlos           float64   `json:"total_flos"`
	TrainBatchSize      int       `json:"train_batch_size"`
	TrialName           *string   `json:"trial_name"`
	TrialParams         any       `json:"trial_params"`

	Resume ResumeState `json:"-"`
}

// resumeFile holds a checkpoint's ResumeState.
const resumeFile = "subtune_state.json"

// ResumeState is the part of the state only a resumed run needs: running
// sums that span checkpoints. (The settings that must not change are the
// checkpoint's SettingsFile.)
type ResumeState struct {
	TotalLoss      float64 `json:"total_loss"`    // sum of step losses so far (train_loss)
	LogLoss        float64 `json:"log_loss"`      // sum since the last logged loss
	LogSteps       int     `json:"log_steps"`     // steps since then
	TrainSeconds   float64 `json:"train_seconds"` // wall time of the steps so far
	TrajectoryPath string  `json:"trajectory,omitempty"`
}

// writeMetricsFile writes metrics as Trainer.save_metrics does:
// <split>_results.json, and merged into all_results.json.
func writeMetricsFile(outputDir, split string, m Metrics) error {
	if err := writeJSON4(filepath.Join(outputDir, split+"_results.json"), m); err != nil {
		return err
	}
	allPath := filepath.Join(outputDir, "all_results.json")
	all := Metrics{}
	if data, err := os.ReadFile(allPath); err == nil {
		json.Unmarshal(data, &all) // a damaged file is replaced
	}
	maps.Copy(all, m)
	return writeJSON4(allPath, all)
}

// writeJSON4 writes v with the 4-space indent of save_metrics.
func writeJSON4(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "    ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, func(w io.Writer) error {
		_, err := w.Write(append(data, '\n'))
		return err
	})
}
