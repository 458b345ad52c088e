package main

import (
	"bytes"
	"context"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/subtune/subtune/internal/testdir"
	"github.com/subtune/subtune/safetensors"
	"github.com/subtune/subtune/subspace"
	"github.com/subtune/subtune/trainer"
	"github.com/subtune/subtune/trajectory"
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
	tr, err := trajectory.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	L, D := tr.Manifest.NumLayers, tr.Manifest.LayerSize
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

	// --unified_pick: the same checkpoint of each, or one each.
	for _, tc := range []struct {
		pick     string
		ka, kb   int // checkpoints of A and B (4 each)
		logWants string
	}{
		{"first", 0, 0, "checkpoints [0 0] of 2 trajectories (--unified_pick first)"},
		{"1", 1, 1, "checkpoints [1 1]"},
		{"-2", 2, 2, "checkpoints [-2 -2]"},
		{"first, last", 0, 3, "checkpoints [0 -1]"},
		{"2,-4", 2, 0, "checkpoints [2 -4]"},
		{"last", 3, 3, "the last checkpoint of each of 2 trajectories"},
	} {
		out := filepath.Join(t.TempDir(), "pick.safetensors")
		var log strings.Builder
		if _, err := runExtract(extractOptions{Unified: runA + "," + runB, UnifiedPick: tc.pick, Output: out, Threads: 1}, &log); err != nil {
			t.Fatalf("--unified_pick %s: %v", tc.pick, err)
		}
		vs := append(trajectoryDeltas(t, trA, tc.ka), trajectoryDeltas(t, trB, tc.kb)...)
		meta := checkSpans(t, out, 2, vs)
		for _, w := range []string{trA + "#" + strconv.Itoa(tc.ka), trB + "#" + strconv.Itoa(tc.kb)} {
			if !strings.Contains(meta["trajectory"], w) {
				t.Errorf("--unified_pick %s: metadata trajectory %q lacks %s", tc.pick, meta["trajectory"], w)
			}
		}
		if !strings.Contains(log.String(), tc.logWants) {
			t.Errorf("--unified_pick %s: log lacks %q:\n%s", tc.pick, tc.logWants, log.String())
		}
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
		{extractOptions{Unified: runA + "," + runB, UnifiedPick: "4", Output: out}, []string{"checkpoint 4 picked, the trajectory has 4"}},
		{extractOptions{Unified: runA + "," + runB, UnifiedPick: "-5", Output: out}, []string{"checkpoint -5 picked"}},
		{extractOptions{Unified: runA + "," + runB, UnifiedPick: "0,1,2", Output: out}, []string{"3 checkpoints for 2 trajectories"}},
		{extractOptions{Trajectory: runA, UnifiedPick: "first", Output: out}, []string{"--unified_pick first", "give --unified"}},
	} {
		_, err := runExtract(tc.o, io.Discard)
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: %v, want %q", tc.o, err, w)
			}
		}
	}
}

// TestUnifiedPick: --unified_pick as subspace.Unified's pick, for three
// trajectories.
func TestUnifiedPick(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
		err  string
	}{
		{"", nil, ""},
		{"last", nil, ""},
		{" LAST ", nil, ""},
		{"first", []int{0, 0, 0}, ""},
		{"2", []int{2, 2, 2}, ""},
		{"-1", []int{-1, -1, -1}, ""},
		{"first,last,5", []int{0, -1, 5}, ""},
		{"0, -2 ,1", []int{0, -2, 1}, ""},
		{"last,last,last", []int{-1, -1, -1}, ""},
		{"1,2", nil, "2 checkpoints for 3 trajectories"},
		{"middle", nil, `"middle" is not last, first or a checkpoint index`},
		{"first,x,1", nil, `"x"`},
	} {
		got, err := unifiedPick(tc.in, 3)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: %v, want an error with %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%q: %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// TestExtractOutput: --output replaces a previous output of extract, but
// any other file (the run's own weights, say) only with --overwrite; a
// folder, or a file in a folder that cannot be written, is refused before
// any work.
func TestExtractOutput(t *testing.T) {
	run := trajectoryRun(t, outliersModelDir(t, 3), "sst2", 1)
	weights := filepath.Join(run, "model.safetensors")
	notes := filepath.Join(run, "notes.txt")
	os.WriteFile(notes, []byte("mine"), 0o644)
	previous := filepath.Join(t.TempDir(), "basis.safetensors")
	if _, err := runExtract(extractOptions{Trajectory: run, Output: previous}, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		output    string
		overwrite bool
		want      string // "" when extract must write the file
	}{
		{"the run's weights", weights, false, "--output " + weights + " exists and is not a subspace file written by subtune extract; give --overwrite"},
		{"a text file", notes, false, "--output " + notes + " exists and is not a subspace file"},
		{"a folder", run, true, "--output " + run + " is a folder"},
		{"an unwritable folder", filepath.Join(testdir.ReadOnly(t), "basis.safetensors"), false, "cannot be written"},
		{"a previous output", previous, false, ""},
		{"the run's weights, --overwrite", weights, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := os.ReadFile(tc.output)
			_, err := runExtract(extractOptions{Trajectory: run, Output: tc.output, Overwrite: tc.overwrite}, io.Discard)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !subspace.IsBasisFile(tc.output) {
					t.Errorf("%s is not a subspace file", tc.output)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			t.Log(err)
			if after, _ := os.ReadFile(tc.output); !bytes.Equal(before, after) {
				t.Errorf("%s changed", tc.output)
			}
		})
	}
}
