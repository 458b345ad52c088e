package pretrain

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/subtune/subtune/trainloop"
)

// stoppedRun runs o for 5 of its steps, then interrupts it, leaving
// checkpoint-3 (save_steps 3) and checkpoint-5 (saved on the interrupt).
func stoppedRun(t *testing.T, o Options) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	steps := 0
	o.afterStep = func() {
		if steps++; steps == 5 {
			cancel()
		}
	}
	if err := Run(ctx, o); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
}

// TestRunResumeDamagedCheckpoint: --resume refuses a checkpoint whose
// weights changed after they were written, naming the file and offering
// the previous intact checkpoint.
func TestRunResumeDamagedCheckpoint(t *testing.T) {
	dir := t.TempDir()
	o := testOptions(writeTestCorpus(t, t.TempDir()), dir, 6)
	stoppedRun(t, o)
	weights := filepath.Join(dir, "checkpoint-5", "model.safetensors")
	b, err := os.ReadFile(weights)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x10
	if err := os.WriteFile(weights, b, 0o644); err != nil {
		t.Fatal(err)
	}
	o.Resume = true
	err = Run(context.Background(), o)
	if !errors.Is(err, trainloop.ErrDamaged) {
		t.Fatalf("err = %v, want trainloop.ErrDamaged", err)
	}
	for _, want := range []string{weights, "previous intact checkpoint is " + filepath.Join(dir, "checkpoint-3")} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// TestRunResumeSettings: a pre-training run resumed with an option that
// changes the weights set otherwise is refused, naming the option with
// its old and new value; evaluation and checkpoint intervals may differ.
func TestRunResumeSettings(t *testing.T) {
	tmp := t.TempDir()
	corpus := writeTestCorpus(t, tmp)
	other := filepath.Join(tmp, "other.txt")
	if err := os.WriteFile(other, []byte(strings.Repeat("a different corpus of words .\n", 300)), 0o644); err != nil {
		t.Fatal(err)
	}
	stopped := t.TempDir()
	stoppedRun(t, testOptions(corpus, stopped, 6))
	for _, tc := range []struct {
		name  string
		edit  func(o *Options)
		wants []string // nil: the resume must succeed
	}{
		{"learning_rate", func(o *Options) { o.LearningRate = 1e-3 }, []string{"--learning_rate 0.01 (now 0.001)"}},
		{"max_steps", func(o *Options) { o.MaxSteps = 8 }, []string{"--max_steps 6 (now 8)"}},
		{"architecture", func(o *Options) { o.Config.IntermediateSize = 64 }, []string{"--intermediate_size 32 (now 64)"}},
		{"masking", func(o *Options) { o.MLMProbability = 0.2 }, []string{"--mlm_probability 0.15 (now 0.2)"}},
		{"held-out blocks", func(o *Options) { o.EvalBlocks = 16 }, []string{"--eval_blocks 8 (now 16)"}},
		{"corpus", func(o *Options) { o.Corpus = []string{other} }, []string{"--corpus " + corpus + " (now " + other + ")", "corpus tokens "}},
		{"seed", func(o *Options) { o.Seed = 8 }, []string{"--seed 7 (now 8)"}},
		{"free options", func(o *Options) { o.EvalEvery, o.SaveEvery = 2, 4 }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			if err := os.CopyFS(dir, os.DirFS(stopped)); err != nil {
				t.Fatal(err)
			}
			o := testOptions(corpus, dir, 6)
			o.Resume = true
			tc.edit(&o)
			err := Run(context.Background(), o)
			if tc.wants == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("resumed with other settings")
			}
			t.Log(err)
			for _, want := range append(tc.wants, filepath.Join(dir, "checkpoint-5")+" was saved by a run with other settings") {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q", want)
				}
			}
		})
	}
}
