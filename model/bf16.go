package model

import (
	"strings"
	"sync"

	"github.com/subtune/subtune/blas"
	"github.com/subtune/subtune/nn"
)

// bf16Weights are the bfloat16 roundings of a model's GEMM weights under
// mixed precision: every dense layer's weight and, with a masked-LM head,
// the word embeddings its decoder multiplies by. They are made again at the
// first Forward after ParamsChanged, so once per optimiser step however
// many products use them.
type bf16Weights struct {
	mu    sync.Mutex
	stale bool
	byOff map[int]*blas.BF16Matrix // by offset in Data
	list  []bf16Weight
}

type bf16Weight struct {
	off, rows, cols int
	m               *blas.BF16Matrix
}

// SetBF16 turns bf16 mixed precision on or off, as PyTorch's CPU autocast
// with dtype bfloat16 does it: the GEMMs of every dense layer and of
// attention, forward and backward, round their inputs to bfloat16 and
// accumulate in float32; their outputs, the parameters, gradients,
// LayerNorm, softmax, activations and losses stay float32. It returns the
// reason, and leaves the model in float32, when this build or CPU cannot
// multiply in bfloat16 (blas.BF16Check).
func (m *Model) SetBF16(on bool) error {
	if !on {
		m.bf16 = nil
		m.setLayerWeights()
		return nil
	}
	if err := blas.BF16Check(); err != nil {
		return err
	}
	w := &bf16Weights{stale: true, byOff: map[int]*blas.BF16Matrix{}}
	for _, t := range m.Tensors {
		if !m.isGEMMWeight(t) {
			continue
		}
		bm := &blas.BF16Matrix{}
		w.byOff[t.Offset] = bm
		w.list = append(w.list, bf16Weight{off: t.Offset, rows: t.Shape[0], cols: t.Shape[1], m: bm})
	}
	m.bf16 = w
	m.setLayerWeights()
	return nil
}

// BF16 reports whether the model multiplies in bfloat16 (SetBF16).
func (m *Model) BF16() bool { return m.bf16 != nil }

// isGEMMWeight reports whether t is multiplied by activations in a GEMM:
// a dense layer's weight, or the word embeddings that a masked-LM decoder
// shares. The other embedding tables are looked up, not multiplied.
func (m *Model) isGEMMWeight(t Tensor) bool {
	if len(t.Shape) != 2 {
		return false
	}
	if t.Offset == m.wordEmb {
		return m.Head == MaskedLM || m.Head == PreTraining
	}
	return !strings.Contains(t.Name, ".embeddings.")
}

// ParamsChanged tells a bf16 model that Data has been written (an optimiser
// step, a checkpoint read into it): its bfloat16 weights are made again at
// the next Forward. A float32 model has nothing to do.
func (m *Model) ParamsChanged() {
	if w := m.bf16; w != nil {
		w.mu.Lock()
		w.stale = true
		w.mu.Unlock()
	}
}

// roundWeights makes the bfloat16 weights from Data if they are stale.
// Concurrent Forwards on one model wait for the first to finish it.
func (m *Model) roundWeights() {
	w := m.bf16
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stale {
		return
	}
	nn.ParallelFor(len(w.list), 1<<20, func(lo, hi int) {
		for _, e := range w.list[lo:hi] {
			e.m.Round(e.rows, e.cols, m.Data[e.off:], e.cols)
		}
	})
	w.stale = false
}

// weight is the GEMM weight at Data[off:off+size], with its bfloat16
// rounding when the model runs in mixed precision.
func (m *Model) weight(off, size int) nn.Weight {
	w := nn.Weight{F32: m.Data[off : off+size]}
	if m.bf16 != nil {
		w.BF16 = m.bf16.byOff[off]
	}
	return w
}

// headWeight is the named head tensor as a GEMM weight.
func (m *Model) headWeight(name string) nn.Weight {
	t := m.Tensors[m.byName[name]]
	return m.weight(t.Offset, t.Size)
}

// layerWeights are one encoder layer's six dense weights.
type layerWeights struct {
	q, k, v, o, i, f nn.Weight
}

// setLayerWeights builds each layer's dense weights for the current
// precision.
func (m *Model) setLayerWeights() {
	m.weights = m.weights[:0]
	for l := range m.Config.NumHiddenLayers {
		at := func(name string) nn.Weight {
			t := m.layer[m.layer.Index(name)]
			return m.weight(m.layerOff[l]+t.Offset, t.Size)
		}
		m.weights = append(m.weights, layerWeights{
			q: at("attention.self.query.weight"), k: at("attention.self.key.weight"), v: at("attention.self.value.weight"),
			o: at("attention.output.dense.weight"), i: at("intermediate.dense.weight"), f: at("output.dense.weight"),
		})
	}
}
