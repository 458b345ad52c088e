package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/trainer"
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
checkpoint first.

The paper's variants: --subspace FILE (from 'subtune extract') trains the
encoder only inside that subspace, θ = θ0 + Vᵀ·(1/h)Σzᵢ, with the embeddings
and head in full space; --random_subspace dense|fastfood|said with
--subspace_dim d is the random baseline; --freeze_encoder the frozen one.
--disable_dims outliers:FILE|random:N holds those encoder positions at zero
(the outlier ablation; FILE from 'subtune outliers').

Without --data_dir the GLUE files shipped with subtune are used, so
  subtune finetune --task_name rte --model_name_or_path MODEL --output_dir OUT --do_train --do_eval
works on a fresh checkout.`,
		Args: cobra.MaximumNArgs(1),
		RunE: runFinetune,
	}
	addFinetuneFlags(cmd.Flags(), &finetuneArgs)
	return cmd
}

// finetuneExtension adds flags to `subtune finetune` and, when they select
// it, a re-parameterisation of the model. Subspace fine-tuning (issue 5)
// registers one from its own file with registerFinetuneExtension.
type finetuneExtension struct {
	// Name appears in error messages.
	Name string
	// Flags registers the extension's flags.
	Flags func(fs *pflag.FlagSet)
	// Reparam returns nil when the extension's flags do not ask for it.
	Reparam func(a *trainer.Args) (func(m *model.Model) (trainer.Reparam, error), error)
}

var finetuneExtensions []finetuneExtension

// registerFinetuneExtension may be called from any init function.
func registerFinetuneExtension(e finetuneExtension) {
	if e.Flags != nil {
		e.Flags(finetuneCmd.Flags())
	}
	finetuneExtensions = append(finetuneExtensions, e)
}

func runFinetune(cmd *cobra.Command, args []string) error {
	fs := cmd.Flags()
	a := finetuneArgs
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
	for _, e := range finetuneExtensions {
		if e.Reparam == nil {
			continue
		}
		f, err := e.Reparam(&a)
		if err != nil {
			return err
		}
		if f == nil {
			continue
		}
		if hooks.NewReparam != nil {
			return errors.New("more than one re-parameterisation selected (" + e.Name + " and another)")
		}
		hooks.NewReparam = f
	}
	start := time.Now()
	logKernels(os.Stderr)
	res, err := trainer.Finetune(cmd.Context(), a, os.Stderr, hooks)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "done in %s; results in %s\n", time.Since(start).Round(time.Second), a.OutputDir)
	if res.TrajectoryDir != "" {
		fmt.Fprintf(os.Stderr, "trajectory: %s\n", res.TrajectoryDir)
	}
	return nil
}
