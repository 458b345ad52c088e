package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestNumericFlagsRefused: every numeric flag of every command refuses a
// value outside its range before any work, naming the flag and the value;
// none is silently replaced by a default.
func TestNumericFlagsRefused(t *testing.T) {
	tmp := t.TempDir()
	argsFile := filepath.Join(tmp, "args.json")
	if err := os.WriteFile(argsFile, []byte(`{"num_train_epochs": -1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(tmp, "out")
	ft := []string{"finetune", "--model_name_or_path", filepath.Join(tmp, "no-model"), "--task_name", "sst2", "--do_train", "--output_dir", out}
	pt := []string{"pretrain", "--corpus", filepath.Join(tmp, "none*.txt"), "--output_dir", out}
	pr := []string{"predict", "--model_name_or_path", filepath.Join(tmp, "no-model")}
	rp := []string{"reproduce", "--model_name_or_path", filepath.Join(tmp, "no-model"), "--output_dir", out}
	ex := []string{"extract", "--trajectory", filepath.Join(tmp, "no-trajectory"), "--output", filepath.Join(tmp, "b.safetensors")}
	ol := []string{"outliers", "--run", filepath.Join(tmp, "no-run")}
	with := func(base []string, more ...string) []string { return append(append([]string(nil), base...), more...) }
	for _, tc := range []struct {
		args []string
		want string
	}{
		{with(ft, "--num_train_epochs", "nan"), "--num_train_epochs NaN: want a finite number > 0"},
		{with(ft, "--num_train_epochs", "inf"), "--num_train_epochs +Inf: want a finite number > 0"},
		{with(ft, "--num_train_epochs", "0"), "--num_train_epochs 0: want a finite number > 0"},
		{with(ft, argsFile), "--num_train_epochs -1: want a finite number > 0"},
		{with(ft, "--learning_rate", "nan"), "--learning_rate NaN: want a finite number in (0, 10]"},
		{with(ft, "--learning_rate", "inf"), "--learning_rate +Inf: want a finite number in (0, 10]"},
		{with(ft, "--learning_rate", "1e10"), "--learning_rate 1e+10: want a finite number in (0, 10]"},
		{with(ft, "--learning_rate", "0"), "--learning_rate 0: want a finite number in (0, 10]"},
		{with(ft, "--weight_decay", "nan"), "--weight_decay NaN: want a finite number ≥ 0"},
		{with(ft, "--weight_decay", "-0.01"), "--weight_decay -0.01: want a finite number ≥ 0"},
		{with(ft, "--adam_epsilon", "0"), "--adam_epsilon 0: want a finite number > 0"},
		{with(ft, "--adam_beta1", "1.5"), "--adam_beta1 1.5: want a finite number in [0, 1)"},
		{with(ft, "--adam_beta2", "1"), "--adam_beta2 1: want a finite number in [0, 1)"},
		{with(ft, "--max_grad_norm", "-1"), "--max_grad_norm -1: want a finite number ≥ 0 (0: no clipping)"},
		{with(ft, "--warmup_ratio", "1.5"), "--warmup_ratio 1.5: want a finite number in [0, 1]"},
		{with(ft, "--warmup_steps", "-1"), "--warmup_steps -1: want an integer ≥ 0 (0: --warmup_ratio decides)"},
		{with(ft, "--max_steps", "0"), "--max_steps 0: want an integer ≥ 1 (or -1: --num_train_epochs decides)"},
		{with(ft, "--max_train_samples", "-5"), "--max_train_samples -5: want an integer ≥ 0 (0: all)"},
		{with(ft, "--per_device_train_batch_size", "0"), "--per_device_train_batch_size 0: want an integer ≥ 1"},
		{with(ft, "--save_steps", "-1"), "--save_steps -1: want an integer ≥ 1"},
		{with(ft, "--threads", "-1"), "--threads -1: want an integer ≥ 0 (0: all cores)"},
		{with(ft, "--ensemble", "0"), "--ensemble 0: want an integer ≥ 1"},
		{with(ft, "--ensemble", "-2", "--random_subspace", "dense", "--subspace_dim", "4"), "--ensemble -2: want an integer ≥ 1"},
		{with(ft, "--subspace_learning_rate", "nan"), "--subspace_learning_rate NaN: want a finite number in (0, 10]"},
		{with(ft, "--subspace_init_std", "-1"), "--subspace_init_std -1: want a finite number ≥ 0 (0: z starts at zero)"},
		{with(ft, "--subspace_dim", "-3"), "--subspace_dim -3: want an integer ≥ 0"},

		{with(pt, "--learning_rate", "nan"), "--learning_rate NaN: want a finite number in (0, 10]"},
		{with(pt, "--weight_decay", "-1"), "--weight_decay -1: want a finite number ≥ 0"},
		{with(pt, "--mlm_probability", "0"), "--mlm_probability 0: want a finite number in (0, 1)"},
		{with(pt, "--max_steps", "-1"), "--max_steps -1: want an integer ≥ 0 (0: save the initialised model, untrained)"},
		{with(pt, "--eval_steps", "0"), "--eval_steps 0: want an integer ≥ 1"},
		{with(pt, "--save_steps", "-1"), "--save_steps -1: want an integer ≥ 1"},
		{with(pt, "--per_device_train_batch_size", "0"), "--per_device_train_batch_size 0: want an integer ≥ 1"},
		{with(pt, "--threads", "-1"), "--threads -1: want an integer ≥ 0 (0: all cores)"},

		{with(pr, "--max_seq_length", "0"), "--max_seq_length 0: want an integer ≥ 1"},
		{with(pr, "--max_seq_length", "-5"), "--max_seq_length -5: want an integer ≥ 1"},
		{with(pr, "--batch_size", "0"), "--batch_size 0: want an integer ≥ 1"},
		{with(pr, "--threads", "-2"), "--threads -2: want an integer ≥ 0 (0: all cores)"},

		{with(rp, "--num_train_epochs", "nan"), "--num_train_epochs NaN: want a finite number > 0"},
		{with(rp, "--max_train_samples", "-5"), "--max_train_samples -5: want an integer ≥ 0 (0: all)"},
		{with(rp, "--threads", "-1"), "--threads -1: want an integer ≥ 0 (0: all cores)"},

		{with(ex, "--dim", "-1"), "--dim -1: want an integer ≥ 0 (0: all t)"},
		{with(ex, "--checkpoints", "-1"), "--checkpoints -1: want an integer ≥ 0 (0: all)"},
		{with(ex, "--threads", "-1"), "--threads -1: want an integer ≥ 0 (0: all cores)"},

		{with(ol, "--sigma", "0"), "--sigma 0: want a finite number > 0"},
		{with(ol, "--sigma", "nan"), "--sigma NaN: want a finite number > 0"},
		{with(ol, "--top", "0"), "--top 0: want an integer ≥ 1"},
		{with(ol, "--threads", "-1"), "--threads -1: want an integer ≥ 0 (0: all cores)"},

		{[]string{"tokenize", "--model_name_or_path", tmp, "--max_seq_length", "0"}, "--max_seq_length 0: want an integer ≥ 1"},
	} {
		name := strings.Join(tc.args[len(tc.args)-2:], " ")
		_, err := runRoot(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s: err = %v, want %q", tc.args[0], name, err, tc.want)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a refused command created its output directory %s", out)
	}
}

// TestFlagUsagesNameTheirType: pflag takes `backticked` text in a usage as
// the value's placeholder in --help (it once showed "--subspace subtune
// extract"); no usage may hold backticks, so every placeholder is the type.
func TestFlagUsagesNameTheirType(t *testing.T) {
	var walk func(cmd *cobra.Command)
	walk = func(cmd *cobra.Command) {
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			if strings.Contains(f.Usage, "`") {
				name, _ := pflag.UnquoteUsage(f)
				t.Errorf("%s --%s: the usage's backticks make %q its placeholder", cmd.CommandPath(), f.Name, name)
			}
		})
		for _, sub := range cmd.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd())
	help, err := runRoot(t, "finetune", "--help")
	if err != nil || !strings.Contains(help, "--subspace string") {
		t.Errorf("finetune --help does not show --subspace string (err %v)", err)
	}
}
