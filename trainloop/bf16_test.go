package trainloop

import (
	"slices"
	"testing"

	"github.com/subtune/subtune/blas"
	"github.com/subtune/subtune/model"
)

// TestBF16StepRoundsOnce checks that an optimiser step makes the bfloat16
// weights again: after each step, the model's logits are those of a model
// built afresh from its parameters.
func TestBF16StepRoundsOnce(t *testing.T) {
	if err := blas.BF16Check(); err != nil {
		t.Skip(err)
	}
	c := model.DefaultConfig("bert")
	c.VocabSize, c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.IntermediateSize = 20, 16, 2, 2, 24
	c.MaxPositionEmbeddings = 16
	c.SetLabels([]string{"a", "b"})
	newModel := func() *model.Model {
		m, err := model.New(c, model.SequenceClassification)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.SetBF16(true); err != nil {
			t.Fatal(err)
		}
		return m
	}
	m := newModel()
	m.Init(4)
	b := &model.Batch{B: 2, T: 5, InputIDs: []int32{2, 5, 7, 9, 3, 2, 11, 4, 0, 0},
		AttentionMask: []int32{1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, Labels: []int32{0, 1}}
	logits := func(m *model.Model) []float32 {
		ws := m.NewWorkspace(2, 5, 0)
		if _, err := m.Forward(ws, b, model.Pass{}); err != nil {
			t.Fatal(err)
		}
		return slices.Clone(ws.Logits[:4])
	}
	l := New(m, m.NewWorkspace(2, 5, 0), Config{LearningRate: 1e-2, TotalSteps: 10})
	prev := logits(m)
	for step := range 3 {
		if _, err := l.TrainStep([]*model.Batch{b}, []uint64{uint64(step)}); err != nil {
			t.Fatal(err)
		}
		fresh := newModel()
		copy(fresh.Data, m.Data)
		got, want := logits(m), logits(fresh)
		if !slices.Equal(got, want) {
			t.Fatalf("step %d: logits %v, a fresh model's %v: the bf16 weights were not made again", step+1, got, want)
		}
		if slices.Equal(got, prev) {
			t.Fatalf("step %d changed nothing", step+1)
		}
		prev = got
	}
}
