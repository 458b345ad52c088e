package main

import (
	"strings"
	"testing"

	"github.com/subtune/subtune/internal/testmodel"
	"github.com/subtune/subtune/model"
)

// TestFinetuneResumeExtensionSettings: the options of a re-parameterisation
// (here a random subspace) must match on --resume like the run's own; the
// error names each differing flag with its old and new value.
func TestFinetuneResumeExtensionSettings(t *testing.T) {
	modelDir := testmodel.New(t, testmodel.Tiny(1), model.NoHead, 1)
	out := t.TempDir()
	common := []string{"finetune", "--model_name_or_path", modelDir, "--task_name", "sst2", "--do_train", "--output_dir", out,
		"--max_train_samples", "16", "--per_device_train_batch_size", "4", "--max_seq_length", "32", "--max_steps", "4",
		"--save_steps", "2", "--threads", "1"}
	subspace := []string{"--random_subspace", "dense", "--subspace_dim", "2", "--ensemble", "2"}
	if log, err := runRoot(t, append(common, subspace...)...); err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	for _, tc := range []struct {
		name  string
		args  []string
		wants []string
	}{
		{"subspace_learning_rate", append(subspace, "--subspace_learning_rate", "0.1"), []string{"--subspace_learning_rate 0.01 (now 0.1)"}},
		{"ensemble", []string{"--random_subspace", "dense", "--subspace_dim", "2", "--ensemble", "3"}, []string{"--ensemble 2 (now 3)"}},
		{"dropped", nil, []string{`--ensemble 2 (now 16), --random_subspace dense (now ""), --subspace_dim 2 (now 0);`}},
		{"learning_rate", append(subspace, "--learning_rate", "1e-4"), []string{"--learning_rate 2e-05 (now 0.0001)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append(append([]string{}, common...), "--resume"), tc.args...)
			_, err := runRoot(t, args...)
			if err == nil {
				t.Fatal("resumed with other settings")
			}
			t.Log(err)
			for _, want := range tc.wants {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q", want)
				}
			}
		})
	}
}
