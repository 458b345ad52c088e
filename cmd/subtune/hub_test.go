package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/subtune/subtune/internal/hubtest"
	"github.com/subtune/subtune/internal/testmodel"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/subspace"
)

const hubCommit = "0123456789abcdef0123456789abcdef01234567"

// hubEnv publishes a tiny BERT as org/tiny on a fake hub and points the
// HuggingFace environment at it and at a fresh cache. It returns the
// server and the model's local folder.
func hubEnv(t *testing.T) (*hubtest.Server, string) {
	t.Helper()
	c := testmodel.Tiny(2)
	c.MaxPositionEmbeddings = 64
	local := testmodel.New(t, c, model.NoHead, 3)
	files := hubtest.ReadDir(t, local)
	f := hubtest.New(t)
	f.AddRepo("org/tiny", hubCommit, files, "main")
	f.AddRepo("org/pt", hubCommit, hubtest.ReadDir(t, "../../torchbin/testdata/zip"), "main") // PyTorch weights only
	for _, v := range []string{"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HUGGINGFACE_HUB_CACHE"} {
		t.Setenv(v, "")
	}
	t.Setenv("HF_ENDPOINT", f.Hub.URL)
	t.Setenv("HF_HOME", t.TempDir())
	t.Setenv("HF_HUB_CACHE", t.TempDir())
	return f, local
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// hubCommands are every command that takes a model, run on org/tiny
// (convert on org/pt), each into fresh output folders; run is a subspace
// run for outliers.
func hubCommands(t *testing.T, run string) map[string][]string {
	input := filepath.Join(t.TempDir(), "in.jsonl")
	must(t, os.WriteFile(input, []byte(`{"text": "a fine day", "text_pair": "it rains"}`+"\n"), 0o644))
	return map[string][]string{
		"finetune": {"finetune", "--model_name_or_path", "org/tiny", "--task_name", "rte", "--do_train", "--output_dir", t.TempDir(),
			"--max_train_samples", "8", "--per_device_train_batch_size", "4", "--max_seq_length", "32", "--max_steps", "2", "--threads", "1"},
		"pretrain": {"pretrain", "--model_name_or_path", "org/tiny", "--corpus", "", "--glue_train", "rte", "--line_by_line",
			"--tokenizer", "org/tiny", "--output_dir", t.TempDir(), "--max_seq_length", "32",
			"--per_device_train_batch_size", "4", "--max_steps", "2", "--eval_steps", "1", "--eval_blocks", "8", "--threads", "1"},
		"tokenize": {"tokenize", "--model_name_or_path", "org/tiny"},
		"predict":  {"predict", "--model_name_or_path", "org/tiny", "--input", input, "--output", filepath.Join(t.TempDir(), "out.jsonl")},
		"convert":  {"convert", "org/pt", "--output_dir", t.TempDir()},
		"outliers": {"outliers", "--run", run, "--model", "org/tiny", "--output", t.TempDir(), "--threads", "1"},
		"reproduce": {"reproduce", "--model_name_or_path", "org/tiny", "--tasks", "rte", "--seeds", "1", "--num_train_epochs", "16",
			"--max_train_samples", "64", "--output_dir", t.TempDir(), "--threads", "1"},
	}
}

// TestHubEveryCommand: every command that takes a model accepts a hub id,
// fetches it once into the cache, and runs offline from the cache without
// a single request.
func TestHubEveryCommand(t *testing.T) {
	f, local := hubEnv(t)
	run := subspaceRun(t, local, subspace.Spec{Random: subspace.KindDense, Dim: 4, Ensemble: 2, Seed: 5, LearningRate: 0.05})
	cmds := hubCommands(t, run)
	snapshot := filepath.Join(os.Getenv("HF_HUB_CACHE"), "models--org--tiny", "snapshots", hubCommit)
	for _, name := range []string{"tokenize", "convert", "predict", "finetune", "pretrain", "outliers", "reproduce"} {
		log, err := runRoot(t, cmds[name]...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, log)
		}
		if name == "convert" {
			continue // org/pt
		}
		if !strings.Contains(log, "org/tiny: "+snapshot) {
			t.Errorf("%s does not say where org/tiny was found:\n%s", name, log)
		}
	}
	t.Setenv("HF_HUB_OFFLINE", "1")
	f.Reset()
	cmds = hubCommands(t, run)
	for _, name := range []string{"tokenize", "convert", "predict", "finetune", "pretrain", "outliers"} {
		if log, err := runRoot(t, cmds[name]...); err != nil {
			t.Errorf("%s offline: %v\n%s", name, err, log)
		}
	}
	if reqs := f.Requests(); len(reqs) != 0 {
		t.Errorf("offline runs made %d requests: %v", len(reqs), reqs)
	}
}

// TestHubCommandFaults: a rate-limited hub is waited out, a gated model is
// read with the token file `huggingface-cli login` wrote (newline and
// all), a cached model survives a hub that keeps answering 429, and
// --model_revision selects a commit.
func TestHubCommandFaults(t *testing.T) {
	f, _ := hubEnv(t)
	tokenize := []string{"tokenize", "--model_name_or_path", "org/tiny"}

	f.Fail(1, 429, "0")
	if log, err := runRoot(t, tokenize...); err != nil || !strings.Contains(log, "429 Too Many Requests; retrying") {
		t.Errorf("429 then success: %v\n%s", err, log)
	}

	f.Fail(100, 429, "0")
	if log, err := runRoot(t, tokenize...); err != nil || !strings.Contains(log, "using the cached copy") {
		t.Errorf("429 on a cached model: %v\n%s", err, log)
	}

	tiny := hubtest.ReadDir(t, filepath.Join(os.Getenv("HF_HUB_CACHE"), "models--org--tiny", "snapshots", hubCommit))
	f = hubtest.New(t)
	t.Setenv("HF_ENDPOINT", f.Hub.URL)
	t.Setenv("HF_HUB_CACHE", t.TempDir())
	f.AddRepo("org/gated", hubCommit, tiny, "main").Token = "hf_secret"
	gated := []string{"tokenize", "--model_name_or_path", "org/gated"}
	if _, err := runRoot(t, gated...); err == nil || !strings.Contains(err.Error(), "gated") {
		t.Errorf("gated without a token: %v", err)
	}
	must(t, os.WriteFile(filepath.Join(os.Getenv("HF_HOME"), "token"), []byte("hf_secret\n"), 0o600))
	if log, err := runRoot(t, gated...); err != nil {
		t.Errorf("gated with the token file: %v\n%s", err, log)
	}

	const other = "89abcdef0123456789abcdef0123456789abcdef"
	f.AddRepo("org/gated", other, tiny, "v2")
	log, err := runRoot(t, "tokenize", "--model_name_or_path", "org/gated", "--model_revision", "v2")
	if err != nil || !strings.Contains(log, filepath.Join("snapshots", other)) {
		t.Errorf("--model_revision v2: %v\n%s", err, log)
	}
	if _, err := runRoot(t, "tokenize", "--model_name_or_path", "org/gated@main", "--model_revision", "v2"); err == nil {
		t.Error("name@main with --model_revision v2 was accepted")
	}
}
