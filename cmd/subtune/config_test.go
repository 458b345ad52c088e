package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/subtune/subtune/model"
)

// TestAbsurdConfigRefused: a model folder whose config.json holds an
// absurd or invalid value is refused before anything is allocated, with
// the file, the key and, for sizes, the memory estimate.
func TestAbsurdConfigRefused(t *testing.T) {
	good := tinyBERT(t, []string{"no", "yes"}, true)
	avail, known := model.AvailableMemory()
	for _, tc := range []struct {
		name       string
		edits      map[string]any
		want       string
		needMemory bool // the refusal compares with the memory available
	}{
		{"hidden size", map[string]any{"hidden_size": 1_000_000_000, "num_attention_heads": 1}, "the config describes 9e+18 parameters, more than the 1.13e+15 any machine holds; the largest part is the encoder: num_hidden_layers 2", false},
		{"vocab size", map[string]any{"vocab_size": 1_000_000_000_000}, "vocab_size 1000000000000: want an integer in [1, 2147483647]", false},
		{"layers", map[string]any{"num_hidden_layers": 1_000_000_000}, "more than the memory available", true},
		{"layer norm eps", map[string]any{"layer_norm_eps": -1}, "layer_norm_eps -1: want a finite number > 0", false},
		{"dropout", map[string]any{"attention_probs_dropout_prob": 1}, "attention_probs_dropout_prob 1: want a finite number in [0, 1)", false},
		{"activation", map[string]any{"hidden_act": "swish"}, `unsupported hidden_act "swish"`, false},
	} {
		if tc.needMemory && (!known || avail > 1<<50) {
			continue
		}
		dir := t.TempDir()
		for _, f := range []string{"model.safetensors", "vocab.txt"} {
			data, err := os.ReadFile(filepath.Join(good, f))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		var cfg map[string]any
		data, err := os.ReadFile(filepath.Join(good, "config.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &cfg); err != nil {
			t.Fatal(err)
		}
		for k, v := range tc.edits {
			cfg[k] = v
		}
		if data, err = json.Marshal(cfg); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, err = runPredict(t, `{"input_ids": [101, 102]}`, "--model_name_or_path", dir)
		if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "config.json")+": ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want the file and %q", tc.name, err, tc.want)
		}
	}
}

// TestBatchTooLargeForMemory: the workspace a batch needs is counted before
// the model is allocated.
func TestBatchTooLargeForMemory(t *testing.T) {
	if _, known := model.AvailableMemory(); !known {
		t.Skip("the memory available is unknown here")
	}
	dir := tinyBERT(t, []string{"no", "yes"}, true)
	_, _, err := runPredict(t, `{"input_ids": [101, 102]}`, "--model_name_or_path", dir, "--batch_size", "1000000000000", "--max_seq_length", "64")
	want := "more than the memory available"
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "batch 1000000000000") {
		t.Errorf("err = %v, want %q naming the batch", err, want)
	}
}
