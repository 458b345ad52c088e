package model

import (
	"math"
	"slices"
	"testing"

	"github.com/subtune/subtune/blas"
)

// skipWithoutBF16 skips where this build or CPU has no bf16 GEMM, after
// checking that SetBF16 says so and leaves the model in float32.
func skipWithoutBF16(t *testing.T, m *Model) {
	t.Helper()
	if err := blas.BF16Check(); err != nil {
		if m.SetBF16(true) == nil || m.BF16() {
			t.Fatalf("SetBF16(true) accepted, but blas.BF16Check says %v", err)
		}
		t.Skip(err)
	}
}

// relDiff is ‖x − y‖ / ‖y‖.
func relDiff(x, y []float32) float64 {
	var num, den float64
	for i := range x {
		d := float64(x[i]) - float64(y[i])
		num += d * d
		den += float64(y[i]) * float64(y[i])
	}
	return math.Sqrt(num / den)
}

// forwardBackward runs one training pass and returns copies of the logits
// and the gradient.
func forwardBackward(t *testing.T, m *Model, ws *Workspace, b *Batch) (logits, grad []float32) {
	t.Helper()
	m.ZeroGrad()
	if _, err := m.Forward(ws, b, Pass{Train: true, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	m.Backward(ws, b)
	return slices.Clone(ws.Logits), slices.Clone(m.Grad)
}

// TestBF16AgainstFloat32 checks that mixed precision rounds (the results
// differ from float32) and rounds no more than bfloat16's 2⁻⁸ per input
// can explain: the golden test measures it exactly against PyTorch.
func TestBF16AgainstFloat32(t *testing.T) {
	for _, tc := range []struct {
		name      string
		modelType string
		head      Head
	}{
		{"bert-classifier", "bert", SequenceClassification},
		{"roberta-classifier", "roberta", SequenceClassification},
		{"bert-mlm", "bert", MaskedLM},
		{"bert-pretraining", "bert", PreTraining},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tinyConfig(tc.modelType, "gelu", 3)
			m := randomModel(t, c, tc.head, 5)
			skipWithoutBF16(t, m)
			b := randomBatch(c, 4, 9, 6, tc.head)
			ws := m.NewWorkspace(4, 9, 4*9)
			logits32, grad32 := forwardBackward(t, m, ws, b)
			if err := m.SetBF16(true); err != nil {
				t.Fatal(err)
			}
			logits16, grad16 := forwardBackward(t, m, ws, b)
			for _, x := range []struct {
				what  string
				got   []float32
				want  []float32
				bound float64
			}{{"logits", logits16, logits32, 0.02}, {"gradient", grad16, grad32, 0.05}} {
				d := relDiff(x.got, x.want)
				if d == 0 || d > x.bound {
					t.Errorf("%s: relative difference bf16 against float32 %.3g, want in (0, %g]", x.what, d, x.bound)
				}
			}
			if err := m.SetBF16(false); err != nil {
				t.Fatal(err)
			}
			logits, grad := forwardBackward(t, m, ws, b)
			if !slices.Equal(logits, logits32) || !slices.Equal(grad, grad32) {
				t.Error("SetBF16(false) does not give float32's results back")
			}
		})
	}
}

// TestBF16WeightsOncePerChange checks that the bfloat16 weights are made
// once per change of the parameters, not once per product: a Forward
// without ParamsChanged reuses them; after it, the results are those of a
// model built afresh from the new parameters.
func TestBF16WeightsOncePerChange(t *testing.T) {
	c := tinyConfig("bert", "gelu", 2)
	m := randomModel(t, c, SequenceClassification, 8)
	skipWithoutBF16(t, m)
	if err := m.SetBF16(true); err != nil {
		t.Fatal(err)
	}
	b := randomBatch(c, 3, 7, 2, SequenceClassification)
	ws := m.NewWorkspace(3, 7, 0)
	before, _ := forwardBackward(t, m, ws, b)
	for i := range m.Data {
		m.Data[i] *= 1.25
	}
	cached, _ := forwardBackward(t, m, ws, b)
	m.ParamsChanged()
	after, _ := forwardBackward(t, m, ws, b)

	fresh, err := New(c, SequenceClassification)
	if err != nil {
		t.Fatal(err)
	}
	copy(fresh.Data, m.Data)
	if err := fresh.SetBF16(true); err != nil {
		t.Fatal(err)
	}
	want, _ := forwardBackward(t, fresh, fresh.NewWorkspace(3, 7, 0), b)
	if !slices.Equal(after, want) {
		t.Errorf("after ParamsChanged: logits %v, a fresh model's %v", after, want)
	}
	if slices.Equal(cached, after) || slices.Equal(before, after) {
		t.Errorf("scaling the weights changed nothing: before %v, without ParamsChanged %v, after %v", before, cached, after)
	}
}

// TestWorkspaceFollowsPrecision: a workspace laid out for one precision
// (bf16 keeps its layers' GEMM operands rounded and shares their float32
// buffers) gives the other precision's results exactly when the model
// switches, and a Backward in another precision than its Forward stops.
func TestWorkspaceFollowsPrecision(t *testing.T) {
	c := tinyConfig("bert", "gelu", 3)
	m := randomModel(t, c, SequenceClassification, 6)
	skipWithoutBF16(t, m)
	b := randomBatch(c, 3, 8, 2, SequenceClassification)
	results := func(bf16 bool, ws *Workspace) ([]float32, []float32) {
		if err := m.SetBF16(bf16); err != nil {
			t.Fatal(err)
		}
		if ws == nil {
			ws = m.NewWorkspace(3, 8, 0)
		}
		return forwardBackward(t, m, ws, b)
	}
	logits32, grad32 := results(false, nil)
	logits16, grad16 := results(true, nil)

	if err := m.SetBF16(true); err != nil {
		t.Fatal(err)
	}
	made16 := m.NewWorkspace(3, 8, 0)
	if logits, grad := results(false, made16); !slices.Equal(logits, logits32) || !slices.Equal(grad, grad32) {
		t.Error("float32 on a workspace made for bf16: results differ from float32's own")
	}
	if logits, grad := results(true, made16); !slices.Equal(logits, logits16) || !slices.Equal(grad, grad16) {
		t.Error("bf16 on a workspace used in float32 since: results differ from bf16's own")
	}

	if _, err := m.Forward(made16, b, Pass{}); err != nil {
		t.Fatal(err)
	}
	if err := m.SetBF16(false); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Error("Backward after SetBF16 between it and its Forward did not stop")
		}
	}()
	m.Backward(made16, b)
}
