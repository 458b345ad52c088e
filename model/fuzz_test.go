package model

import (
	"os"
	"path/filepath"
	"testing"
)

// fuzzBudget is the memory a config may claim in FuzzConfig: enough for
// the tiny test models, far less than the machine has.
const fuzzBudget = 64 << 20

// FuzzConfig feeds config.json bytes through parsing, the memory check,
// model construction, a workspace and a training forward and backward
// pass. No input may panic, and a config CheckMemory lets through must
// allocate no more than the budget it was checked against.
func FuzzConfig(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*", "config.json"))
	for _, path := range seeds {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, edits := range []map[string]any{
		nil,
		{"model_type": "roberta", "pad_token_id": 1, "max_position_embeddings": 3, "type_vocab_size": 1},
		{"vocab_size": 1, "pad_token_id": 0, "hidden_act": "relu", "num_hidden_layers": 1},
		{"hidden_size": 1_000_000_000, "num_attention_heads": 1},
		{"vocab_size": 1_000_000_000_000},
		{"num_hidden_layers": 1_000_000_000},
		{"intermediate_size": 1 << 40},
		{"layer_norm_eps": -1},
		{"id2label": map[string]string{"0": "x"}},
	} {
		f.Add(tinyConfigJSON(f, edits))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, _, err := ParseConfig(data)
		if err != nil {
			return
		}
		for _, head := range []Head{SequenceClassification, MaskedLM} {
			b, n := 2, min(8, c.PositionLimit())
			use := Usage{Batch: b, SeqLen: n, Train: true}
			if err := c.CheckMemory(head, use, fuzzBudget); err != nil {
				continue
			}
			var m *Model
			got := allocated(func() {
				if m, err = New(c, head); err == nil {
					m.Init(1)
					ws := m.NewWorkspace(b, n, 0)
					batch := fuzzBatch(c, head, b, n)
					if _, err = m.Forward(ws, batch, Pass{Train: true, Seed: 1}); err == nil {
						m.Backward(ws, batch)
					}
				}
			})
			if err != nil {
				t.Fatalf("%s head: a config CheckMemory accepted fails: %v", head, err)
			}
			if got > fuzzBudget {
				t.Fatalf("%s head: allocated %.0f bytes, over the budget of %d that CheckMemory accepted", head, got, fuzzBudget)
			}
		}
	})
}

// fuzzBatch is a batch of valid ids for any config: b sequences of n
// tokens, the last one padded after its first token.
func fuzzBatch(c Config, head Head, b, n int) *Batch {
	batch := &Batch{B: b, T: n, InputIDs: make([]int32, b*n), TokenTypeIDs: make([]int32, b*n), AttentionMask: make([]int32, b*n)}
	for i := range batch.InputIDs {
		batch.InputIDs[i] = int32(i % c.VocabSize)
		batch.TokenTypeIDs[i] = int32(i % c.TypeVocabSize)
		batch.AttentionMask[i] = 1
		if i >= (b-1)*n+1 {
			batch.InputIDs[i], batch.AttentionMask[i] = int32(c.PadTokenID), 0
		}
	}
	switch {
	case head == MaskedLM:
		batch.MLMLabels = make([]int32, b*n)
		for i := range batch.MLMLabels {
			batch.MLMLabels[i] = IgnoreIndex
		}
		batch.MLMLabels[0] = int32(1 % c.VocabSize)
	case c.IsRegression():
		batch.Targets = make([]float32, b)
	default:
		batch.Labels = make([]int32, b)
	}
	return batch
}
