package trainer

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/subtune/subtune/internal/testmodel"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/optim"
	"github.com/subtune/subtune/safetensors"
	"github.com/subtune/subtune/trainloop"
	"github.com/subtune/subtune/trajectory"
)

// childEnv carries a childSpec to the re-executed test binary.
const childEnv = "SUBTUNE_TRAINER_CHILD"

type childSpec struct {
	Args    Args
	BlockAt int // after this step, print READY and wait to be killed
}

// TestResumeChild is the child process of TestKillAndResume (skipped
// otherwise): it trains, printing "STEP n" after every step.
func TestResumeChild(t *testing.T) {
	spec := os.Getenv(childEnv)
	if spec == "" {
		t.Skip("runs only as the child of TestKillAndResume")
	}
	var c childSpec
	if err := json.Unmarshal([]byte(spec), &c); err != nil {
		t.Fatal(err)
	}
	hooks := Hooks{OnStep: func(step int, _ trainloop.StepStats) {
		fmt.Printf("STEP %d\n", step)
		if step == c.BlockAt {
			fmt.Println("READY")
			time.Sleep(time.Hour) // until SIGKILL
		}
	}}
	if _, err := Finetune(context.Background(), c.Args, io.Discard, hooks); err != nil {
		t.Fatal(err)
	}
}

// resumeArgs: 2 epochs of 8 steps, dropout on, a checkpoint every 4 steps
// and the trajectory every 5 (in bfloat16 deltas with accumulation, to
// cover both storages).
func resumeArgs(modelDir, out string, accum int) Args {
	a := tinyArgs(modelDir, out)
	a.NumTrainEpochs = 2
	a.PerDeviceTrainBatchSize = 8 / accum
	a.GradientAccumulationSteps = accum
	a.SaveSteps = 4
	a.SaveTrajectory = "steps:5"
	if accum > 1 {
		a.TrajectoryDType = "bf16"
	}
	a.EvalStrategy = "no"
	a.DoEval = false
	return a
}

// TestKillAndResume kills a training run (a child process, SIGKILL) or
// interrupts it (context cancelled, as Ctrl-C does), resumes it with
// --resume, and requires the final weights, the logged losses and every
// trajectory file to be bit-identical to those of an uninterrupted run.
func TestKillAndResume(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip()
	}
	modelDir := tinyModelDir(t, testmodel.Tiny(2))
	refs := map[int]*runRecord{}
	for _, tc := range []struct {
		name      string
		accum     int
		blockAt   int // child blocks after this step, then is killed
		killAfter int // child is killed as soon as it reports this step
		cancelAt  int // in-process: context cancelled after this step
	}{
		{name: "killed after step 7", accum: 1, blockAt: 7},
		{name: "killed while running", accum: 1, killAfter: 9},
		{name: "killed with accumulation", accum: 2, blockAt: 11},
		{name: "interrupted", accum: 1, cancelAt: 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref := refs[tc.accum]
			if ref == nil {
				ref = record(t, resumeArgs(modelDir, t.TempDir(), tc.accum))
				refs[tc.accum] = ref
			}
			out := t.TempDir()
			a := resumeArgs(modelDir, out, tc.accum)
			if tc.cancelAt > 0 {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				_, err := Finetune(ctx, a, io.Discard, Hooks{OnStep: func(step int, _ trainloop.StepStats) {
					if step == tc.cancelAt {
						cancel()
					}
				}})
				if !errors.Is(err, trainloop.ErrInterrupted) || !errors.Is(err, context.Canceled) {
					t.Fatalf("interrupted run returned %v", err)
				}
				if c, _ := trainloop.LatestCheckpoint(out); filepath.Base(c) != fmt.Sprintf("checkpoint-%d", tc.cancelAt) {
					t.Fatalf("after the interrupt the newest checkpoint is %q", c)
				}
			} else {
				killChild(t, childSpec{Args: a, BlockAt: tc.blockAt}, tc.killAfter)
			}
			if _, err := os.Stat(filepath.Join(out, "train_results.json")); err == nil {
				t.Fatal("the run finished before it was stopped")
			}
			a.Resume = true
			got := record(t, a)
			if !strings.Contains(got.log, "resuming from "+out) {
				t.Fatalf("the run did not resume from a checkpoint:\n%s", got.log)
			}
			if !slices.Equal(got.weights, ref.weights) {
				t.Error("final weights differ from the uninterrupted run's")
			}
			if !slices.Equal(got.losses, ref.losses) {
				t.Errorf("logged losses differ:\n%v\n%v", got.losses, ref.losses)
			}
			if !slices.Equal(got.trajectory, ref.trajectory) {
				t.Errorf("trajectory differs:\n%v\n%v", got.trajectory, ref.trajectory)
			}
		})
	}
}

// killChild runs a training child and SIGKILLs it once it prints READY
// or reports step killAfter.
func killChild(t *testing.T, c childSpec, killAfter int) {
	t.Helper()
	spec, _ := json.Marshal(c)
	cmd := exec.Command(os.Args[0], "-test.run=^TestResumeChild$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(spec))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	want := "READY"
	if killAfter > 0 {
		want = fmt.Sprintf("STEP %d", killAfter)
	}
	seen := false
	for sc.Scan() {
		if sc.Text() == want {
			seen = true
			break
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	if !seen {
		t.Fatalf("child ended without printing %q", want)
	}
}

// runRecord is what must not depend on interruptions.
type runRecord struct {
	weights    []float32
	losses     []float64
	trajectory []string // sha256 of θ0 and of every checkpoint file
	log        string
}

func record(t *testing.T, a Args) *runRecord {
	t.Helper()
	var log strings.Builder
	res, err := Finetune(context.Background(), a, &log, Hooks{})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	r := &runRecord{weights: slices.Clone(res.Model.Data), log: log.String()}
	for _, l := range res.State.LogHistory {
		if v, ok := l["loss"]; ok {
			r.losses = append(r.losses, v)
		}
	}
	if res.TrajectoryDir != "" {
		man, err := trajectory.ReadManifest(res.TrajectoryDir)
		if err != nil {
			t.Fatal(err)
		}
		r.trajectory = append(r.trajectory, man.Theta0.SHA256)
		for _, c := range man.Checkpoints {
			r.trajectory = append(r.trajectory, fmt.Sprintf("%d:%s", c.Step, c.SHA256))
		}
	}
	return r
}

// TestSameSeedSameLosses: two runs with one seed and one thread count are
// bit-identical, dropout included; another seed gives another run.
func TestSameSeedSameLosses(t *testing.T) {
	modelDir := tinyModelDir(t, testmodel.Tiny(2))
	run := func(seed int) *runRecord {
		a := tinyArgs(modelDir, t.TempDir())
		a.NumTrainEpochs, a.Seed, a.DoEval = 1, seed, false
		a.GroupByLength = true
		return record(t, a)
	}
	a, b, c := run(42), run(42), run(7)
	if len(a.losses) != 8 || !slices.Equal(a.losses, b.losses) || !slices.Equal(a.weights, b.weights) {
		t.Fatalf("same seed, different runs:\n%v\n%v", a.losses, b.losses)
	}
	if slices.Equal(a.losses, c.losses) {
		t.Fatal("seeds 42 and 7 gave the same losses")
	}
}

// TestNonFiniteLossStops: a gradient that turns NaN (here at the second
// step; in practice a run blown up by its data or schedule) must stop the
// run with a message naming the step, and leave the last good checkpoint
// in place.
func TestNonFiniteLossStops(t *testing.T) {
	modelDir := tinyModelDir(t, testmodel.Tiny(2))
	out := t.TempDir()
	a := tinyArgs(modelDir, out)
	a.WarmupRatio, a.SaveSteps, a.SaveTotalLimit = 0, 1, 2
	hooks := Hooks{NewParamHook: func(m *model.Model) (ParamHook, error) { return &poisonGrad{m: m, at: 2}, nil }}
	_, err := Finetune(context.Background(), a, io.Discard, hooks)
	if !errors.Is(err, trainloop.ErrNonFinite) {
		t.Fatalf("got %v, want trainloop.ErrNonFinite", err)
	}
	t.Log(err)
	var step int
	if _, serr := fmt.Sscanf(err.Error(), "step %d", &step); serr != nil || step < 2 {
		t.Fatalf("error does not start by naming the step: %v", err)
	}
	last, ok := trainloop.LatestCheckpoint(out)
	if !ok || filepath.Base(last) != fmt.Sprintf("checkpoint-%d", step-1) || !strings.Contains(err.Error(), last) {
		t.Fatalf("newest checkpoint %q; error: %v", last, err)
	}
	f, err := safetensors.Open(filepath.Join(last, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.CheckFinite(); err != nil {
		t.Fatalf("the last checkpoint is not good: %v", err)
	}
}

// poisonGrad trains every tensor in full space and makes the gradient NaN
// at optimiser step at.
type poisonGrad struct {
	m         *model.Model
	at, steps int
}

func (p *poisonGrad) Trainable(model.Tensor) bool { return true }
func (p *poisonGrad) Groups() []optim.Group       { return nil }
func (p *poisonGrad) BeforeForward()              {}
func (p *poisonGrad) AfterBackward() {
	if p.steps++; p.steps == p.at {
		p.m.Grad[0] = float32(math.NaN())
	}
}
func (p *poisonGrad) Save(string) error { return nil }
func (p *poisonGrad) Load(string) error { return nil }
func (p *poisonGrad) Describe() string  { return "NaN gradient at step 2" }

// TestResumeRemovesTemporaries: what a run killed mid-write leaves in its
// output folder and trajectory (checkpoint folders being built or removed,
// temporary files of atomic writes) is gone after --resume; everything
// else stays.
func TestResumeRemovesTemporaries(t *testing.T) {
	modelDir := tinyModelDir(t, testmodel.Tiny(2))
	out := t.TempDir()
	a := resumeArgs(modelDir, out, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := Finetune(ctx, a, io.Discard, Hooks{OnStep: func(step int, _ trainloop.StepStats) {
		if step == 6 {
			cancel()
		}
	}})
	if !errors.Is(err, trainloop.ErrInterrupted) {
		t.Fatalf("interrupted run returned %v", err)
	}
	traj := filepath.Join(out, "trajectory")
	leftovers := []string{
		filepath.Join(out, ".tmp-checkpoint-123456", "model.safetensors"),
		filepath.Join(out, ".tmp-checkpoint-old-checkpoint-4", "config.json"),
		filepath.Join(out, ".trainer_state.json.tmp-42"),
		filepath.Join(traj, ".step-10.safetensors.tmp-987"),
		filepath.Join(traj, ".trajectory.json.tmp-7"),
	}
	kept := []string{filepath.Join(out, "notes.txt"), filepath.Join(out, ".notes.tmp-draft")}
	for _, p := range append(leftovers, kept...) {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	a.Resume = true
	record(t, a)
	for _, p := range leftovers {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s is left: %v", p, err)
		}
	}
	for _, p := range kept {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was removed: %v", p, err)
		}
	}
	for _, dir := range []string{".tmp-checkpoint-123456", ".tmp-checkpoint-old-checkpoint-4"} {
		if _, err := os.Stat(filepath.Join(out, dir)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s is left: %v", dir, err)
		}
	}
}
