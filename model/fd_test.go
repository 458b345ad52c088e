package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// tinyConfig is a model small enough for finite differences over every
// tensor. (internal/testmodel imports checkpoint, which imports model, so
// tests inside package model build their own.)
func tinyConfig(modelType, act string, labels int) Config {
	c := DefaultConfig(modelType)
	c.VocabSize, c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.IntermediateSize = 17, 8, 2, 2, 12
	c.MaxPositionEmbeddings, c.HiddenAct = 16, act
	if modelType == "roberta" {
		c.MaxPositionEmbeddings = 18
	}
	c.ID2Label = map[int]string{}
	for i := 0; i < labels; i++ {
		c.ID2Label[i] = fmt.Sprint("L", i)
	}
	return c
}

// randomModel initialises a model and perturbs LayerNorm weights and biases
// so that no gradient is trivially symmetric.
func randomModel(t testing.TB, c Config, head Head, seed uint64) *Model {
	m, err := New(c, head)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	for i := range m.Data {
		m.Data[i] += float32(rng.NormFloat64() * 0.2)
	}
	return m
}

func randomBatch(c Config, b, tt int, seed uint64, head Head) *Batch {
	rng := rand.New(rand.NewPCG(seed, 9))
	batch := &Batch{B: b, T: tt, InputIDs: make([]int32, b*tt), TokenTypeIDs: make([]int32, b*tt), AttentionMask: make([]int32, b*tt)}
	for s := 0; s < b; s++ {
		length := tt - s%3 // ragged: some sequences padded
		for i := 0; i < tt; i++ {
			p := s*tt + i
			if i < length {
				batch.InputIDs[p] = int32(2 + rng.IntN(c.VocabSize-2))
				batch.AttentionMask[p] = 1
				if c.TypeVocabSize > 1 && i > length/2 {
					batch.TokenTypeIDs[p] = 1
				}
			} else {
				batch.InputIDs[p] = int32(c.PadTokenID)
			}
		}
	}
	switch {
	case head == MaskedLM || head == PreTraining:
		if head == PreTraining {
			for s := 0; s < b; s++ {
				batch.NextSentenceLabels = append(batch.NextSentenceLabels, int32(rng.IntN(2)))
			}
		}
		batch.MLMLabels = make([]int32, b*tt)
		for i := range batch.MLMLabels {
			batch.MLMLabels[i] = IgnoreIndex
			if rng.IntN(3) == 0 && batch.AttentionMask[i] == 1 {
				batch.MLMLabels[i] = int32(rng.IntN(c.VocabSize))
			}
		}
	case c.IsRegression():
		for s := 0; s < b; s++ {
			batch.Targets = append(batch.Targets, float32(rng.NormFloat64()))
		}
	default:
		for s := 0; s < b; s++ {
			batch.Labels = append(batch.Labels, int32(rng.IntN(c.NumLabels())))
		}
	}
	return batch
}

// TestFiniteDifferences checks the whole backward pass, dropout included,
// against central differences of the loss, on every tensor of the model.
func TestFiniteDifferences(t *testing.T) {
	for _, tc := range []struct {
		name, modelType, act string
		labels               int
		head                 Head
		train                bool
	}{
		{"bert-gelu-cls", "bert", "gelu", 3, SequenceClassification, false},
		{"bert-gelu-cls-dropout", "bert", "gelu", 3, SequenceClassification, true},
		{"bert-tanh-regression", "bert", "gelu_new", 1, SequenceClassification, true},
		{"bert-relu-cls", "bert", "relu", 2, SequenceClassification, false},
		{"roberta-cls-dropout", "roberta", "gelu", 2, SequenceClassification, true},
		{"bert-mlm", "bert", "gelu", 2, MaskedLM, true},
		{"roberta-mlm", "roberta", "gelu", 2, MaskedLM, false},
		{"bert-pretraining", "bert", "gelu", 2, PreTraining, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tinyConfig(tc.modelType, tc.act, tc.labels)
			c.HiddenDropoutProb, c.AttentionDropoutProb = 0.2, 0.2
			m := randomModel(t, c, tc.head, 1)
			b := randomBatch(c, 4, 6, 2, tc.head)
			ws := m.NewWorkspace(4, 6, 0)
			pass := Pass{Train: tc.train, Seed: 5}
			if _, err := m.Forward(ws, b, pass); err != nil {
				t.Fatal(err)
			}
			m.ZeroGrad()
			m.Backward(ws, b)
			analytic := append([]float32(nil), m.Grad...)

			rng := rand.New(rand.NewPCG(3, 4))
			eps := float32(1e-2)
			if tc.act == "relu" {
				// A step of 1e-2 can cross ReLU's kink, where the finite
				// difference is not the derivative.
				eps = 2e-3
			}
			for _, tensor := range m.Tensors {
				for trial := 0; trial < 6; trial++ {
					i := tensor.Offset + rng.IntN(tensor.Size)
					orig := m.Data[i]
					m.Data[i] = orig + eps
					lp, _ := m.Forward(ws, b, pass)
					m.Data[i] = orig - eps
					lm, _ := m.Forward(ws, b, pass)
					m.Data[i] = orig
					numeric := (lp - lm) / float64(2*eps)
					got := float64(analytic[i])
					if math.Abs(got-numeric) > 3e-3+3e-2*math.Abs(numeric) {
						t.Errorf("%s[%d]: backward %.6g, finite difference %.6g", tensor.Name, i-tensor.Offset, got, numeric)
					}
				}
			}
		})
	}
}
