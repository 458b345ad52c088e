package subspace

import (
	"slices"
	"testing"

	"github.com/subtune/subtune/safetensors"
)

// TestRandomBasisDims: with one d per layer, layer l of the basis is the
// layer l of a uniform basis at that d, bit for bit, and with every d equal
// it is NewRandomBasis's basis, id included.
func TestRandomBasisDims(t *testing.T) {
	const D = 3000
	for _, dt := range []safetensors.DType{safetensors.F32, safetensors.BF16} {
		dims := []int{5, 3, 4}
		b, err := NewRandomBasisDims(KindDense, D, dims, 9, dt)
		if err != nil {
			t.Fatal(err)
		}
		if b.NumCoords() != 12 {
			t.Errorf("%s: %d coordinates, want 12", dt, b.NumCoords())
		}
		for l, d := range dims {
			u, err := NewRandomBasis(KindDense, len(dims), D, d, 9, dt)
			if err != nil {
				t.Fatal(err)
			}
			if got := b.Blocks()[l].Dim; got != d {
				t.Errorf("%s layer %d: d = %d, want %d", dt, l, got, d)
			}
			if !slices.Equal(b.segs[l].f32, u.segs[l].f32) || !slices.Equal(b.segs[l].b16, u.segs[l].b16) {
				t.Errorf("%s layer %d: differs from the uniform basis at d = %d", dt, l, d)
			}
		}
		same, _ := NewRandomBasisDims(KindDense, D, []int{4, 4, 4}, 9, dt)
		uni, _ := NewRandomBasis(KindDense, 3, D, 4, 9, dt)
		if same.ID() != uni.ID() || same.Source != uni.Source {
			t.Errorf("%s: equal dims give id %q (%s), NewRandomBasis %q (%s)", dt, same.ID(), same.Source, uni.ID(), uni.Source)
		}
		if same.ID() == b.ID() {
			t.Errorf("%s: different dims share the id %q", dt, b.ID())
		}
	}
}

func TestRandomBasisDimsRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		kind string
		dims []int
	}{
		{"no layers", KindDense, nil},
		{"zero d", KindDense, []int{3, 0}},
		{"d beyond the layer", KindDense, []int{3, 101}},
		{"fastfood too large", KindFastfood, []int{1, maxFastfoodDim + 1}},
	} {
		if _, err := NewRandomBasisDims(tc.kind, 100, tc.dims, 1, ""); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}
