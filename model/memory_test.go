package model

import (
	"runtime"
	"strings"
	"testing"

	"github.com/subtune/subtune/blas"
)

// allocated returns the bytes f allocates.
func allocated(f func()) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return float64(after.TotalAlloc - before.TotalAlloc)
}

// TestFootprintBoundsAllocation measures what New and NewWorkspace allocate
// against Footprint: never more than the estimate (so a budget holds), and
// not much less (so a fitting model is not refused).
func TestFootprintBoundsAllocation(t *testing.T) {
	many := tinyConfig("bert", "gelu", 2)
	many.HiddenSize, many.NumAttentionHeads, many.IntermediateSize, many.NumHiddenLayers = 2, 1, 2, 2000
	noDrop := tinyConfig("roberta", "relu", 3)
	noDrop.AttentionDropoutProb = 0
	wide := tinyConfig("bert", "gelu_new", 1)
	wide.HiddenSize, wide.IntermediateSize, wide.NumAttentionHeads, wide.MaxPositionEmbeddings = 64, 256, 4, 128
	for _, tc := range []struct {
		name   string
		c      Config
		head   Head
		use    Usage
		looser float64 // how much the estimate may exceed the allocation
	}{
		{"classifier", wide, SequenceClassification, Usage{Batch: 8, SeqLen: 128}, 1.1},
		{"classifier in bf16", wide, SequenceClassification, Usage{Batch: 8, SeqLen: 128, BF16: true}, 1.1},
		{"pre-training in bf16", wide, PreTraining, Usage{Batch: 4, SeqLen: 64, BF16: true}, 1.1},
		{"masked LM", wide, MaskedLM, Usage{Batch: 8, SeqLen: 64, MaskedPositions: 100}, 1.1},
		{"pre-training", wide, PreTraining, Usage{Batch: 4, SeqLen: 64}, 1.1},
		{"no head", wide, NoHead, Usage{Batch: 4, SeqLen: 32}, 1.1},
		{"relu without attention dropout", noDrop, SequenceClassification, Usage{Batch: 16, SeqLen: 16}, 1.5},
		{"parameters only", wide, SequenceClassification, Usage{}, 1.1},
		// Thousands of tiny layers: the tensor descriptions dominate.
		{"many tiny layers", many, SequenceClassification, Usage{Batch: 1, SeqLen: 4}, 2},
	} {
		if tc.use.BF16 && blas.BF16Check() != nil {
			continue
		}
		var m *Model
		got := allocated(func() {
			var err error
			if m, err = New(tc.c, tc.head); err != nil {
				t.Fatal(err)
			}
			if tc.use.BF16 {
				if err := m.SetBF16(true); err != nil {
					t.Fatal(err)
				}
				m.roundWeights() // as the first Forward does
			}
			if tc.use.Batch > 0 {
				m.NewWorkspace(tc.use.Batch, tc.use.SeqLen, tc.use.MaskedPositions)
			}
		})
		if n := tc.c.paramCount(tc.head); n != float64(m.NumParams()) {
			t.Errorf("%s: paramCount %v, New made %d", tc.name, n, m.NumParams())
		}
		est, _ := tc.c.Footprint(tc.head, tc.use)
		if got > est || est > tc.looser*got {
			t.Errorf("%s: allocated %.0f bytes, estimated %.0f (ratio %.3f, want 1 to %v)", tc.name, got, est, est/got, tc.looser)
		}
	}
}

// TestCheckMemory: a config that does not fit is refused before any
// allocation, with the estimate and the keys of its largest part.
func TestCheckMemory(t *testing.T) {
	c := tinyConfig("bert", "gelu", 2)
	layers := c
	layers.NumHiddenLayers = 1_000_000_000
	vocab := c
	vocab.VocabSize = 2_000_000_000
	long := c
	long.MaxPositionEmbeddings = 512
	wide := c
	wide.HiddenSize, wide.NumAttentionHeads, wide.IntermediateSize, wide.NumHiddenLayers = 65536, 1, 262144, 12
	for _, tc := range []struct {
		name   string
		c      Config
		head   Head
		use    Usage
		budget float64
		want   string // "" when it fits
	}{
		{"layers", layers, SequenceClassification, Usage{}, 1e9,
			"the model needs about 15.8 TB, more than the budget (1.0 GB); the largest part is the tensor descriptions: num_hidden_layers 1000000000 × 16 tensors (11.6 TB)"},
		{"hidden size", wide, SequenceClassification, Usage{}, 1e9,
			"the largest part is the encoder: num_hidden_layers 12 × (4·hidden_size² + 2·hidden_size·intermediate_size), hidden_size 65536, intermediate_size 262144"},
		{"vocab in training", vocab, MaskedLM, Usage{Train: true}, 1e9,
			"the model needs about 288.0 GB, more than the budget (1.0 GB); the largest part is the word embeddings: vocab_size 2000000000 × hidden_size 8 (288.0 GB)"},
		{"attention", long, SequenceClassification, Usage{Batch: 64, SeqLen: 512}, 5e8,
			"the largest part is the attention probabilities: batch 64 × num_attention_heads 2 × sequence length 512² × num_hidden_layers 2"},
		{"sequence capped at the positions", c, SequenceClassification, Usage{Batch: 1, SeqLen: 1 << 30}, 1e9, ""},
		{"fits", c, PreTraining, Usage{Batch: 8, SeqLen: 16, Train: true}, 1e9, ""},
	} {
		err := tc.c.CheckMemory(tc.head, tc.use, tc.budget)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, ok := AvailableMemory(); !ok {
		t.Skip("the memory available is unknown here")
	}
	if _, err := New(layers, SequenceClassification); err == nil || !strings.Contains(err.Error(), "more than the memory available") {
		t.Errorf("New with a billion layers: %v", err)
	}
}
