package reproduce

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/subtune/subtune/checkpoint"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/safetensors"
)

// tinyModel writes a randomly initialised 2-layer BERT with the real
// uncased vocabulary into a temporary model folder.
func tinyModel(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "model")
	c := model.DefaultConfig("bert")
	c.NumHiddenLayers, c.HiddenSize, c.NumAttentionHeads, c.IntermediateSize, c.MaxPositionEmbeddings = 2, 16, 2, 32, 128
	m, err := model.New(c, model.MaskedLM)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(1)
	if err := checkpoint.Save(dir, m, safetensors.F32); err != nil {
		t.Fatal(err)
	}
	vocab, err := os.ReadFile("../tokenizer/testdata/bert-base-uncased/vocab.txt")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "vocab.txt"), vocab, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestRunPipeline runs every stage on a tiny model and a slice of RTE, checks
// the report, then runs again and checks that nothing is retrained.
func TestRunPipeline(t *testing.T) {
	out := t.TempDir()
	p := Profiles["quick"]
	p.MaxTrainSamples, p.MaxEvalSamples, p.Epochs, p.BatchSize, p.Checkpoints, p.Dim, p.Ensemble = 48, 32, 2, 8, 4, 4, 2
	o := Options{Model: tinyModel(t), Tasks: []string{"rte"}, Profile: p, OutputDir: out, Log: io.Discard}
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Runs) != 4 {
		t.Fatalf("%d runs, want full, intrinsic, random and freeze", len(res.Runs))
	}
	byMethod := map[string]int{}
	for _, r := range res.Runs {
		byMethod[r.Method] = r.Trainable
	}
	if !(byMethod[MethodFull] > byMethod[MethodIntrinsic] && byMethod[MethodIntrinsic] == byMethod[MethodRandom] && byMethod[MethodRandom] > byMethod[MethodFreeze]) {
		t.Errorf("trainable parameters %v: want full > intrinsic = random > freeze", byMethod)
	}
	if len(res.Spectra) != 2 {
		t.Errorf("%d spectra, want one per layer", len(res.Spectra))
	}
	report, err := os.ReadFile(filepath.Join(out, "REPORT.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| Full", "| Intrinsic", "spectrum_rte.png"} {
		if !strings.Contains(string(report), want) {
			t.Errorf("REPORT.md lacks %q", want)
		}
	}
	for _, f := range []string{"results.json", "spectrum_rte.png", "spectrum_rte.svg", "rte/seed42/subspace.safetensors"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}

	// A second run finds every stage done.
	var log strings.Builder
	o.Log = &log
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(log.String(), "cached in"); n != 4 {
		t.Errorf("second run reused %d of 4 stages:\n%s", n, log.String())
	}
}
