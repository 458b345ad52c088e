package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/subtune/subtune/trainer"
)

// addFinetuneFlags binds run_glue.py's argument names (and subtune's own)
// to the fields of a.
func addFinetuneFlags(fs *pflag.FlagSet, a *trainer.Args) {
	// Model and data, as run_glue's ModelArguments and DataTrainingArguments.
	fs.StringVar(&a.ModelNameOrPath, "model_name_or_path", a.ModelNameOrPath, modelNameHelp)
	fs.StringVar(&a.TokenizerName, "tokenizer_name", a.TokenizerName, "tokenizer folder or hub id, if not the model's")
	fs.StringVar(&a.ModelRevision, "model_revision", a.ModelRevision, modelRevisionHelp)
	fs.StringVar(&a.CacheDir, "cache_dir", a.CacheDir, cacheDirHelp)
	fs.StringVar(&a.Token, "token", a.Token, tokenHelp+"; never written to training_args.json")
	fs.BoolVar(&a.UseFastTokenizer, "use_fast_tokenizer", a.UseFastTokenizer, "use a fast tokenizer (the only kind subtune has; false is refused)")
	fs.StringVar(&a.TaskName, "task_name", a.TaskName, "GLUE task: cola, sst2, mrpc, stsb, qqp, mnli, qnli, rte, wnli")
	fs.StringVar(&a.DataDir, "data_dir", a.DataDir, "the task's folder (RTE/) or the GLUE root; default: the data shipped with subtune")
	fs.StringVar(&a.TrainFile, "train_file", a.TrainFile, "training data of one's own: CSV, TSV or JSON lines")
	fs.StringVar(&a.ValidationFile, "validation_file", a.ValidationFile, "validation data of one's own")
	fs.StringVar(&a.TestFile, "test_file", a.TestFile, "test data of one's own (for --do_predict)")
	fs.IntVar(&a.MaxSeqLength, "max_seq_length", a.MaxSeqLength, "truncate inputs to this many tokens")
	fs.BoolVar(&a.OverwriteCache, "overwrite_cache", a.OverwriteCache, "accepted for run_glue; no effect: subtune caches no preprocessed data (it tokenises in memory each run)")
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
	fs.BoolVar(&a.FP16, "fp16", a.FP16, "refused: training runs on the CPU in float32 (accepted as false)")
	fs.BoolVar(&a.BF16, "bf16", a.BF16, "bf16 mixed precision, as torch.autocast on the CPU: dense and attention GEMMs take bfloat16 inputs, accumulate in float32; weights, gradients and optimiser stay float32 (needs AVX512_BF16 and a build with oneDNN)")
	fs.StringVar(&a.EvalStrategy, "eval_strategy", a.EvalStrategy, "evaluate during training: no, steps or epoch")
	fs.IntVar(&a.EvalSteps, "eval_steps", a.EvalSteps, "evaluate every N steps (implies --eval_strategy steps)")
	fs.StringVar(&a.LoggingStrategy, "logging_strategy", a.LoggingStrategy, "log the training loss: no, steps or epoch")
	fs.IntVar(&a.LoggingSteps, "logging_steps", a.LoggingSteps, "log the training loss every N steps")
	fs.StringVar(&a.SaveStrategy, "save_strategy", a.SaveStrategy, "save resumable checkpoints: no, steps or epoch")
	fs.IntVar(&a.SaveSteps, "save_steps", a.SaveSteps, "save a resumable checkpoint every N steps")
	fs.IntVar(&a.SaveTotalLimit, "save_total_limit", a.SaveTotalLimit, "keep only the newest N checkpoints, and the best (0: all; with --save_trajectory: 1)")
	fs.BoolVar(&a.LoadBestModelAtEnd, "load_best_model_at_end", a.LoadBestModelAtEnd, "end with the checkpoint that scored best on the evaluations during training (needs matching --eval_strategy and --save_strategy)")
	fs.StringVar(&a.MetricForBestModel, "metric_for_best_model", a.MetricForBestModel, `evaluation metric that chooses the best model, e.g. accuracy or eval_accuracy (default "loss" with --load_best_model_at_end)`)
	fs.Var(optionalBool{&a.GreaterIsBetter}, "greater_is_better", "a larger --metric_for_best_model is better (default: true unless the metric is a loss)")
	fs.Lookup("greater_is_better").NoOptDefVal = "true"
	fs.Var((*listValue)(&a.ReportTo), "report_to", "experiment trackers to report to: none (subtune has none; others are refused)")

	// subtune's own.
	fs.BoolVar(&a.Resume, "resume", a.Resume, "continue from the newest checkpoint in --output_dir (bit-identical to an uninterrupted run)")
	fs.StringVar(&a.ResumeFromCheckpoint, "resume_from_checkpoint", a.ResumeFromCheckpoint, "continue from this checkpoint folder")
	fs.IntVar(&a.Threads, "threads", a.Threads, "threads (0: all cores); equal seeds and thread counts give bit-identical runs")
	fs.StringVar(&a.SaveTrajectory, "save_trajectory", a.SaveTrajectory, "record the encoder's trajectory after every epoch (epoch) or every N steps (steps:N), and at the end")
	fs.StringVar(&a.TrajectoryDType, "trajectory_dtype", a.TrajectoryDType, "trajectory storage: f32, or bf16 (stores θ−θ0, half the disk)")
	fs.StringVar(&a.TrajectoryDir, "trajectory_dir", a.TrajectoryDir, "where the trajectory goes (default <output_dir>/trajectory)")

	addUnsupportedFlags(fs)
	hfBoolFlags(fs)
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

// withRunGlueFlags parses the command's flags as HfArgumentParser does
// before calling run: a boolean flag takes an optional value, also as the
// next argument (--fp16 False), which pflag alone would take for a
// positional argument. The command sets DisableFlagParsing.
func withRunGlueFlags(run func(*cobra.Command, []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		fs := cmd.Flags()
		if err := fs.Parse(joinBoolValues(fs, args)); err != nil {
			if errors.Is(err, pflag.ErrHelp) {
				return cmd.Help()
			}
			return err
		}
		if help, _ := fs.GetBool("help"); help {
			return cmd.Help()
		}
		return run(cmd, fs.Args())
	}
}

// joinBoolValues rewrites "--flag VALUE" as "--flag=VALUE" where flag is
// boolean and VALUE reads as one (trainer.ParseBool).
func joinBoolValues(fs *pflag.FlagSet, args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		out = append(out, a)
		if a == "--" {
			return append(out, args[i+1:]...)
		}
		name, isFlag := strings.CutPrefix(a, "--")
		if !isFlag || strings.Contains(name, "=") || i+1 == len(args) {
			continue
		}
		f := fs.Lookup(name)
		if f == nil || f.NoOptDefVal == "" {
			continue
		}
		if _, err := trainer.ParseBool(args[i+1]); err == nil {
			out[len(out)-1] = a + "=" + args[i+1]
			i++
		}
	}
	return out
}

// hfBoolFlags makes every boolean flag of fs read its value as
// HfArgumentParser's string_to_bool (True, false, yes, n, 1, ...).
func hfBoolFlags(fs *pflag.FlagSet) {
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Value.Type() == "bool" {
			f.Value = hfBool{f.Value}
		}
	})
}

// hfBool is a boolean flag's value read by trainer.ParseBool.
type hfBool struct{ pflag.Value }

func (b hfBool) Set(s string) error {
	v, err := trainer.ParseBool(s)
	if err != nil {
		return err
	}
	return b.Value.Set(strconv.FormatBool(v))
}

// optionalBool is a boolean flag whose absence means "decide from the other
// flags" (--greater_is_better).
type optionalBool struct{ p **bool }

func (b optionalBool) Set(s string) error {
	if s == "" {
		*b.p = nil // the default, "" as String shows it
		return nil
	}
	v, err := trainer.ParseBool(s)
	if err != nil {
		return err
	}
	*b.p = &v
	return nil
}

func (b optionalBool) String() string {
	if b.p == nil || *b.p == nil {
		return ""
	}
	return strconv.FormatBool(**b.p)
}

func (b optionalBool) Type() string { return "bool" }

// listValue is a comma-separated list flag (--report_to none).
type listValue trainer.List

func (l *listValue) Set(s string) error {
	*l = strings.Split(s, ",")
	return nil
}

func (l *listValue) String() string { return strings.Join(*l, ",") }
func (l *listValue) Type() string   { return "strings" }

// addUnsupportedFlags registers trainer.UnsupportedArgs as hidden flags that
// refuse any value but the harmless one, naming the reason.
func addUnsupportedFlags(fs *pflag.FlagSet) {
	for _, u := range trainer.UnsupportedArgs {
		fs.Var(unsupportedValue{u}, u.Name, u.Reason)
		f := fs.Lookup(u.Name)
		if u.Bool {
			f.NoOptDefVal = "true"
		}
		f.Hidden = true
	}
}

type unsupportedValue struct{ u trainer.UnsupportedArg }

func (v unsupportedValue) Set(s string) error { return v.u.Check(s) }
func (v unsupportedValue) String() string     { return v.u.Harmless }
func (v unsupportedValue) Type() string {
	if v.u.Bool {
		return "bool"
	}
	return "string"
}
