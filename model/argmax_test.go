package model

import (
	"math"
	"testing"
)

func TestArgmax(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	for _, tc := range []struct {
		logits []float32
		want   int
	}{
		{[]float32{0.1}, 0},
		{[]float32{0.1, 0.9}, 1},
		{[]float32{0.9, 0.1}, 0},
		{[]float32{-3, -1, -2}, 1},
		{[]float32{1, 2, 2}, 1}, // the first of equal maxima
		{[]float32{0, 0}, 0},
		{[]float32{0, nan, 1}, 2},
		{[]float32{nan, 5, 1}, 0}, // a leading NaN is never beaten
		{[]float32{1, inf}, 1},
	} {
		if got := Argmax(tc.logits); got != tc.want {
			t.Errorf("Argmax(%v) = %d, want %d", tc.logits, got, tc.want)
		}
	}
}
