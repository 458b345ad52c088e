package model

import (
	"math/rand/v2"
	"testing"

	"github.com/subtune/subtune/blas"
)

// layerFlops counts the multiply-adds of one encoder layer's GEMMs on
// B sequences of T tokens, times two: the unit of the GFLOP/s figures.
func layerFlops(c Config, B, T int) float64 {
	n, h, i := float64(B*T), float64(c.HiddenSize), float64(c.IntermediateSize)
	dense := 2 * n * (4*h*h + 2*h*i)
	attention := 2 * 2 * float64(B) * float64(T) * float64(T) * h
	return dense + attention
}

func baseLayer(b *testing.B) (*Model, *Workspace, *Batch, []float32) {
	c := DefaultConfig("bert")
	c.NumHiddenLayers = 1
	m, err := New(c, SequenceClassification)
	if err != nil {
		b.Fatal(err)
	}
	m.Init(1)
	const B, T = 8, 128
	ws := m.NewWorkspace(B, T, 0)
	batch := &Batch{B: B, T: T, InputIDs: make([]int32, B*T)}
	ws.layout(batch, c.NumAttentionHeads) // every position a real token, as the PyTorch script
	rng := rand.New(rand.NewPCG(1, 1))
	in := make([]float32, B*T*c.HiddenSize)
	for i := range in {
		in[i] = float32(rng.NormFloat64())
	}
	return m, ws, batch, in
}

// BenchmarkLayerForward is one BERT-base encoder layer (hidden 768, 12
// heads, FFN 3072) at batch 8 × 128 tokens without dropout, the workload of
// bench/pytorch_bench.py --layer.
func BenchmarkLayerForward(b *testing.B) {
	m, ws, batch, in := baseLayer(b)
	d := dropouts{} // as bench/pytorch_bench.py: no dropout
	for b.Loop() {
		m.layerForward(ws, 0, batch, in, d)
	}
	report(b, layerFlops(m.Config, batch.B, batch.T))
}

// BenchmarkLayerForwardBackward is the same layer's forward and backward.
func BenchmarkLayerForwardBackward(b *testing.B) {
	m, ws, batch, in := baseLayer(b)
	d := dropouts{} // as bench/pytorch_bench.py: no dropout
	n := batch.B * batch.T * m.Config.HiddenSize
	dOut, dIn := make([]float32, n), make([]float32, n)
	for b.Loop() {
		m.layerForward(ws, 0, batch, in, d)
		for i := range dOut {
			dOut[i] = 1e-3
		}
		m.layerBackward(ws, 0, batch, dOut, dIn, d)
	}
	report(b, 3*layerFlops(m.Config, batch.B, batch.T))
}

func report(b *testing.B, flops float64) {
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(sec*1e3, "ms/op")
	b.ReportMetric(flops/sec/1e9, "GFLOP/s")
	b.Log(blas.Describe())
}
