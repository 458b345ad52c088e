package outliers

import (
	"strings"
	"testing"

	"github.com/subtune/subtune/model"
)

// TestDisableMaskZeroes: the hook zeroes exactly the positions, in the
// weights before a step and in the gradient after it, and refuses
// positions of another shape. (cmd/subtune's --disable_dims tests run it
// through training.)
func TestDisableMaskZeroes(t *testing.T) {
	c := smallConfig(2)
	m, err := model.New(c, model.NoHead)
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Data {
		m.Data[i], m.Grad[i] = 1, 1
	}
	D := c.LayerSize()
	p := Positions{NumLayers: 2, LayerSize: D, Layers: [][]int{{5, 3, 5}, {D - 1}}}
	h, err := NewDisableMask(m, p, "test")
	if err != nil {
		t.Fatal(err)
	}
	want := []int{m.LayerOffset(0) + 3, m.LayerOffset(0) + 5, m.LayerOffset(1) + D - 1}
	if h.Count() != 3 || len(h.Offsets()) != 3 {
		t.Fatalf("offsets %v, want %v", h.Offsets(), want)
	}
	h.BeforeForward()
	h.AfterBackward()
	zero := map[int]bool{}
	for _, i := range want {
		zero[i] = true
	}
	for i := range m.Data {
		if (m.Data[i] == 0) != zero[i] || (m.Grad[i] == 0) != zero[i] {
			t.Fatalf("position %d: weight %v, gradient %v (disabled: %v)", i, m.Data[i], m.Grad[i], zero[i])
		}
	}
	if !strings.Contains(h.Describe(), "3 of") || h.What() != "test" {
		t.Errorf("describe %q", h.Describe())
	}

	for _, bad := range []Positions{
		{NumLayers: 3, LayerSize: D},
		{NumLayers: 2, LayerSize: D + 1},
		{NumLayers: 2, LayerSize: D, Layers: [][]int{{D}}},
	} {
		if _, err := NewDisableMask(m, bad, "bad"); err == nil {
			t.Errorf("%d layers of %d, %v: accepted", bad.NumLayers, bad.LayerSize, bad.Layers)
		}
	}
}
