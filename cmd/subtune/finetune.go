package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/trainer"
	"github.com/subtune/subtune/trainloop"
)

// finetuneOptions are the flags of `subtune finetune`: run_glue's
// arguments, where the model comes from, and the re-parameterisations that
// give the paper's variants (see paramHook).
type finetuneOptions struct {
	args     trainer.Args
	subspace subspaceOptions
	disable  disableOptions

	// paramFlags are the names of the re-parameterisations' flags, each
	// of which may change the weights (see paramSettings).
	paramFlags []string
}

func newFinetuneCmd() *cobra.Command {
	o := &finetuneOptions{args: trainer.DefaultArgs(), subspace: newSubspaceOptions()}
	cmd := &cobra.Command{
		Use:   "finetune [ARGS.json] --model_name_or_path DIR --task_name TASK --output_dir DIR [--do_train] [--do_eval] [--do_predict]",
		Short: "Fine-tune on a GLUE task as HuggingFace's run_glue.py does, recording the trajectory",
		Long: `Fine-tune a BERT or RoBERTa model on a GLUE task (or one's own data) with
the arithmetic and the flag names of HuggingFace's run_glue.py and Trainer:
AdamW without decay on biases and LayerNorm weights, a linear schedule with
warmup, gradient clipping, dropout in training only, seeded shuffling and
dynamic padding. Arguments may also come from a JSON file, as run_glue
accepts; flags given on the command line override it.

The output directory gets the Trainer's layout: the fine-tuned model
(config.json, model.safetensors, tokenizer files), train_results.json,
eval_results.json, all_results.json, trainer_state.json, resumable
checkpoint-N folders, and predict_results_<task>.txt with --do_predict.

--save_trajectory epoch (or steps:N) records every encoder layer after each
epoch (or N steps) into <output_dir>/trajectory, the input of
'subtune extract'. A run killed at any point continues with --resume and
ends with the same weights as an uninterrupted run; Ctrl-C, or SIGTERM
(what Slurm sends at a job's time limit), saves a checkpoint first and
exits with status 130, or 143 (a second signal quits at once).
--resume refuses a checkpoint whose files changed since they were written,
or a command whose options that change the weights differ from the run's
(only logging, evaluation, output and thread options may). A run holds
--output_dir while it lives: a second run into it is refused with the
holder's pid.

The paper's variants: --subspace FILE (from 'subtune extract') trains the
encoder only inside that subspace, θ = θ0 + Vᵀ·(1/h)Σzᵢ, with the embeddings
and head in full space; --random_subspace dense|fastfood|said with
--subspace_dim d is the random baseline; --freeze_encoder the frozen one.
A subspace run also writes its adapter (adapter_config.json and
adapter_model.safetensors: z and the modules trained in full space) and
prints its size; --save_merged_model=false writes the adapter alone, and
'subtune merge' rebuilds the model from it.
--disable_dims outliers:FILE|random:N holds those encoder positions at zero
(the outlier ablation; FILE from 'subtune outliers').

Without --data_dir the GLUE files shipped with subtune are used, so
  subtune finetune --task_name rte --model_name_or_path MODEL --output_dir OUT --do_train --do_eval
works on a fresh checkout.`,
		// The flags are parsed as HfArgumentParser parses them (--fp16 False).
		DisableFlagParsing: true,
		RunE: withRunGlueFlags(func(cmd *cobra.Command, args []string) error {
			return runFinetune(cmd, args, o)
		}),
	}
	addFinetuneFlags(cmd.Flags(), &o.args)
	o.addParamFlags(cmd.Flags(), o.disable.addFlags)
	o.addParamFlags(cmd.Flags(), o.subspace.addFlags)
	return graceful(cmd)
}

// addParamFlags registers the flags add adds, noting their names.
func (o *finetuneOptions) addParamFlags(fs *pflag.FlagSet, add func(fs *pflag.FlagSet)) {
	own := pflag.NewFlagSet("", pflag.ContinueOnError)
	add(own)
	own.VisitAll(func(f *pflag.Flag) { o.paramFlags = append(o.paramFlags, f.Name) })
	fs.AddFlagSet(own)
}

// resumeFree annotates a re-parameterisation's flag that only changes what
// a run writes, not its weights: a resumed run may give another value.
const resumeFree = "subtune-resume-free"

// paramSettings are the values of every re-parameterisation's flags, each
// of which may change the weights unless annotated resumeFree: a resumed
// run must have the same. (Those of one a run does not select are recorded
// too, so that selecting it on resume names the one flag that differs.)
func (o *finetuneOptions) paramSettings(fs *pflag.FlagSet) trainloop.Settings {
	s := trainloop.Settings{}
	for _, name := range o.paramFlags {
		if f := fs.Lookup(name); f.Annotations[resumeFree] == nil {
			s["--"+name] = f.Value.String()
		}
	}
	return s
}

// paramHook returns the re-parameterisation the flags select, or nil for
// plain fine-tuning. Each one's values are checked, selected or not.
func (o *finetuneOptions) paramHook(fs *pflag.FlagSet, a *trainer.Args, log io.Writer) (func(m *model.Model) (trainer.ParamHook, error), error) {
	disable, err := o.disable.paramHook(fs, a, log)
	if err != nil {
		return nil, err
	}
	sub, err := o.subspace.paramHook(a, log)
	if err != nil {
		return nil, err
	}
	if disable != nil && sub != nil {
		return nil, errors.New("more than one re-parameterisation selected (subspace and another)")
	}
	if disable != nil {
		return disable, nil
	}
	return sub, nil
}

func runFinetune(cmd *cobra.Command, args []string, o *finetuneOptions) error {
	fs := cmd.Flags()
	log := cmd.ErrOrStderr()
	a := o.args
	if len(args) > 1 {
		return fmt.Errorf("unexpected arguments %q: give flags, and at most one JSON file of arguments", args)
	}
	if len(args) == 1 {
		if !strings.HasSuffix(args[0], ".json") {
			return fmt.Errorf("unexpected argument %q (a JSON file of arguments ends in .json)", args[0])
		}
		if err := applyArgsFile(fs, args[0], &a); err != nil {
			return err
		}
	}
	if fs.Changed("eval_steps") && !fs.Changed("eval_strategy") {
		a.EvalStrategy = "steps"
	}
	var hooks trainer.Hooks
	var err error
	if hooks.NewParamHook, err = o.paramHook(fs, &a, log); err != nil {
		return err
	}
	if hooks.NewParamHook != nil && o.subspace.selected() {
		// A subspace run's final model is its adapter (and the merged
		// model unless --save_merged_model=false).
		hooks.SaveModel = o.subspace.out.save
	}
	hooks.Settings = o.paramSettings(fs)
	// Every value is checked before the model is looked for (or fetched).
	if err := a.Validate(); err != nil {
		return err
	}
	source := modelSource{revision: a.ModelRevision, cacheDir: a.CacheDir, token: a.Token}
	if err := source.resolveFinetuneModel(cmd.Context(), &a, log); err != nil {
		return err
	}
	setThreads(a.Threads)
	start := time.Now()
	logKernels(log)
	res, err := trainer.Finetune(cmd.Context(), a, log, hooks)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "done in %s; results in %s\n", time.Since(start).Round(time.Second), a.OutputDir)
	if res.TrajectoryDir != "" {
		fmt.Fprintf(log, "trajectory: %s\n", res.TrajectoryDir)
	}
	if hooks.SaveModel != nil && a.DoTrain {
		o.subspace.out.report(log)
	}
	return nil
}

// resolveFinetuneModel turns hub ids in --model_name_or_path and
// --tokenizer_name into their snapshot folders, which the run records.
func (s *modelSource) resolveFinetuneModel(ctx context.Context, a *trainer.Args, log io.Writer) error {
	var err error
	if a.ModelNameOrPath != "" {
		if a.ModelNameOrPath, err = s.resolve(ctx, a.ModelNameOrPath, log); err != nil {
			return err
		}
	}
	if a.TokenizerName != "" {
		a.TokenizerName, err = s.resolveTokenizer(ctx, a.TokenizerName, log)
	}
	return err
}
