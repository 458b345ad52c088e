package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/subtune/subtune/blas"
	"github.com/subtune/subtune/internal/testmodel"
	"github.com/subtune/subtune/model"
)

// TestBF16Refused runs every command that takes --bf16 in a process whose
// oneDNN may not use AVX512_BF16 (DNNL_MAX_CPU_ISA=AVX2, as on a CPU
// without it): each refuses at start, naming what is missing, and leaves no
// output behind. In a build without oneDNN the reason is the build.
func TestBF16Refused(t *testing.T) {
	modelDir := testmodel.New(t, testmodel.Tiny(2), model.NoHead, 1)
	want := "oneDNN does not use this CPU's AVX512_BF16 instructions"
	if err := blas.BF16Check(); err != nil {
		want = err.Error()
	}
	for _, args := range [][]string{
		{"finetune", "--model_name_or_path", modelDir, "--task_name", "sst2", "--do_train", "--max_train_samples", "8"},
		{"pretrain", "--max_steps", "1", "--corpus", "", "--glue_train", "sst2"},
		{"predict", "--model_name_or_path", modelDir},
		{"reproduce", "--model_name_or_path", modelDir},
	} {
		t.Run(args[0], func(t *testing.T) {
			out := t.TempDir() + "/out"
			flag := "--output_dir"
			if args[0] == "predict" {
				flag = "--output"
			}
			cmd := exec.Command(os.Args[0], append(args, "--bf16", flag, out)...)
			cmd.Env = append(os.Environ(), mainEnv+"=1", "DNNL_MAX_CPU_ISA=AVX2")
			cmd.Stdin = strings.NewReader("")
			got, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(got), "--bf16: "+want) {
				t.Fatalf("%s --bf16: error %v, output\n%s\nwant a refusal naming %q", args[0], err, got, want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s --bf16 refused, yet wrote %s", args[0], out)
			}
		})
	}
}
