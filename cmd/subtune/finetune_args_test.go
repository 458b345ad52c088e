package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"github.com/subtune/subtune/trainer"
)

// parseFinetune parses args as `subtune finetune` does, into fresh Args.
func parseFinetune(t *testing.T, args ...string) (trainer.Args, error) {
	t.Helper()
	a := trainer.DefaultArgs()
	fs := pflag.NewFlagSet("finetune", pflag.ContinueOnError)
	addFinetuneFlags(fs, &a)
	if err := fs.Parse(joinBoolValues(fs, args)); err != nil {
		return a, err
	}
	if len(fs.Args()) == 1 {
		if err := applyArgsFile(fs, fs.Args()[0], &a); err != nil {
			return a, err
		}
	} else if len(fs.Args()) > 1 {
		t.Fatalf("positional arguments %q", fs.Args())
	}
	return a, a.Validate()
}

// TestRunGlueFlagsAccepted: run_glue's flags, with booleans spelled as
// HfArgumentParser accepts them, set the arguments they name.
func TestRunGlueFlagsAccepted(t *testing.T) {
	base := []string{"--model_name_or_path", "m", "--task_name", "rte", "--output_dir", "o"}
	for _, tc := range []struct {
		args []string
		ok   func(a trainer.Args) bool
	}{
		{[]string{"--do_train", "--do_eval"}, func(a trainer.Args) bool { return a.DoTrain && a.DoEval }},
		{[]string{"--do_train", "True", "--do_eval", "false"}, func(a trainer.Args) bool { return a.DoTrain && !a.DoEval }},
		{[]string{"--do_train=yes", "--do-eval", "1"}, func(a trainer.Args) bool { return a.DoTrain && a.DoEval }},
		{[]string{"--do_train", "--fp16", "False", "--bf16", "no"}, func(a trainer.Args) bool { return !a.FP16 && !a.BF16 && a.DoTrain }},
		{[]string{"--do_train", "--report_to", "none"}, func(a trainer.Args) bool { return len(a.ReportTo) == 1 && a.ReportTo[0] == "none" }},
		{[]string{"--do_train", "--use_fast_tokenizer", "True", "--overwrite_cache"}, func(a trainer.Args) bool { return a.UseFastTokenizer && a.OverwriteCache }},
		{[]string{"--do_train", "--push_to_hub", "False", "--optim", "adamw_torch", "--use_cpu"}, func(a trainer.Args) bool { return a.DoTrain }},
		{[]string{"--do_train", "--logging_strategy", "epoch"}, func(a trainer.Args) bool { return a.LoggingStrategy == "epoch" }},
		{[]string{"--do_train", "--cache_dir", "c", "--model_revision", "v1", "--token", "hf_x"}, func(a trainer.Args) bool {
			return a.CacheDir == "c" && a.ModelRevision == "v1" && a.Token == "hf_x"
		}},
		{[]string{"--do_train", "--do_eval", "--load_best_model_at_end", "--save_strategy", "epoch"}, func(a trainer.Args) bool {
			return a.LoadBestModelAtEnd && a.MetricForBestModel == "loss" && a.GreaterIsBetter != nil && !*a.GreaterIsBetter
		}},
		{[]string{"--do_train", "--do_eval", "--load_best_model_at_end", "True", "--metric_for_best_model", "accuracy", "--save_strategy", "epoch"}, func(a trainer.Args) bool {
			return a.MetricForBestModel == "accuracy" && *a.GreaterIsBetter
		}},
		{[]string{"--do_train", "--metric_for_best_model", "accuracy", "--greater_is_better", "False"}, func(a trainer.Args) bool {
			return !*a.GreaterIsBetter && !a.LoadBestModelAtEnd
		}},
		{[]string{"--do_train", "--lr_scheduler_type", "cosine_with_restarts"}, func(a trainer.Args) bool { return a.LRSchedulerType == "cosine_with_restarts" }},
	} {
		a, err := parseFinetune(t, append(append([]string{}, base...), tc.args...)...)
		if err != nil || !tc.ok(a) {
			t.Errorf("%q: err %v, args %+v", tc.args, err, a)
		}
	}
}

// TestRunGlueFlagsRefused: options subtune does not implement are refused
// with the reason, never as unknown; values are checked as the Trainer does.
func TestRunGlueFlagsRefused(t *testing.T) {
	base := []string{"--model_name_or_path", "m", "--task_name", "rte", "--output_dir", "o", "--do_train", "--do_eval"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--fp16"}, "--fp16: subtune trains on the CPU, in float32; there is no fp16 on the CPU"},
		{[]string{"--fp16", "True"}, "there is no fp16 on the CPU"},
		{[]string{"--report_to", "wandb"}, "--report_to wandb: subtune reports to no experiment tracker"},
		{[]string{"--report_to", "none,tensorboard"}, "--report_to tensorboard"},
		{[]string{"--use_fast_tokenizer", "False"}, "--use_fast_tokenizer false: subtune's tokenizers are the fast"},
		{[]string{"--do_train=maybe"}, `"maybe" is not a boolean`},
		{[]string{"--push_to_hub"}, `invalid argument "true" for "--push_to_hub" flag: not supported: subtune uploads nothing to the hub`},
		{[]string{"--optim", "adafactor"}, `"--optim" flag: not supported: the optimiser is torch's AdamW`},
		{[]string{"--gradient_checkpointing", "True"}, "not supported: activations are kept"},
		{[]string{"--dataset_name", "glue"}, "not supported: there is no datasets-hub download"},
		{[]string{"--logging_strategy", "often"}, "--logging_strategy \"often\": want no, steps or epoch"},
		{[]string{"--lr_scheduler_type", "inverse_sqrt"}, "--lr_scheduler_type inverse_sqrt: not supported"},
		{[]string{"--load_best_model_at_end", "--save_strategy", "steps"}, "--load_best_model_at_end requires the save and eval strategy to match, but found --eval_strategy epoch and --save_strategy steps"},
		{[]string{"--load_best_model_at_end", "--eval_steps", "3", "--eval_strategy", "steps", "--save_steps", "5"}, "--save_steps 5, which is not a round multiple of --eval_steps 3"},
		{[]string{"--load_best_model_at_end", "--do_eval", "false", "--save_strategy", "epoch"}, "--load_best_model_at_end needs an evaluation set"},
		{[]string{"--no_such_flag"}, "unknown flag: --no_such_flag"},
	} {
		_, err := parseFinetune(t, append(append([]string{}, base...), tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.args, err, tc.want)
		}
	}
}

// TestRunGlueArgsFile: a run_glue JSON file of arguments may hold the hub
// options and the harmless values of unsupported ones; other values of
// those are named with the reason.
func TestRunGlueArgsFile(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "args.json")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ok := write(`{"model_name_or_path": "m", "task_name": "rte", "output_dir": "o", "do_train": true,
		"model_revision": "v2", "cache_dir": "c", "token": "hf_x", "use_fast_tokenizer": true, "overwrite_cache": true,
		"fp16": false, "report_to": "none", "push_to_hub": false, "optim": "adamw_torch", "greater_is_better": null}`)
	a, err := parseFinetune(t, ok)
	if err != nil || a.ModelRevision != "v2" || a.CacheDir != "c" || a.Token != "hf_x" || a.ReportTo[0] != "none" {
		t.Fatalf("err %v, args %+v", err, a)
	}
	for body, want := range map[string]string{
		`{"push_to_hub": true}`:    `"push_to_hub": true: not supported: subtune uploads nothing to the hub`,
		`{"report_to": ["wandb"]}`: "--report_to wandb",
		`{"fp16": true}`:           "--fp16",
		`{"no_such": 1}`:           "unknown arguments: no_such",
	} {
		_, err := parseFinetune(t, append([]string{"--model_name_or_path", "m", "--task_name", "rte", "--output_dir", "o", "--do_train"}, write(body))...)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", body, err, want)
		}
	}
}

// TestFinetuneHelpAndBoolValue: with HfArgumentParser's parsing, --help
// still shows the help, and "--do_train True" is not a stray argument.
func TestFinetuneHelpAndBoolValue(t *testing.T) {
	help, err := runRoot(t, "finetune", "--help")
	if err != nil || !strings.Contains(help, "--load_best_model_at_end") || strings.Contains(help, "push_to_hub") {
		t.Errorf("finetune --help (err %v):\n%s", err, help)
	}
	_, err = runRoot(t, "finetune", "--model_name_or_path", filepath.Join(t.TempDir(), "none"), "--task_name", "rte",
		"--output_dir", t.TempDir(), "--do_train", "True", "--fp16", "False", "--max_steps", "1")
	if err == nil || !strings.Contains(err.Error(), "none") || strings.Contains(err.Error(), "unexpected argument") {
		t.Errorf("err = %v, want the missing model", err)
	}
}
