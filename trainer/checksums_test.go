package trainer

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/subtune/subtune/internal/testmodel"
	"github.com/subtune/subtune/trainloop"
)

// stoppedRun runs a until step `at`, then interrupts it (as Ctrl-C does),
// which saves a checkpoint; it returns the output folder.
func stoppedRun(t *testing.T, a Args, hooks Hooks, at int) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hooks.OnStep = func(step int, _ trainloop.StepStats) {
		if step == at {
			cancel()
		}
	}
	if _, err := Finetune(ctx, a, io.Discard, hooks); !errors.Is(err, trainloop.ErrInterrupted) {
		t.Fatalf("interrupted run: %v", err)
	}
	return a.OutputDir
}

// copyRun copies the output folder of a run into a new folder.
func copyRun(t *testing.T, dir string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "run")
	if err := os.CopyFS(out, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestResumeDamagedCheckpoint: a checkpoint file whose bytes changed after
// it was written (one bit, a truncation, a removal) is refused on --resume,
// naming the file and offering the previous intact checkpoint; resuming
// from that one as offered ends as the uninterrupted run does.
func TestResumeDamagedCheckpoint(t *testing.T) {
	modelDir := tinyModelDir(t, testmodel.Tiny(1))
	args := func(out string) Args {
		a := tinyArgs(modelDir, out)
		a.NumTrainEpochs, a.SaveSteps, a.DoEval = 2, 4, false // 16 steps
		return a
	}
	stopped := stoppedRun(t, args(t.TempDir()), Hooks{}, 8)
	flip := func(path string) error {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		b[len(b)*2/3] ^= 0x01
		return os.WriteFile(path, b, 0o644)
	}
	for i, tc := range []struct {
		name, file string
		damage     func(path string) error
	}{
		{"bit in the weights", "model.safetensors", flip},
		{"bit in the optimizer", trainloop.OptimizerFile, flip},
		{"bit in the resume state", resumeFile, flip},
		{"truncated", "model.safetensors", func(p string) error { return os.Truncate(p, 1000) }},
		{"removed", "vocab.txt", os.Remove},
		{"checksum list edited", trainloop.ChecksumFile, flip},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := copyRun(t, stopped)
			damaged := filepath.Join(out, "checkpoint-8")
			if err := tc.damage(filepath.Join(damaged, tc.file)); err != nil {
				t.Fatal(err)
			}
			a := args(out)
			a.Resume = true
			_, err := Finetune(context.Background(), a, io.Discard, Hooks{})
			if !errors.Is(err, trainloop.ErrDamaged) {
				t.Fatalf("err = %v, want trainloop.ErrDamaged", err)
			}
			t.Log(err)
			if !strings.Contains(err.Error(), filepath.Join(damaged, tc.file)) {
				t.Errorf("the error does not name %s", tc.file)
			}
			if !strings.Contains(err.Error(), "previous intact checkpoint is "+filepath.Join(out, "checkpoint-4")) {
				t.Errorf("the error does not offer checkpoint-4")
			}
			if i > 0 {
				return
			}
			if err := os.Rename(damaged, filepath.Join(t.TempDir(), "damaged")); err != nil {
				t.Fatal(err)
			}
			got := record(t, a)
			if !strings.Contains(got.log, "resuming from "+filepath.Join(out, "checkpoint-4")) {
				t.Fatalf("did not resume from checkpoint-4:\n%s", got.log)
			}
			if ref := record(t, args(t.TempDir())); !slices.Equal(got.weights, ref.weights) {
				t.Error("resumed from checkpoint-4, the final weights differ from the uninterrupted run's")
			}
		})
	}
}
