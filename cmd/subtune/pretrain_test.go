package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPretrainGLUEPairsAlone: --corpus "" --glue_train trains on the tasks'
// train text alone (task-adaptive pre-training); --glue_pairs writes pair
// tasks as one line each. Without --glue_train an empty --corpus is an error.
func TestPretrainGLUEPairsAlone(t *testing.T) {
	out := t.TempDir()
	log, err := runRoot(t, "pretrain", "--corpus", "", "--glue_train", "rte", "--glue_pairs", "--line_by_line",
		"--tokenizer", "../../tokenizer/testdata/bert-base-uncased", "--output_dir", out,
		"--num_hidden_layers", "1", "--hidden_size", "16", "--num_attention_heads", "2", "--intermediate_size", "32",
		"--per_device_train_batch_size", "4", "--max_steps", "2", "--eval_steps", "1", "--eval_blocks", "8", "--threads", "1")
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	// RTE train has 2,490 pairs: one line each, none split in two.
	if !strings.Contains(log, "in 2490 lines") {
		t.Errorf("log does not count RTE's 2490 pairs as lines:\n%s", log)
	}
	for _, f := range []string{"glue-train-pairs.txt", "model/model.safetensors"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	if _, err := runRoot(t, "pretrain", "--corpus", "", "--glue_train", "", "--glue_pairs=false", "--output_dir", t.TempDir()); err == nil || !strings.Contains(err.Error(), "--corpus") {
		t.Errorf("empty --corpus without --glue_train: err = %v", err)
	}
}

// TestPretrainNextSentenceRefusesGLUE: GLUE train sentences are not running
// text, so pairing a sentence with the next one would teach noise.
func TestPretrainNextSentenceRefusesGLUE(t *testing.T) {
	_, err := runRoot(t, "pretrain", "--next_sentence", "--glue_train", "sst2", "--output_dir", t.TempDir(),
		"--tokenizer", "../../tokenizer/testdata/bert-base-uncased")
	if err == nil || !strings.Contains(err.Error(), "--next_sentence") {
		t.Errorf("err = %v, want a refusal naming --next_sentence", err)
	}
}
