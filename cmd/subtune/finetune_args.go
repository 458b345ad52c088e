package main

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"
	"github.com/subtune/subtune/trainer"
)

// addFinetuneFlags binds run_glue.py's argument names (and subtune's own)
// to the fields of a.
func addFinetuneFlags(fs *pflag.FlagSet, a *trainer.Args) {
	// Model and data, as run_glue's ModelArguments and DataTrainingArguments.
	fs.StringVar(&a.ModelNameOrPath, "model_name_or_path", a.ModelNameOrPath, modelNameHelp)
	fs.StringVar(&a.TokenizerName, "tokenizer_name", a.TokenizerName, "tokenizer folder or hub id, if not the model's")
	fs.StringVar(&a.TaskName, "task_name", a.TaskName, "GLUE task: cola, sst2, mrpc, stsb, qqp, mnli, qnli, rte, wnli")
	fs.StringVar(&a.DataDir, "data_dir", a.DataDir, "the task's folder (RTE/) or the GLUE root; default: the data shipped with subtune")
	fs.StringVar(&a.TrainFile, "train_file", a.TrainFile, "training data of one's own: CSV, TSV or JSON lines")
	fs.StringVar(&a.ValidationFile, "validation_file", a.ValidationFile, "validation data of one's own")
	fs.StringVar(&a.TestFile, "test_file", a.TestFile, "test data of one's own (for --do_predict)")
	fs.IntVar(&a.MaxSeqLength, "max_seq_length", a.MaxSeqLength, "truncate inputs to this many tokens")
	fs.BoolVar(&a.PadToMaxLength, "pad_to_max_length", a.PadToMaxLength, "pad every batch to --max_seq_length (run_glue's default) rather than to its longest sequence")
	fs.IntVar(&a.MaxTrainSamples, "max_train_samples", a.MaxTrainSamples, "use only the first N training examples (0: all)")
	fs.IntVar(&a.MaxEvalSamples, "max_eval_samples", a.MaxEvalSamples, "use only the first N evaluation examples (0: all)")
	fs.IntVar(&a.MaxPredictSamples, "max_predict_samples", a.MaxPredictSamples, "use only the first N test examples (0: all)")

	// TrainingArguments.
	fs.StringVar(&a.OutputDir, "output_dir", a.OutputDir, "where the model, results, checkpoints and trajectory go")
	fs.BoolVar(&a.OverwriteOutputDir, "overwrite_output_dir", a.OverwriteOutputDir, "train into a non-empty output dir (its checkpoints and trajectory are removed)")
	fs.BoolVar(&a.DoTrain, "do_train", a.DoTrain, "fine-tune")
	fs.BoolVar(&a.DoEval, "do_eval", a.DoEval, "evaluate on the dev set(s)")
	fs.BoolVar(&a.DoPredict, "do_predict", a.DoPredict, "predict the test set(s) into predict_results_<task>.txt")
	fs.IntVar(&a.PerDeviceTrainBatchSize, "per_device_train_batch_size", a.PerDeviceTrainBatchSize, "training batch size")
	fs.IntVar(&a.PerDeviceEvalBatchSize, "per_device_eval_batch_size", a.PerDeviceEvalBatchSize, "evaluation batch size")
	fs.IntVar(&a.GradientAccumulationSteps, "gradient_accumulation_steps", a.GradientAccumulationSteps, "batches per optimiser step")
	fs.Float64Var(&a.LearningRate, "learning_rate", a.LearningRate, "peak learning rate of AdamW")
	fs.Float64Var(&a.WeightDecay, "weight_decay", a.WeightDecay, "decoupled weight decay (never on biases and LayerNorm weights)")
	fs.Float64Var(&a.AdamBeta1, "adam_beta1", a.AdamBeta1, "AdamW β1")
	fs.Float64Var(&a.AdamBeta2, "adam_beta2", a.AdamBeta2, "AdamW β2")
	fs.Float64Var(&a.AdamEpsilon, "adam_epsilon", a.AdamEpsilon, "AdamW ε")
	fs.Float64Var(&a.MaxGradNorm, "max_grad_norm", a.MaxGradNorm, "clip the global gradient norm to this (0: no clipping)")
	fs.Float64Var(&a.NumTrainEpochs, "num_train_epochs", a.NumTrainEpochs, "epochs (may be fractional)")
	fs.IntVar(&a.MaxSteps, "max_steps", a.MaxSteps, "optimiser steps; > 0 overrides --num_train_epochs")
	fs.StringVar(&a.LRSchedulerType, "lr_scheduler_type", a.LRSchedulerType, "learning-rate schedule, as transformers' get_scheduler: linear, cosine, cosine_with_restarts, polynomial, constant or constant_with_warmup")
	fs.Float64Var(&a.WarmupRatio, "warmup_ratio", a.WarmupRatio, "fraction of the steps spent warming up")
	fs.IntVar(&a.WarmupSteps, "warmup_steps", a.WarmupSteps, "warmup steps; > 0 overrides --warmup_ratio")
	fs.IntVar(&a.Seed, "seed", a.Seed, "seed of the new head, the data order and the dropout masks")
	fs.BoolVar(&a.GroupByLength, "group_by_length", a.GroupByLength, "batch sequences of similar length together (less padding)")
	fs.StringVar(&a.EvalStrategy, "eval_strategy", a.EvalStrategy, "evaluate during training: no, steps or epoch")
	fs.IntVar(&a.EvalSteps, "eval_steps", a.EvalSteps, "evaluate every N steps (implies --eval_strategy steps)")
	fs.IntVar(&a.LoggingSteps, "logging_steps", a.LoggingSteps, "log the training loss every N steps")
	fs.StringVar(&a.SaveStrategy, "save_strategy", a.SaveStrategy, "save resumable checkpoints: no, steps or epoch")
	fs.IntVar(&a.SaveSteps, "save_steps", a.SaveSteps, "save a resumable checkpoint every N steps")
	fs.IntVar(&a.SaveTotalLimit, "save_total_limit", a.SaveTotalLimit, "keep only the newest N checkpoints (0: all; with --save_trajectory: 1)")

	// subtune's own.
	fs.BoolVar(&a.Resume, "resume", a.Resume, "continue from the newest checkpoint in --output_dir (bit-identical to an uninterrupted run)")
	fs.StringVar(&a.ResumeFromCheckpoint, "resume_from_checkpoint", a.ResumeFromCheckpoint, "continue from this checkpoint folder")
	fs.IntVar(&a.Threads, "threads", a.Threads, "threads (0: all cores); equal seeds and thread counts give bit-identical runs")
	fs.StringVar(&a.SaveTrajectory, "save_trajectory", a.SaveTrajectory, "record the encoder's trajectory after every epoch (epoch) or every N steps (steps:N), and at the end")
	fs.StringVar(&a.TrajectoryDType, "trajectory_dtype", a.TrajectoryDType, "trajectory storage: f32, or bf16 (stores θ−θ0, half the disk)")
	fs.StringVar(&a.TrajectoryDir, "trajectory_dir", a.TrajectoryDir, "where the trajectory goes (default <output_dir>/trajectory)")

	fs.SetNormalizeFunc(normalizeFlag)
}

// normalizeFlag accepts the spellings HfArgumentParser accepts: dashes for
// underscores, and the older name evaluation_strategy.
func normalizeFlag(_ *pflag.FlagSet, name string) pflag.NormalizedName {
	return pflag.NormalizedName(trainer.ArgsFileKey(name))
}

// applyArgsFile reads a JSON object of arguments, as run_glue.py accepts in
// place of flags, into a; flags given on the command line win.
func applyArgsFile(fs *pflag.FlagSet, path string, a *trainer.Args) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := a.SetFromJSON(data, fs.Changed); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
