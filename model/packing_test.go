package model

import (
	"math"
	"testing"
)

// TestPackingMatchesPadding checks that dropping the padding rows of a
// right-padded batch changes neither the loss nor any gradient, and that a
// batch with padding elsewhere (here on the left) falls back to the padded
// layout.
func TestPackingMatchesPadding(t *testing.T) {
	for _, tc := range []struct {
		name       string
		c          Config
		head       Head
		leftPadded bool
		wantPacked bool
	}{
		{"bert classification", tinyConfig("bert", "gelu", 3), SequenceClassification, false, true},
		{"bert regression", tinyConfig("bert", "gelu", 1), SequenceClassification, false, true},
		{"roberta classification", tinyConfig("roberta", "gelu", 2), SequenceClassification, false, true},
		{"bert masked-LM", tinyConfig("bert", "gelu", 2), MaskedLM, false, true},
		{"roberta masked-LM", tinyConfig("roberta", "gelu", 2), MaskedLM, false, true},
		{"bert left padding", tinyConfig("bert", "gelu", 3), SequenceClassification, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := randomModel(t, tc.c, tc.head, 3)
			b := randomBatch(tc.c, 5, 7, 4, tc.head)
			if tc.leftPadded {
				// Move sequence 1's padding to its front.
				T := b.T
				row, mask := b.InputIDs[T:2*T], b.AttentionMask[T:2*T]
				row[0], row[T-1] = row[T-1], row[0]
				mask[0], mask[T-1] = mask[T-1], mask[0]
			}
			run := func(keep bool) (float64, []float32, *Workspace) {
				ws := m.NewWorkspace(b.B, b.T, 0)
				ws.KeepPadding = keep
				loss, err := m.Forward(ws, b, Pass{})
				if err != nil {
					t.Fatal(err)
				}
				m.ZeroGrad()
				m.Backward(ws, b)
				return loss, append([]float32(nil), m.Grad...), ws
			}
			wantLoss, wantGrad, _ := run(true)
			loss, grad, ws := run(false)
			if ws.packed != tc.wantPacked {
				t.Fatalf("packed = %v, want %v", ws.packed, tc.wantPacked)
			}
			if tc.wantPacked && ws.nTok >= b.B*b.T {
				t.Fatalf("packed batch has %d rows, the padded one %d", ws.nTok, b.B*b.T)
			}
			if math.Abs(loss-wantLoss) > 1e-6*math.Max(1, math.Abs(wantLoss)) {
				t.Errorf("loss %v, with padding kept %v", loss, wantLoss)
			}
			for i := range grad {
				if d := math.Abs(float64(grad[i] - wantGrad[i])); d > 1e-5+1e-4*math.Abs(float64(wantGrad[i])) {
					t.Fatalf("grad[%d] = %v, with padding kept %v", i, grad[i], wantGrad[i])
				}
			}
		})
	}
}
