package trainer

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/subtune/subtune/safetensors"
	"github.com/subtune/subtune/trajectory"
)

// Args are the arguments of a fine-tuning run, named as run_glue.py's
// ModelArguments, DataTrainingArguments and TrainingArguments name them
// (the JSON tags are those names, so a run_glue arguments file reads
// straight into Args), plus subtune's own: threads, trajectory, resume.
//
// A run resumed from a checkpoint must have the arguments it started with,
// except those tagged resume:"free", which cannot change the weights
// (FlagSettings).
//
// Defaults (DefaultArgs) are those of the run_glue README command the paper
// reproduced, which differ from TrainingArguments' own in two places:
// learning rate 2e-5 (HF 5e-5) and train batch size 32 (HF 8).
type Args struct {
	// Model.
	ModelNameOrPath string `json:"model_name_or_path"` // an HF model folder
	TokenizerName   string `json:"tokenizer_name"`     // folder of the tokenizer; default the model's

	// Data.
	TaskName          string `json:"task_name"`                     // a GLUE task; "" with TrainFile for one's own data
	DataDir           string `json:"data_dir"`                      // a task folder or the GLUE root; "" = shipped data
	TrainFile         string `json:"train_file"`                    // CSV, TSV or JSON lines
	ValidationFile    string `json:"validation_file" resume:"free"` //
	TestFile          string `json:"test_file" resume:"free"`       //
	MaxSeqLength      int    `json:"max_seq_length"`                // truncation length, 128
	PadToMaxLength    bool   `json:"pad_to_max_length"`
	MaxTrainSamples   int    `json:"max_train_samples"` // 0: all
	MaxEvalSamples    int    `json:"max_eval_samples" resume:"free"`
	MaxPredictSamples int    `json:"max_predict_samples" resume:"free"`

	// Run.
	OutputDir          string `json:"output_dir" resume:"free"`
	OverwriteOutputDir bool   `json:"overwrite_output_dir" resume:"free"`
	DoTrain            bool   `json:"do_train" resume:"free"`
	DoEval             bool   `json:"do_eval" resume:"free"`
	DoPredict          bool   `json:"do_predict" resume:"free"`

	// Optimisation.
	PerDeviceTrainBatchSize   int     `json:"per_device_train_batch_size"`
	PerDeviceEvalBatchSize    int     `json:"per_device_eval_batch_size" resume:"free"`
	GradientAccumulationSteps int     `json:"gradient_accumulation_steps"`
	LearningRate              float64 `json:"learning_rate"`
	WeightDecay               float64 `json:"weight_decay"`
	AdamBeta1                 float64 `json:"adam_beta1"`
	AdamBeta2                 float64 `json:"adam_beta2"`
	AdamEpsilon               float64 `json:"adam_epsilon"`
	MaxGradNorm               float64 `json:"max_grad_norm"` // <= 0: no clipping
	NumTrainEpochs            float64 `json:"num_train_epochs"`
	MaxSteps                  int     `json:"max_steps"` // > 0 overrides NumTrainEpochs
	LRSchedulerType           string  `json:"lr_scheduler_type"`
	WarmupRatio               float64 `json:"warmup_ratio"`
	WarmupSteps               int     `json:"warmup_steps"` // > 0 overrides WarmupRatio
	Seed                      int     `json:"seed"`
	GroupByLength             bool    `json:"group_by_length"`

	// Evaluation, logging and checkpoints.
	EvalStrategy   string `json:"eval_strategy" resume:"free"` // "no", "steps" or "epoch"
	EvalSteps      int    `json:"eval_steps" resume:"free"`
	LoggingSteps   int    `json:"logging_steps" resume:"free"`
	SaveStrategy   string `json:"save_strategy" resume:"free"` // "no", "steps" or "epoch"
	SaveSteps      int    `json:"save_steps" resume:"free"`
	SaveTotalLimit int    `json:"save_total_limit" resume:"free"` // 0: keep all

	// subtune's own.
	Resume               bool   `json:"resume" resume:"free"`                 // continue from the newest checkpoint in OutputDir
	ResumeFromCheckpoint string `json:"resume_from_checkpoint" resume:"free"` // or from this one
	Threads              int    `json:"threads" resume:"free"`                // 0: all cores
	SaveTrajectory       string `json:"save_trajectory"`                      // "", "epoch" or "steps:N"
	TrajectoryDType      string `json:"trajectory_dtype"`                     // "f32" or "bf16"
	TrajectoryDir        string `json:"trajectory_dir" resume:"free"`         // default <output_dir>/trajectory
}

// DefaultArgs returns the defaults of the run_glue README command.
func DefaultArgs() Args {
	return Args{
		MaxSeqLength:              128,
		PerDeviceTrainBatchSize:   32,
		PerDeviceEvalBatchSize:    8,
		GradientAccumulationSteps: 1,
		LearningRate:              2e-5,
		AdamBeta1:                 0.9,
		AdamBeta2:                 0.999,
		AdamEpsilon:               1e-8,
		MaxGradNorm:               1.0,
		NumTrainEpochs:            3,
		MaxSteps:                  -1,
		LRSchedulerType:           "linear",
		Seed:                      42,
		EvalStrategy:              "epoch",
		LoggingSteps:              500,
		SaveStrategy:              "steps",
		SaveSteps:                 500,
		TrajectoryDType:           "f32",
	}
}

// Validate checks the arguments and fills in what follows from others.
func (a *Args) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if a.ModelNameOrPath == "" {
		bad("--model_name_or_path is required (an HF model folder)")
	}
	if a.OutputDir == "" {
		bad("--output_dir is required")
	}
	if a.TaskName == "" && a.TrainFile == "" && a.ValidationFile == "" {
		bad("need --task_name or --train_file/--validation_file")
	}
	if !a.DoTrain && !a.DoEval && !a.DoPredict {
		bad("nothing to do: give --do_train, --do_eval and/or --do_predict")
	}
	if a.MaxSeqLength <= 0 {
		bad("--max_seq_length must be positive, got %d", a.MaxSeqLength)
	}
	if a.PerDeviceTrainBatchSize <= 0 || a.PerDeviceEvalBatchSize <= 0 {
		bad("batch sizes must be positive")
	}
	if a.GradientAccumulationSteps <= 0 {
		bad("--gradient_accumulation_steps must be positive, got %d", a.GradientAccumulationSteps)
	}
	if a.LearningRate < 0 || a.WeightDecay < 0 {
		bad("--learning_rate and --weight_decay must not be negative")
	}
	if a.MaxSteps <= 0 && a.NumTrainEpochs <= 0 && a.DoTrain {
		bad("--num_train_epochs must be positive (or set --max_steps)")
	}
	if a.LRSchedulerType != "linear" {
		bad("--lr_scheduler_type %q: only \"linear\" (the Trainer's default) is implemented", a.LRSchedulerType)
	}
	if a.WarmupRatio < 0 || a.WarmupRatio > 1 {
		bad("--warmup_ratio must lie in [0, 1], got %v", a.WarmupRatio)
	}
	if a.WarmupSteps < 0 {
		bad("--warmup_steps must not be negative")
	}
	for _, s := range []struct{ flag, v string }{{"eval_strategy", a.EvalStrategy}, {"save_strategy", a.SaveStrategy}} {
		switch s.v {
		case "no", "steps", "epoch":
		default:
			bad("--%s %q: want no, steps or epoch", s.flag, s.v)
		}
	}
	if a.EvalStrategy == "steps" && a.EvalSteps <= 0 {
		// TrainingArguments falls back to logging_steps.
		a.EvalSteps = a.LoggingSteps
	}
	if a.SaveStrategy == "steps" && a.SaveSteps <= 0 {
		bad("--save_steps must be positive with --save_strategy steps")
	}
	if a.LoggingSteps <= 0 {
		bad("--logging_steps must be positive")
	}
	if _, _, err := trajectory.ParseSchedule(a.SaveTrajectory); err != nil {
		errs = append(errs, err)
	}
	if _, err := a.trajectoryDType(); err != nil {
		errs = append(errs, err)
	}
	if a.Threads < 0 {
		bad("--threads must not be negative")
	}
	return errors.Join(errs...)
}

func (a *Args) trajectoryDType() (safetensors.DType, error) {
	switch strings.ToLower(a.TrajectoryDType) {
	case "", "f32", "float32":
		return safetensors.F32, nil
	case "bf16", "bfloat16":
		return safetensors.BF16, nil
	}
	return "", fmt.Errorf("--trajectory_dtype %q: want f32 or bf16", a.TrajectoryDType)
}

// warmup returns the number of warmup steps for a run of total steps:
// --warmup_steps if set, else ceil(warmup_ratio × total), as
// TrainingArguments.get_warmup_steps.
func (a *Args) warmup(total int) int {
	if a.WarmupSteps > 0 {
		return a.WarmupSteps
	}
	return int(math.Ceil(a.WarmupRatio * float64(total)))
}
