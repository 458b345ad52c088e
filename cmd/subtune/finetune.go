package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/trainer"
	"github.com/subtune/subtune/trainloop"
)

// finetuneArgs receive the flags of `subtune finetune`.
var finetuneArgs = trainer.DefaultArgs()

var finetuneCmd = newFinetuneCmd()

func init() { rootCmd.AddCommand(finetuneCmd) }

func newFinetuneCmd() *cobra.Command {
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
ends with the same weights as an uninterrupted run; Ctrl-C saves a
checkpoint first and exits with status 130 (a second Ctrl-C quits at once).
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
		RunE:               withRunGlueFlags(runFinetune),
	}
	addFinetuneFlags(cmd.Flags(), &finetuneArgs)
	return graceful(cmd)
}

// finetuneExtension adds flags to `subtune finetune` and, when they select
// it, a re-parameterisation of the model. Subspace fine-tuning
// registers one from its own file with registerFinetuneExtension.
type finetuneExtension struct {
	// Name appears in error messages.
	Name string
	// Flags registers the extension's flags.
	Flags func(fs *pflag.FlagSet)
	// ParamHook returns nil when the extension's flags do not ask for it.
	ParamHook func(a *trainer.Args) (func(m *model.Model) (trainer.ParamHook, error), error)
	// SaveModel, when set, writes the trained model of a run that selected
	// the extension, in place of save_pretrained.
	SaveModel func(dir string, m *model.Model) error
	// Done, when set, reports on a finished run that selected the extension.
	Done func(w io.Writer)

	flags []string // the names Flags registered
}

var finetuneExtensions []finetuneExtension

// registerFinetuneExtension may be called from any init function.
func registerFinetuneExtension(e finetuneExtension) {
	if e.Flags != nil {
		own := pflag.NewFlagSet(e.Name, pflag.ContinueOnError)
		e.Flags(own)
		own.VisitAll(func(f *pflag.Flag) { e.flags = append(e.flags, f.Name) })
		finetuneCmd.Flags().AddFlagSet(own)
	}
	finetuneExtensions = append(finetuneExtensions, e)
}

// resumeFree annotates an extension's flag that only changes what a run
// writes, not its weights: a resumed run may give another value.
const resumeFree = "subtune-resume-free"

// extensionSettings are the values of every extension's flags, each of
// which may change the weights unless annotated resumeFree: a resumed run
// must have the same. (Those of an extension a run does not select are
// recorded too, so that selecting it on resume names the one flag that
// differs.)
func extensionSettings(fs *pflag.FlagSet) trainloop.Settings {
	s := trainloop.Settings{}
	for _, e := range finetuneExtensions {
		for _, name := range e.flags {
			if f := fs.Lookup(name); f.Annotations[resumeFree] == nil {
				s["--"+name] = f.Value.String()
			}
		}
	}
	return s
}

func runFinetune(cmd *cobra.Command, args []string) error {
	fs := cmd.Flags()
	a := finetuneArgs
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
	var selected *finetuneExtension
	for _, e := range finetuneExtensions {
		if e.ParamHook == nil {
			continue
		}
		f, err := e.ParamHook(&a)
		if err != nil {
			return err
		}
		if f == nil {
			continue
		}
		if hooks.NewParamHook != nil {
			return errors.New("more than one re-parameterisation selected (" + e.Name + " and another)")
		}
		hooks.NewParamHook, hooks.SaveModel = f, e.SaveModel
		selected = &e
	}
	hooks.Settings = extensionSettings(fs)
	// Every value is checked before the model is looked for (or fetched).
	if err := a.Validate(); err != nil {
		return err
	}
	if err := resolveFinetuneModel(cmd.Context(), &a, cmd.ErrOrStderr()); err != nil {
		return err
	}
	setThreads(a.Threads)
	start := time.Now()
	res, err := trainer.Finetune(cmd.Context(), a, os.Stderr, hooks)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "done in %s; results in %s\n", time.Since(start).Round(time.Second), a.OutputDir)
	if res.TrajectoryDir != "" {
		fmt.Fprintf(os.Stderr, "trajectory: %s\n", res.TrajectoryDir)
	}
	if selected != nil && selected.Done != nil && a.DoTrain {
		selected.Done(cmd.ErrOrStderr())
	}
	return nil
}

// resolveFinetuneModel turns hub ids in --model_name_or_path and
// --tokenizer_name into their snapshot folders, which the run records.
func resolveFinetuneModel(ctx context.Context, a *trainer.Args, log io.Writer) error {
	finetuneSource := modelSource{revision: a.ModelRevision, cacheDir: a.CacheDir, token: a.Token}
	var err error
	if a.ModelNameOrPath != "" {
		if a.ModelNameOrPath, err = finetuneSource.resolve(ctx, a.ModelNameOrPath, log); err != nil {
			return err
		}
	}
	if a.TokenizerName != "" {
		a.TokenizerName, err = finetuneSource.resolveTokenizer(ctx, a.TokenizerName, log)
	}
	return err
}
