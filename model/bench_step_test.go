package model

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkMLMStep is one masked-LM forward+backward of the BERT-mini shape
// subtune pre-trains (4 layers, hidden 256, vocab 30522) at 64 × 128, in
// float32 and in bf16 mixed precision (skipped where there is none).
func BenchmarkMLMStep(b *testing.B) {
	for _, bf16 := range []bool{false, true} {
		name := "f32"
		if bf16 {
			name = "bf16"
		}
		b.Run(name, func(b *testing.B) { benchmarkMLMStep(b, bf16) })
	}
}

func benchmarkMLMStep(b *testing.B, bf16 bool) {
	c := DefaultConfig("bert")
	c.NumHiddenLayers, c.HiddenSize, c.NumAttentionHeads, c.IntermediateSize = 4, 256, 4, 1024
	m, err := New(c, MaskedLM)
	if err != nil {
		b.Fatal(err)
	}
	m.Init(1)
	if bf16 {
		if err := m.SetBF16(true); err != nil {
			b.Skip(err)
		}
	}
	const B, T = 64, 128
	ws := m.NewWorkspace(B, T, B*T/4)
	rng := rand.New(rand.NewPCG(1, 2))
	batch := &Batch{B: B, T: T, InputIDs: make([]int32, B*T), TokenTypeIDs: make([]int32, B*T), AttentionMask: make([]int32, B*T), MLMLabels: make([]int32, B*T)}
	for i := range batch.InputIDs {
		batch.InputIDs[i] = int32(rng.IntN(c.VocabSize))
		batch.AttentionMask[i] = 1
		batch.MLMLabels[i] = IgnoreIndex
		if rng.Float64() < 0.15 {
			batch.MLMLabels[i] = batch.InputIDs[i]
		}
	}
	for b.Loop() {
		if _, err := m.Forward(ws, batch, Pass{Train: true, Seed: 1}); err != nil {
			b.Fatal(err)
		}
		m.ZeroGrad()
		m.Backward(ws, batch)
	}
	b.ReportMetric(float64(B*T)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
	b.ReportMetric(float64(B)*float64(b.N)/b.Elapsed().Seconds(), "seq/s")
}
