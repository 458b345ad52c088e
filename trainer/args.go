package trainer

import (
	"fmt"
	"math"
	"strings"

	"github.com/subtune/subtune/internal/argcheck"
	"github.com/subtune/subtune/optim"
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
// (FlagSettings). Those tagged resume:"ifset" are compared only when set,
// so that checkpoints written before they existed still resume.
//
// Defaults (DefaultArgs) are those of the run_glue README command the paper
// reproduced, which differ from TrainingArguments' own in two places:
// learning rate 2e-5 (HF 5e-5) and train batch size 32 (HF 8).
type Args struct {
	// Model.
	ModelNameOrPath  string `json:"model_name_or_path"`               // an HF model folder
	TokenizerName    string `json:"tokenizer_name"`                   // folder of the tokenizer; default the model's
	ModelRevision    string `json:"model_revision" resume:"free"`     // of a hub model; θ0's hash is what a run records
	CacheDir         string `json:"cache_dir" resume:"free"`          // the hub cache
	Token            string `json:"token,omitempty" resume:"free"`    // hub token; never written out (MarshalJSON)
	UseFastTokenizer bool   `json:"use_fast_tokenizer" resume:"free"` // true: subtune's tokenizers are the fast ones

	// Data.
	TaskName          string `json:"task_name"`                     // a GLUE task; "" with TrainFile for one's own data
	DataDir           string `json:"data_dir"`                      // a task folder or the GLUE root; "" = shipped data
	TrainFile         string `json:"train_file"`                    // CSV, TSV or JSON lines
	ValidationFile    string `json:"validation_file" resume:"free"` //
	TestFile          string `json:"test_file" resume:"free"`       //
	MaxSeqLength      int    `json:"max_seq_length"`                // truncation length, 128
	PadToMaxLength    bool   `json:"pad_to_max_length"`
	OverwriteCache    bool   `json:"overwrite_cache" resume:"free"` // nothing is cached: no effect
	MaxTrainSamples   int    `json:"max_train_samples"`             // 0: all
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
	FP16                      bool    `json:"fp16" resume:"ifset"` // refused: CPU training is float32
	BF16                      bool    `json:"bf16" resume:"ifset"` // mixed precision: bfloat16 GEMMs, float32 weights (model.SetBF16)

	// Evaluation, logging and checkpoints.
	EvalStrategy    string `json:"eval_strategy" resume:"free"` // "no", "steps" or "epoch"
	EvalSteps       int    `json:"eval_steps" resume:"free"`
	LoggingStrategy string `json:"logging_strategy" resume:"free"` // "no", "steps" or "epoch"
	LoggingSteps    int    `json:"logging_steps" resume:"free"`
	SaveStrategy    string `json:"save_strategy" resume:"free"` // "no", "steps" or "epoch"
	SaveSteps       int    `json:"save_steps" resume:"free"`
	SaveTotalLimit  int    `json:"save_total_limit" resume:"free"` // 0: keep all
	ReportTo        List   `json:"report_to" resume:"free"`        // "none": subtune has no loggers to report to
	// The best model, by the evaluations during training: tracked when
	// MetricForBestModel is set, loaded at the end with
	// LoadBestModelAtEnd. They decide the final weights.
	LoadBestModelAtEnd bool   `json:"load_best_model_at_end" resume:"ifset"`
	MetricForBestModel string `json:"metric_for_best_model" resume:"ifset"` // "accuracy" or "eval_accuracy"; default "loss"
	GreaterIsBetter    *bool  `json:"greater_is_better" resume:"ifset"`     // nil: true unless the metric is a loss

	// subtune's own.
	Resume               bool   `json:"resume" resume:"free"`                 // continue from the newest checkpoint in OutputDir
	ResumeFromCheckpoint string `json:"resume_from_checkpoint" resume:"free"` // or from this one
	Threads              int    `json:"threads" resume:"free"`                // 0: all cores; applied by the program (nn.SetThreads), not by Finetune
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
		LoggingStrategy:           "steps",
		LoggingSteps:              500,
		SaveStrategy:              "steps",
		SaveSteps:                 500,
		TrajectoryDType:           "f32",
		UseFastTokenizer:          true,
		ReportTo:                  List{"none"},
	}
}

// Validate checks the arguments and fills in what follows from others.
// Every number is checked, whether or not the run uses it: a bad value is
// refused, never replaced.
func (a *Args) Validate() error {
	var e argcheck.Errors
	if a.ModelNameOrPath == "" {
		e.Addf("--model_name_or_path is required (an HF model folder)")
	}
	if a.OutputDir == "" {
		e.Addf("--output_dir is required")
	}
	if a.TaskName == "" && a.TrainFile == "" && a.ValidationFile == "" {
		e.Addf("need --task_name or --train_file/--validation_file")
	}
	if !a.DoTrain && !a.DoEval && !a.DoPredict {
		e.Addf("nothing to do: give --do_train, --do_eval and/or --do_predict")
	}
	a.validateNumbers(&e)
	if err := optim.CheckSchedule(a.LRSchedulerType, a.LearningRate); err != nil {
		e.Add(err)
	}
	for _, s := range []struct{ flag, v string }{{"eval_strategy", a.EvalStrategy}, {"save_strategy", a.SaveStrategy}, {"logging_strategy", a.LoggingStrategy}} {
		switch s.v {
		case "no", "steps", "epoch":
		default:
			e.Addf("--%s %q: want no, steps or epoch", s.flag, s.v)
		}
	}
	if a.EvalStrategy == "steps" && a.EvalSteps == 0 {
		// TrainingArguments falls back to logging_steps.
		a.EvalSteps = a.LoggingSteps
	}
	a.validateRunGlue(&e)
	if _, _, err := trajectory.ParseSchedule(a.SaveTrajectory); err != nil {
		e.Add(err)
	}
	if _, err := a.trajectoryDType(); err != nil {
		e.Add(err)
	}
	return e.Err()
}

// validateNumbers checks every numeric argument against its range.
func (a *Args) validateNumbers(e *argcheck.Errors) {
	e.Int("--max_seq_length", a.MaxSeqLength, argcheck.Positive)
	all := argcheck.NonNegative.With("0: all")
	e.Int("--max_train_samples", a.MaxTrainSamples, all)
	e.Int("--max_eval_samples", a.MaxEvalSamples, all)
	e.Int("--max_predict_samples", a.MaxPredictSamples, all)
	e.Int("--per_device_train_batch_size", a.PerDeviceTrainBatchSize, argcheck.Positive)
	e.Int("--per_device_eval_batch_size", a.PerDeviceEvalBatchSize, argcheck.Positive)
	e.Int("--gradient_accumulation_steps", a.GradientAccumulationSteps, argcheck.Positive)
	e.Float("--learning_rate", a.LearningRate, argcheck.LearningRate)
	e.Float("--weight_decay", a.WeightDecay, argcheck.NonNegative)
	e.WeightDecayStep(a.LearningRate, a.WeightDecay)
	e.Float("--adam_beta1", a.AdamBeta1, argcheck.Probability)
	e.Float("--adam_beta2", a.AdamBeta2, argcheck.Probability)
	e.Float("--adam_epsilon", a.AdamEpsilon, argcheck.Positive)
	e.Float("--max_grad_norm", a.MaxGradNorm, argcheck.NonNegative.With("0: no clipping"))
	if a.MaxSteps != -1 {
		e.Int("--max_steps", a.MaxSteps, argcheck.Positive.With("or -1: --num_train_epochs decides"))
	}
	if a.MaxSteps > 0 || !a.DoTrain {
		e.Float("--num_train_epochs", a.NumTrainEpochs, argcheck.NonNegative)
	} else {
		e.Float("--num_train_epochs", a.NumTrainEpochs, argcheck.Positive)
	}
	e.Float("--warmup_ratio", a.WarmupRatio, argcheck.Fraction)
	e.Int("--warmup_steps", a.WarmupSteps, argcheck.NonNegative.With("0: --warmup_ratio decides"))
	e.Int("--eval_steps", a.EvalSteps, argcheck.NonNegative.With("0: --logging_steps"))
	e.Int("--logging_steps", a.LoggingSteps, argcheck.Positive)
	e.Int("--save_steps", a.SaveSteps, argcheck.Positive)
	e.Int("--save_total_limit", a.SaveTotalLimit, argcheck.NonNegative.With("0: all"))
	e.Int("--threads", a.Threads, argcheck.Threads)
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
