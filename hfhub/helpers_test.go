package hfhub

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/subtune/subtune/checkpoint"
	"github.com/subtune/subtune/internal/hubtest"
	"github.com/subtune/subtune/internal/testmodel"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/safetensors"
)

const (
	commitA = "0123456789abcdef0123456789abcdef01234567"
	commitB = "89abcdef0123456789abcdef0123456789abcdef"
)

// tinyFiles saves a tiny random BERT classifier and returns its files.
func tinyFiles(t *testing.T) (map[string][]byte, *model.Model) {
	t.Helper()
	dir := t.TempDir()
	m := testmodel.Model(t, testmodel.Tiny(1), model.SequenceClassification, 7)
	must(t, checkpoint.Save(dir, m, ""))
	files := map[string][]byte{}
	for _, n := range []string{"config.json", "model.safetensors"} {
		b, err := os.ReadFile(filepath.Join(dir, n))
		must(t, err)
		files[n] = b
	}
	files["vocab.txt"] = []byte("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n")
	files["tokenizer_config.json"] = []byte(`{"do_lower_case": true}` + "\n")
	return files, m
}

// hubTestEnv clears the environment variables Resolve reads.
func hubTestEnv(t *testing.T) {
	for _, v := range []string{"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_HUB_DISABLE_IMPLICIT_TOKEN",
		"HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_ENDPOINT", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HUB_DOWNLOAD_TIMEOUT"} {
		t.Setenv(v, "")
	}
	t.Setenv("HF_HOME", t.TempDir()) // no token file of the user's
}

// testOpts points at f with a fresh cache, quiet and with short waits.
func testOpts(t *testing.T, f *hubtest.Server) Options {
	return Options{Endpoint: f.Hub.URL, CacheDir: t.TempDir(), Progress: testLog{t}, RetryWait: time.Millisecond, IdleTimeout: 2 * time.Second}
}

// testLog sends notices to the test's log.
type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

func sameData(t *testing.T, got, want *model.Model) {
	t.Helper()
	if !slices.Equal(got.Data, want.Data) {
		t.Fatalf("loaded parameters differ from the published ones")
	}
}

// cdnGets lists the files the CDN served.
func cdnGets(f *hubtest.Server) []string {
	var out []string
	for _, r := range f.Requests() {
		if r.CDN && r.Method == "GET" {
			out = append(out, r.Path)
		}
	}
	return out
}

// assertNoPartial checks that no temporary file is left in the cache.
func assertNoPartial(t *testing.T, root string) {
	t.Helper()
	filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err == nil && (strings.HasSuffix(p, ".incomplete") || strings.Contains(filepath.Base(p), ".tmp-")) {
			t.Errorf("left behind: %s", p)
		}
		return nil
	})
}

// shard splits the tensors of a model.safetensors in two shards with an
// index, named as transformers names them.
func shard(t *testing.T, weights []byte) map[string][]byte {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	must(t, os.WriteFile(path, weights, 0o644))
	tensors, meta, err := safetensors.ReadFile(path)
	must(t, err)
	names := make([]string, 0, len(tensors))
	for n := range tensors {
		names = append(names, n)
	}
	slices.Sort(names)
	files := []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}
	shards := []map[string]safetensors.Tensor{{}, {}}
	weightMap := map[string]string{}
	for i, n := range names {
		k := min(i*2/len(names), 1)
		shards[k][n] = tensors[n]
		weightMap[n] = files[k]
	}
	out := map[string][]byte{}
	for k := range shards {
		p := filepath.Join(dir, files[k])
		must(t, safetensors.Write(p, shards[k], meta))
		b, err := os.ReadFile(p)
		must(t, err)
		out[files[k]] = b
	}
	index, err := json.Marshal(map[string]any{"metadata": map[string]any{}, "weight_map": weightMap})
	must(t, err)
	out["model.safetensors.index.json"] = index
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
