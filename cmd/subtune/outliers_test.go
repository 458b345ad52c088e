package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/subtune/subtune/checkpoint"
	"github.com/subtune/subtune/internal/testmodel"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/outliers"
	"github.com/subtune/subtune/safetensors"
	"github.com/subtune/subtune/subspace"
	"github.com/subtune/subtune/trainer"
)

// outliersModelDir saves a small random BERT (2 layers, H = 16) with the
// real uncased vocabulary into a folder.
func outliersModelDir(t *testing.T, seed uint64) string {
	t.Helper()
	c := testmodel.Tiny(2)
	c.MaxPositionEmbeddings = 64
	return testmodel.New(t, c, model.NoHead, seed)
}

// smallRunArgs fine-tunes on 32 SST-2 examples for a few steps, on one
// thread.
func smallRunArgs(modelDir, out string, steps int) trainer.Args {
	a := trainer.DefaultArgs()
	a.ModelNameOrPath, a.OutputDir, a.TaskName = modelDir, out, "sst2"
	a.DoTrain = true
	a.MaxTrainSamples, a.PerDeviceTrainBatchSize, a.MaxSeqLength = 32, 8, 32
	a.MaxSteps, a.LearningRate, a.LoggingSteps = steps, 1e-2, 100
	a.SaveStrategy, a.EvalStrategy = "no", "no"
	a.Threads = 1
	return a
}

// subspaceRun fine-tunes modelDir in the subspace s and returns the output
// directory.
func subspaceRun(t *testing.T, modelDir string, s subspace.Spec) string {
	t.Helper()
	out := t.TempDir()
	hooks := trainer.Hooks{NewParamHook: func(m *model.Model) (trainer.ParamHook, error) {
		r, _, err := s.NewReparam(m)
		if err != nil {
			return nil, err // not r: a nil *Reparam is no nil hook
		}
		return r, nil
	}}
	if _, err := trainer.Finetune(context.Background(), smallRunArgs(modelDir, out, 4), io.Discard, hooks); err != nil {
		t.Fatal(err)
	}
	return out
}

// dropCoordinatesKey rewrites the coordinates file at path without the
// metadata key, as a file written before the key was recorded.
func dropCoordinatesKey(t *testing.T, path, key string) {
	t.Helper()
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	meta := f.Metadata()
	ts := map[string]safetensors.Tensor{}
	for _, name := range f.Names() {
		x, err := f.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		info, _ := f.Info(name)
		ts[name] = safetensors.Tensor{DType: safetensors.F32, Shape: info.Shape, F32: x}
	}
	f.Close()
	delete(meta, key)
	if err := safetensors.Write(path, ts, meta); err != nil {
		t.Fatal(err)
	}
}

// updateFromWeights is θ_final − θ0 per layer, read from the two folders.
func updateFromWeights(t *testing.T, modelDir, run string) [][]float32 {
	t.Helper()
	m0, _, err := checkpoint.Load(modelDir, model.NoHead, checkpoint.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m1, _, err := checkpoint.Load(run, model.NoHead, checkpoint.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := make([][]float32, m0.Config.NumHiddenLayers)
	for l := range d {
		a, b := m0.Layer(l), m1.Layer(l)
		d[l] = make([]float32, len(a))
		for i := range a {
			d[l][i] = b[i] - a[i]
		}
	}
	return d
}

// TestOutliersCommand runs `subtune outliers` on small subspace runs: a
// dense random basis kept in float32 and in bfloat16, and an intrinsic
// subspace extracted from a recorded trajectory. The rebuilt update must
// match the run's weights and give the analysis of θ_final − θ0.
func TestOutliersCommand(t *testing.T) {
	modelDir := outliersModelDir(t, 3)

	// The intrinsic subspace: a full run recording its trajectory, then
	// extraction.
	full := t.TempDir()
	fa := smallRunArgs(modelDir, full, 4)
	fa.LearningRate, fa.SaveTrajectory = 1e-3, "steps:1"
	if _, err := trainer.Finetune(context.Background(), fa, io.Discard, trainer.Hooks{}); err != nil {
		t.Fatal(err)
	}
	tr, err := subspace.OpenRun(filepath.Join(full, "trajectory"))
	if err != nil {
		t.Fatal(err)
	}
	basis := filepath.Join(t.TempDir(), "subspace.safetensors")
	if _, err := subspace.Extract(subspace.All(tr), basis, subspace.ExtractOptions{}); err != nil {
		t.Fatal(err)
	}
	tr.Close()

	// dtype is the storage the basis must be rebuilt in: the run's ("" for
	// a Fastfood transform, which stores no matrix).
	for _, tc := range []struct {
		name  string
		spec  subspace.Spec
		dtype safetensors.DType
	}{
		{"dense-f32", subspace.Spec{Random: subspace.KindDense, Dim: 4, Ensemble: 2, Seed: 5, LearningRate: 0.05}, safetensors.F32},
		{"dense-bf16", subspace.Spec{Random: subspace.KindDense, Dim: 4, Ensemble: 2, Seed: 5, LearningRate: 0.05, RandomDType: safetensors.BF16}, safetensors.BF16},
		{"said", subspace.Spec{Random: subspace.KindSAID, Dim: 4, Ensemble: 2, Seed: 6, LearningRate: 0.05}, ""},
		{"intrinsic", subspace.Spec{BasisFile: basis, Ensemble: 2, Seed: 7, LearningRate: 0.05}, safetensors.F32},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := subspaceRun(t, modelDir, tc.spec)
			out := t.TempDir()
			var stdout, log bytes.Buffer
			res, err := runOutliers(outliersOptions{RunOptions: outliers.RunOptions{Run: run, Output: out, Sigma: 2.5, Top: 5}, Threads: 1}, &stdout, &log)
			if err != nil {
				t.Fatalf("%v\n%s", err, log.String())
			}
			t.Logf("log:\n%s", log.String())
			// The same analysis as of θ_final − θ0 (up to the rounding of
			// that subtraction, which may move an entry across 2.5σ).
			ref, err := outliers.Outliers(updateFromWeights(t, modelDir, run), outliers.LayoutFor(testmodel.Tiny(2)), 2.5)
			if err != nil {
				t.Fatal(err)
			}
			if d := res.Count - ref.Count; d < -2 || d > 2 || res.Count == 0 {
				t.Errorf("%d outliers from the rebuilt update, %d from the weights", res.Count, ref.Count)
			}
			f, err := outliers.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if f.Source.ReconstructionError == nil || *f.Source.ReconstructionError > 1e-4 || f.Source.Run != run || f.Source.Model != modelDir {
				t.Errorf("source %+v", f.Source)
			}
			if f.Source.BasisDType != string(tc.dtype) {
				t.Errorf("basis rebuilt as %q, the run held it as %q", f.Source.BasisDType, tc.dtype)
			}
			if p, err := f.Positions(); err != nil || p.Count() != res.Count {
				t.Errorf("positions: %v (%d)", err, p.Count())
			}
			for _, name := range []string{"outliers.md", "outliers.png", "outliers.svg", "outlier_dims.png", "outlier_dims.svg"} {
				if st, err := os.Stat(filepath.Join(out, name)); err != nil || st.Size() == 0 {
					t.Errorf("%s: %v", name, err)
				}
			}
			for _, want := range []string{"Table 4", "output.LayerNorm.weight", "Hidden dimensions that recur"} {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q", want)
				}
			}
			// The wording is the behaviour here: the log gives the user the
			// ablation's command line to run next.
			if !strings.Contains(log.String(), "--disable_dims outliers:"+filepath.Join(out, outliers.FileName)) {
				t.Errorf("log does not give the ablation command:\n%s", log.String())
			}
			if tc.name == "dense-bf16" {
				// Pinned to another storage than the one recorded: refused.
				if _, err := runOutliers(outliersOptions{RunOptions: outliers.RunOptions{Run: run, Output: t.TempDir(), Sigma: 2.5, Top: 10, DType: "f32"}, Threads: 1}, io.Discard, io.Discard); err == nil ||
					!strings.Contains(err.Error(), "--subspace_dtype f32") || !strings.Contains(err.Error(), "as BF16") {
					t.Errorf("--subspace_dtype f32 on a bfloat16 run: %v", err)
				}
				// Coordinates written before the storage was recorded need
				// it pinned, and are then analysed as before.
				dropCoordinatesKey(t, filepath.Join(run, subspace.CoordinatesFile), "basis_dtype")
				if _, err := runOutliers(outliersOptions{RunOptions: outliers.RunOptions{Run: run, Output: t.TempDir(), Sigma: 2.5, Top: 10}, Threads: 1}, io.Discard, io.Discard); err == nil ||
					!strings.Contains(err.Error(), "basis_dtype") || !strings.Contains(err.Error(), "--subspace_dtype") {
					t.Errorf("coordinates without basis_dtype: %v", err)
				}
				pinned := t.TempDir()
				if _, err := runOutliers(outliersOptions{RunOptions: outliers.RunOptions{Run: run, Output: pinned, Sigma: 2.5, Top: 10, DType: "bf16"}, Threads: 1}, io.Discard, io.Discard); err != nil {
					t.Errorf("coordinates without basis_dtype, --subspace_dtype bf16: %v", err)
				} else if g, err := outliers.ReadFile(pinned); err != nil {
					t.Error(err)
				} else if g.Source.BasisDType != string(safetensors.BF16) || g.Count != f.Count {
					t.Errorf("coordinates without basis_dtype, --subspace_dtype bf16: basis as %q, %d outliers (want BF16, %d)", g.Source.BasisDType, g.Count, f.Count)
				}
				if _, err := runOutliers(outliersOptions{RunOptions: outliers.RunOptions{Run: run, Output: t.TempDir(), Sigma: 2.5, Top: 10, DType: "f16"}}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "--subspace_dtype") {
					t.Errorf("--subspace_dtype f16: %v", err)
				}
			}
		})
	}

	// Errors name what is wrong.
	var sink bytes.Buffer
	if _, err := runOutliers(outliersOptions{RunOptions: outliers.RunOptions{Run: full, Sigma: 3, Top: 10}}, &sink, &sink); err == nil || !strings.Contains(err.Error(), subspace.CoordinatesFile) {
		t.Errorf("a full fine-tuning run: %v", err)
	}
	run := subspaceRun(t, modelDir, subspace.Spec{Random: subspace.KindDense, Dim: 4, Ensemble: 2, Seed: 5, LearningRate: 0.05})
	other := outliersModelDir(t, 4)
	if _, err := runOutliers(outliersOptions{RunOptions: outliers.RunOptions{Run: run, Model: other, Sigma: 3, Top: 10, Output: t.TempDir()}}, &sink, &sink); err == nil || !strings.Contains(err.Error(), "does not reproduce the run's weights") {
		t.Errorf("another base model: %v", err)
	}
	if _, err := runOutliers(outliersOptions{RunOptions: outliers.RunOptions{Sigma: 3, Top: 10}}, &sink, &sink); err == nil || !strings.Contains(err.Error(), "--run") {
		t.Errorf("no --run: %v", err)
	}
	os.Remove(filepath.Join(run, "training_args.json"))
	if _, err := runOutliers(outliersOptions{RunOptions: outliers.RunOptions{Run: run, Sigma: 3, Top: 10}}, &sink, &sink); err == nil || !strings.Contains(err.Error(), "--model") {
		t.Errorf("no training_args.json: %v", err)
	}
}

func TestOutliersIsRegistered(t *testing.T) {
	for _, c := range newRootCmd().Commands() {
		if c.Name() == "outliers" {
			if f := c.Flags().Lookup("sigma"); f == nil || f.DefValue != "3" {
				t.Errorf("--sigma default %v", f)
			}
			return
		}
	}
	t.Fatal("outliers is not a subcommand of subtune")
}
