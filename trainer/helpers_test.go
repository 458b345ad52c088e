package trainer

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/subtune/subtune/checkpoint"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/safetensors"
)

// tinyConfig is BERT with the real uncased vocabulary (so the real
// tokenizer feeds it) but hidden size 16: a training step takes
// milliseconds.
func tinyConfig(layers int) model.Config {
	c := model.DefaultConfig("bert")
	c.HiddenSize, c.NumAttentionHeads, c.IntermediateSize, c.NumHiddenLayers = 16, 2, 32, layers
	c.MaxPositionEmbeddings = 128
	return c
}

// tinyModelDir saves a randomly initialised model of c, with the uncased
// WordPiece vocabulary, into a temporary folder.
func tinyModelDir(t testing.TB, c model.Config) string {
	t.Helper()
	dir := t.TempDir()
	m, err := model.New(c, model.NoHead)
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

// tinyArgs fine-tunes on the first 64 examples of the shipped SST-2 for
// three epochs of 8 steps.
func tinyArgs(modelDir, outDir string) Args {
	a := DefaultArgs()
	a.ModelNameOrPath, a.OutputDir = modelDir, outDir
	a.TaskName = "sst2"
	a.DoTrain, a.DoEval = true, true
	a.MaxTrainSamples, a.MaxEvalSamples = 64, 32
	a.PerDeviceTrainBatchSize, a.PerDeviceEvalBatchSize = 8, 16
	a.MaxSeqLength = 32
	a.LearningRate = 3e-3
	a.WarmupRatio = 0.1
	a.LoggingSteps = 1
	a.Threads = 2
	return a
}
