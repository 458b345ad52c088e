package trainer

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/subtune/subtune/dirlock"
	"github.com/subtune/subtune/internal/testdir"
	"github.com/subtune/subtune/internal/testmodel"
	"github.com/subtune/subtune/trainloop"
)

// TestOutputFolderHeld: while a run holds its output folder, another run
// into it is refused naming the folder and the holder's pid, whether it
// would start afresh, overwrite the folder or resume it; nothing of the
// live run's is touched.
func TestOutputFolderHeld(t *testing.T) {
	modelDir := tinyModelDir(t, testmodel.Tiny(1))
	for _, tc := range []struct {
		name string
		edit func(a *Args)
	}{
		{"new run", func(a *Args) {}},
		{"overwrite_output_dir", func(a *Args) { a.OverwriteOutputDir = true }},
		{"resume", func(a *Args) { a.Resume = true }},
		{"eval only", func(a *Args) { a.DoTrain = false }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			live := filepath.Join(out, trainloop.CheckpointPrefix+"4")
			if err := os.MkdirAll(live, 0o755); err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(live, trainloop.StateFile), []byte("{}"), 0o644)
			holder, err := dirlock.Acquire(out) // the live run
			if err != nil {
				t.Fatal(err)
			}
			defer holder.Release()
			a := tinyArgs(modelDir, out)
			a.MaxSteps = 2
			tc.edit(&a)
			steps := 0
			_, err = Finetune(context.Background(), a, io.Discard, Hooks{OnStep: func(int, trainloop.StepStats) { steps++ }})
			if !errors.Is(err, dirlock.ErrBusy) {
				t.Fatalf("err = %v, want dirlock.ErrBusy", err)
			}
			if want := "pid " + strconv.Itoa(os.Getpid()); !strings.Contains(err.Error(), out) || !strings.Contains(err.Error(), want) {
				t.Errorf("error %q names neither %s nor %s", err, out, want)
			}
			if steps > 0 {
				t.Errorf("the refused run trained %d steps", steps)
			}
			if _, err := os.Stat(filepath.Join(live, trainloop.StateFile)); err != nil {
				t.Errorf("the live run's checkpoint was touched: %v", err)
			}
		})
	}
}

// TestUnwritableOutputFolder: a folder that cannot be written is refused
// at the start, naming it, before any training step.
func TestUnwritableOutputFolder(t *testing.T) {
	modelDir := tinyModelDir(t, testmodel.Tiny(1))
	for _, tc := range []struct {
		name string
		edit func(a *Args, ro string)
		want string
	}{
		{"output_dir", func(a *Args, ro string) { a.OutputDir = ro }, "output folder "},
		{"trajectory_dir", func(a *Args, ro string) {
			a.OutputDir, a.SaveTrajectory, a.TrajectoryDir = t.TempDir(), "epoch", filepath.Join(ro, "trajectory")
		}, "--trajectory_dir "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ro := testdir.ReadOnly(t)
			a := tinyArgs(modelDir, "")
			a.MaxSteps = 2
			tc.edit(&a, ro)
			steps := 0
			_, err := Finetune(context.Background(), a, io.Discard, Hooks{OnStep: func(int, trainloop.StepStats) { steps++ }})
			if err == nil || !strings.Contains(err.Error(), tc.want+ro) {
				t.Fatalf("err = %v, want one starting %q", err, tc.want+ro)
			}
			if steps > 0 {
				t.Errorf("%d steps trained before the folder was found unwritable", steps)
			}
			t.Log(err)
		})
	}
}
