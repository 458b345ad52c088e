// Package testmodel writes small, randomly initialised models in the
// HuggingFace folder layout for tests in other packages: config.json,
// model.safetensors and bert-base-uncased's real vocab.txt, so that the
// folder loads through the same path as a downloaded model.
package testmodel

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/subtune/subtune/checkpoint"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/safetensors"
)

// Tiny is a BERT with the given number of layers, hidden size 16, 2 heads,
// FFN 32 and 128 positions: small enough that a training step takes
// milliseconds, with the real 30,522-token vocabulary.
func Tiny(layers int) model.Config {
	c := model.DefaultConfig("bert")
	c.NumHiddenLayers, c.HiddenSize, c.NumAttentionHeads, c.IntermediateSize = layers, 16, 2, 32
	c.MaxPositionEmbeddings = 128
	return c
}

// UncasedVocab is the path of bert-base-uncased's vocab.txt in the
// repository's tokenizer test data.
func UncasedVocab() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "tokenizer", "testdata", "bert-base-uncased", "vocab.txt")
}

// Dir saves m (in f32) and the uncased vocabulary into a new temporary
// folder and returns its path.
func Dir(tb testing.TB, m *model.Model) string {
	tb.Helper()
	dir := tb.TempDir()
	if err := checkpoint.Save(dir, m, safetensors.F32); err != nil {
		tb.Fatal(err)
	}
	WriteVocab(tb, dir)
	return dir
}

// Model builds a model of c with head, initialised from seed.
func Model(tb testing.TB, c model.Config, head model.Head, seed uint64) *model.Model {
	tb.Helper()
	m, err := model.New(c, head)
	if err != nil {
		tb.Fatal(err)
	}
	m.Init(seed)
	return m
}

// New builds a model with Model and saves it with Dir.
func New(tb testing.TB, c model.Config, head model.Head, seed uint64) string {
	tb.Helper()
	return Dir(tb, Model(tb, c, head, seed))
}

// WriteVocab copies the uncased vocabulary into dir.
func WriteVocab(tb testing.TB, dir string) {
	tb.Helper()
	vocab, err := os.ReadFile(UncasedVocab())
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "vocab.txt"), vocab, 0o644); err != nil {
		tb.Fatal(err)
	}
}
