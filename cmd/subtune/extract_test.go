package main

import (
	"context"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/subtune/subtune/safetensors"
	"github.com/subtune/subtune/subspace"
	"github.com/subtune/subtune/trainer"
)

// trajectoryRun fine-tunes modelDir on task for 4 steps, recording a
// checkpoint after each, and returns the run's output directory.
func trajectoryRun(t *testing.T, modelDir, task string, seed int) string {
	t.Helper()
	out := t.TempDir()
	a := smallRunArgs(modelDir, out, 4)
	a.TaskName, a.Seed = task, seed
	a.LearningRate, a.SaveTrajectory = 1e-3, "steps:1"
	if _, err := trainer.Finetune(context.Background(), a, io.Discard, trainer.Hooks{}); err != nil {
		t.Fatal(err)
	}
	return out
}

// trajectoryDeltas reads checkpoints ks of the trajectory in dir as encoder
// vectors θk − θ0.
func trajectoryDeltas(t *testing.T, dir string, ks ...int) [][]float32 {
	t.Helper()
	tr, err := subspace.OpenTrajectory(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	L, D := tr.NumLayers(), tr.LayerSize()
	var out [][]float32
	for _, k := range ks {
		if k < 0 {
			k += tr.NumCheckpoints()
		}
		v := make([]float32, L*D)
		for l := 0; l < L; l++ {
			if err := tr.ReadDelta(k, l, v[l*D:(l+1)*D]); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, v)
	}
	return out
}

// checkSpans fails unless the basis in path has dim directions per layer
// and reproduces every vector from its projection (it spans them).
func checkSpans(t *testing.T, path string, dim int, vs [][]float32) map[string]string {
	t.Helper()
	b, err := subspace.LoadBasis(path, subspace.Expect{})
	if err != nil {
		t.Fatal(err)
	}
	x := make([][]float32, len(b.Blocks()))
	for i, bl := range b.Blocks() {
		if bl.Dim != dim {
			t.Errorf("%s: %d directions, want %d", bl.Name, bl.Dim, dim)
		}
		x[i] = make([]float32, bl.Dim)
	}
	for i, v := range vs {
		b.Project(x, v)
		back := make([]float32, len(v))
		b.Expand(back, nil, x)
		var e2, n2 float64
		for j := range v {
			d := float64(back[j]) - float64(v[j])
			e2 += d * d
			n2 += float64(v[j]) * float64(v[j])
		}
		if math.Sqrt(e2) > 1e-4*math.Sqrt(n2) {
			t.Errorf("vector %d is not in the subspace: relative residual %.2g", i, math.Sqrt(e2/n2))
		}
	}
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return f.Metadata()
}

// TestExtractUnifiedAndCheckpoints: --unified spans the last checkpoint of
// each run (given as a run directory or as its trajectory), --checkpoints
// the evenly spaced ones it keeps; mistakes are refused with the reason.
func TestExtractUnifiedAndCheckpoints(t *testing.T) {
	modelDir := outliersModelDir(t, 3)
	runA := trajectoryRun(t, modelDir, "sst2", 1)
	runB := trajectoryRun(t, modelDir, "cola", 2)
	trA, trB := filepath.Join(runA, "trajectory"), filepath.Join(runB, "trajectory")

	out := filepath.Join(t.TempDir(), "unified.safetensors")
	var log strings.Builder
	if _, err := runExtract(extractOptions{Unified: runA + "," + trB, Output: out, Threads: 1}, &log); err != nil {
		t.Fatal(err)
	}
	last := append(trajectoryDeltas(t, trA, -1), trajectoryDeltas(t, trB, -1)...)
	meta := checkSpans(t, out, 2, last)
	if meta["t"] != "2" || meta["trajectory_task"] != "sst2,cola" || !strings.Contains(meta["trajectory"], trA+"#3") {
		t.Errorf("metadata %v", meta)
	}
	if !strings.Contains(log.String(), "unified subspace: the last checkpoint of each of 2 trajectories") {
		t.Errorf("log:\n%s", log.String())
	}

	for _, tc := range []struct {
		n    int
		keep []int
	}{{2, []int{1, 3}}, {1, []int{3}}, {9, []int{0, 1, 2, 3}}} {
		out := filepath.Join(t.TempDir(), "sel.safetensors")
		if _, err := runExtract(extractOptions{Trajectory: runA, Checkpoints: tc.n, Output: out, Threads: 1}, io.Discard); err != nil {
			t.Fatal(err)
		}
		meta := checkSpans(t, out, len(tc.keep), trajectoryDeltas(t, trA, tc.keep...))
		if meta["t"] != strconv.Itoa(len(tc.keep)) {
			t.Errorf("--checkpoints %d: t = %s, want %d", tc.n, meta["t"], len(tc.keep))
		}
	}

	other := trajectoryRun(t, outliersModelDir(t, 4), "sst2", 1)
	for _, tc := range []struct {
		o    extractOptions
		want []string
	}{
		{extractOptions{Output: out}, []string{"--trajectory", "--unified"}},
		{extractOptions{Trajectory: runA, Unified: runA, Output: out}, []string{"one of --trajectory and --unified"}},
		{extractOptions{Trajectory: runA}, []string{"--output"}},
		{extractOptions{Unified: runA + "," + runB, Checkpoints: 2, Output: out}, []string{"--checkpoints"}},
		{extractOptions{Trajectory: runA, Checkpoints: -1, Output: out}, []string{"--checkpoints -1"}},
		{extractOptions{Trajectory: runA, Output: out, DTypeName: "f16"}, []string{"--dtype"}},
		{extractOptions{Unified: runA + "," + other, Output: out}, []string{"different θ0", trA, filepath.Join(other, "trajectory")}},
	} {
		_, err := runExtract(tc.o, io.Discard)
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: %v, want %q", tc.o, err, w)
			}
		}
	}
}
