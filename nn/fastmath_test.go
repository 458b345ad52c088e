package nn

import (
	"math"
	"testing"
)

func TestFastMath(t *testing.T) {
	for _, tc := range []struct {
		name     string
		f        func(float32) float32
		ref      func(float64) float64
		lo, hi   float64
		abs, rel float64
	}{
		{"Erf", Erf, math.Erf, -10, 10, 1e-6, 0},
		{"Exp", Exp, math.Exp, -87, 88, 0, 3e-7},
		{"Tanh", Tanh, math.Tanh, -12, 12, 3e-7, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			worst := 0.0
			for i := 0; i <= 2_000_000; i++ {
				x := float32(tc.lo + (tc.hi-tc.lo)*float64(i)/2e6)
				got, want := float64(tc.f(x)), tc.ref(float64(x))
				err := math.Abs(got - want)
				if tc.rel > 0 {
					err /= math.Abs(want)
				}
				if err > worst {
					worst = err
				}
				if err > tc.abs+tc.rel {
					t.Fatalf("%s(%v) = %v, want %v", tc.name, x, got, want)
				}
			}
			t.Logf("worst error %.3g", worst)
		})
	}
}
