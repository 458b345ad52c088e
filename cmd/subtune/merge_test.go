package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/subtune/subtune/adapter"
	"github.com/subtune/subtune/safetensors"
)

// subspaceFinetune runs `subtune finetune` for 3 steps on SST-2 with extra
// flags into a new folder, and returns it with the log.
func subspaceFinetune(t *testing.T, modelDir string, extra ...string) (string, string) {
	t.Helper()
	out := t.TempDir()
	args := append([]string{"finetune", "--model_name_or_path", modelDir, "--task_name", "sst2", "--do_train", "--output_dir", out,
		"--max_train_samples", "16", "--per_device_train_batch_size", "4", "--max_seq_length", "32", "--max_steps", "3",
		"--learning_rate", "1e-3", "--save_strategy", "no", "--threads", "1"}, extra...)
	log, err := runRoot(t, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	return out, log
}

// sameWeights fails unless the model.safetensors of two folders hold the
// same tensors with the same values.
func sameWeights(t *testing.T, dirA, dirB string) {
	t.Helper()
	a, _, err := safetensors.ReadFile(filepath.Join(dirA, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := safetensors.ReadFile(filepath.Join(dirB, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != len(b) {
		t.Fatalf("%d tensors in %s, %d in %s", len(a), dirA, len(b), dirB)
	}
	for name, ta := range a {
		if !slices.Equal(ta.F32, b[name].F32) || !slices.Equal(ta.Shape, b[name].Shape) {
			t.Errorf("%s differs between %s and %s", name, dirA, dirB)
		}
	}
}

// predictions runs `subtune predict` over a few sentences with args.
func predictions(t *testing.T, args ...string) string {
	t.Helper()
	in := filepath.Join(t.TempDir(), "in.jsonl")
	lines := `{"text": "a gripping, funny film"}` + "\n" + `{"text": "dull and far too long", "text_pair": "really"}` + "\n"
	if err := os.WriteFile(in, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out.jsonl")
	if log, err := runRoot(t, append([]string{"predict", "--input", in, "--output", out, "--threads", "1"}, args...)...); err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestMergeIntrinsic: a run in an extracted subspace writes an adapter;
// merge rebuilds the run's merged model from it exactly, and predict
// --adapter predicts as the merged folder does. Another base or basis is
// refused naming both hashes.
func TestMergeIntrinsic(t *testing.T) {
	modelDir := outliersModelDir(t, 1)
	basis := filepath.Join(t.TempDir(), "basis.safetensors")
	if _, err := runExtract(extractOptions{Trajectory: trajectoryRun(t, modelDir, "sst2", 1), Output: basis, Threads: 1}, nil); err != nil {
		t.Fatal(err)
	}
	run, log := subspaceFinetune(t, modelDir, "--subspace", basis, "--ensemble", "2")
	if !strings.Contains(log, "adapter size: ") {
		t.Errorf("the adapter's size is not printed:\n%s", log)
	}
	merged := t.TempDir()
	if log, err := runRoot(t, "merge", "--adapter", run, "--output_dir", merged); err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	sameWeights(t, run, merged)
	want := predictions(t, "--model_name_or_path", run)
	if got := predictions(t, "--model_name_or_path", merged); got != want {
		t.Errorf("the merged folder predicts\n%s\nthe run's model\n%s", got, want)
	}
	if got := predictions(t, "--adapter", run); got != want {
		t.Errorf("predict --adapter gives\n%s\nthe run's model\n%s", got, want)
	}

	c, err := adapter.ReadConfig(run)
	if err != nil {
		t.Fatal(err)
	}
	otherBasis := filepath.Join(t.TempDir(), "other.safetensors")
	if _, err := runExtract(extractOptions{Trajectory: trajectoryRun(t, modelDir, "cola", 2), Output: otherBasis, Threads: 1}, nil); err != nil {
		t.Fatal(err)
	}
	otherBase := outliersModelDir(t, 2)
	for _, tc := range []struct {
		name  string
		args  []string
		wants []string
	}{
		{"base", []string{"--model_name_or_path", otherBase}, []string{c.BaseModelTheta0SHA256, otherBase}},
		{"basis", []string{"--basis", otherBasis}, []string{c.Subspace.BasisSHA256, otherBasis}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			_, err := runRoot(t, append([]string{"merge", "--adapter", run, "--output_dir", out}, tc.args...)...)
			if err == nil {
				t.Fatal("merged")
			}
			if testing.Verbose() {
				t.Log(err)
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if _, err := os.Stat(filepath.Join(out, "model.safetensors")); err == nil {
				t.Error("a model was written")
			}
		})
	}
}

// TestAdapterOnly: --save_merged_model=false writes the adapter and no
// model, and merge rebuilds the model the same run writes with it; with
// --freeze_embeddings the adapter holds no embeddings and is smaller.
func TestAdapterOnly(t *testing.T) {
	modelDir := outliersModelDir(t, 1)
	random := []string{"--random_subspace", "dense", "--subspace_dim", "3", "--ensemble", "2"}
	full, fullLog := subspaceFinetune(t, modelDir, random...)
	alone, log := subspaceFinetune(t, modelDir, append(random, "--save_merged_model=false")...)
	for _, f := range []string{"model.safetensors", "config.json"} {
		if _, err := os.Stat(filepath.Join(alone, f)); err == nil {
			t.Errorf("--save_merged_model=false wrote %s", f)
		}
	}
	if !strings.Contains(log, "subtune merge --adapter "+alone) {
		t.Errorf("the log does not say how to merge:\n%s", log)
	}
	merged := t.TempDir()
	if log, err := runRoot(t, "merge", "--adapter", alone, "--output_dir", merged); err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	sameWeights(t, full, merged)

	frozen, frozenLog := subspaceFinetune(t, modelDir, append(random, "--freeze_embeddings")...)
	f, err := safetensors.Open(filepath.Join(frozen, adapter.WeightsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, name := range f.Names() {
		if strings.Contains(name, "embeddings") {
			t.Errorf("the adapter of a run with frozen embeddings holds %s", name)
		}
	}
	sizeFull, sizeFrozen := fileSize(t, full, adapter.WeightsFile), fileSize(t, frozen, adapter.WeightsFile)
	if sizeFrozen >= sizeFull/10 {
		t.Errorf("the adapter is %d bytes with frozen embeddings, %d without", sizeFrozen, sizeFull)
	}
	for _, tc := range []struct {
		log  string
		size int64
	}{{fullLog, sizeFull}, {frozenLog, sizeFrozen}} {
		if want := "adapter size: " + byteSize(tc.size); !strings.Contains(tc.log, want) {
			t.Errorf("the log lacks %q:\n%s", want, tc.log)
		}
	}
}

func fileSize(t *testing.T, dir, name string) int64 {
	t.Helper()
	st, err := os.Stat(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// TestMergeHubBase: an adapter trained on a hub model records its id and
// revision, and merge fetches that base by them; merging into the base's
// own folder is refused.
func TestMergeHubBase(t *testing.T) {
	_, local := hubEnv(t)
	full, _ := subspaceFinetune(t, local, "--random_subspace", "fastfood", "--subspace_dim", "3", "--ensemble", "2")
	alone, _ := subspaceFinetune(t, "org/tiny@main", "--random_subspace", "fastfood", "--subspace_dim", "3", "--ensemble", "2",
		"--save_merged_model=false")
	c, err := adapter.ReadConfig(alone)
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseModelNameOrPath != "org/tiny" || c.Revision == nil || *c.Revision != "main" {
		t.Errorf("base_model_name_or_path %q, revision %v: want org/tiny at main", c.BaseModelNameOrPath, c.Revision)
	}
	merged := t.TempDir()
	if log, err := runRoot(t, "merge", "--adapter", alone, "--output_dir", merged); err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	sameWeights(t, full, merged)
	_, err = runRoot(t, "merge", "--adapter", alone, "--model_name_or_path", local, "--output_dir", local)
	if err == nil || !strings.Contains(err.Error(), "is the base model's folder") {
		t.Errorf("merging into the base's folder: %v", err)
	}
}
