package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// dropoutAtRef is DropoutAt's definition, one element and one branch at a
// time: the branch-free kernel must agree with it bit for bit.
func dropoutAtRef(out, x []float32, mask []uint8, p float32, seed uint64, offset int) {
	scale := 1 / (1 - p)
	threshold := uint64(p*65536 + 0.5)
	for q := 0; 4*q < len(x); q++ {
		h := splitmix64(seed + uint64(offset/4+q)*0x9E3779B97F4A7C15)
		for j := 0; j < 4 && 4*q+j < len(x); j++ {
			i := 4*q + j
			if (h>>(16*j))&0xFFFF < threshold {
				mask[i], out[i] = 0, 0
			} else {
				mask[i], out[i] = 1, x[i]*scale
			}
		}
	}
}

// dropoutBackwardAtRef is DropoutBackwardAt's definition.
func dropoutBackwardAtRef(dx, dout []float32, mask []uint8, p float32) {
	scale := 1 / (1 - p)
	for i := range dout {
		if mask[i] != 0 {
			dx[i] = dout[i] * scale
		} else {
			dx[i] = 0
		}
	}
}

func TestDropoutMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, p := range []float32{1e-5, 0.1, 0.5, 0.9, 0.99999} {
		for _, n := range []int{0, 1, 3, 4, 5, 7, 8, 15, 16, 17, 20, 31, 32, 48, 63, 64, 65, 1000} {
			for _, offset := range []int{0, 4, 8, 1024, 1 << 40} {
				x := make([]float32, n)
				for i := range x {
					x[i] = float32(rng.NormFloat64())
				}
				if n > 3 { // non-finite inputs are kept or zeroed like any other
					x[0], x[1], x[2] = float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())
				}
				got, want := make([]float32, n), make([]float32, n)
				gotMask, wantMask := make([]uint8, n), make([]uint8, n)
				DropoutAt(got, x, gotMask, p, 42, offset)
				dropoutAtRef(want, x, wantMask, p, 42, offset)
				name := fmt.Sprintf("p=%g n=%d offset=%d", p, n, offset)
				sameBits(t, name+" forward", got, want)
				for i := range gotMask {
					if gotMask[i] != wantMask[i] {
						t.Fatalf("%s: mask[%d] = %d, want %d", name, i, gotMask[i], wantMask[i])
					}
				}
				DropoutBackwardAt(got, x, gotMask, p)
				dropoutBackwardAtRef(want, x, wantMask, p)
				sameBits(t, name+" backward", got, want)
			}
		}
	}
}

func sameBits(t *testing.T, name string, got, want []float32) {
	t.Helper()
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: [%d] = %v, want %v", name, i, got[i], want[i])
		}
	}
}

// TestDropoutRate checks the mask's statistics: the dropped fraction is p
// within five standard errors, and parallel Dropout equals DropoutAt over
// the whole.
func TestDropoutRate(t *testing.T) {
	const n = 1 << 20
	x := make([]float32, n)
	for i := range x {
		x[i] = 1
	}
	for _, p := range []float32{0.1, 0.5} {
		out, mask := make([]float32, n), make([]uint8, n)
		Dropout(out, x, mask, p, 7)
		dropped := 0
		for _, m := range mask {
			dropped += 1 - int(m)
		}
		rate, se := float64(dropped)/n, math.Sqrt(float64(p)*(1-float64(p))/n)
		if math.Abs(rate-float64(p)) > 5*se {
			t.Errorf("p=%g: dropped %.5f of the elements", p, rate)
		}
		whole, wholeMask := make([]float32, n), make([]uint8, n)
		DropoutAt(whole, x, wholeMask, p, 7, 0)
		sameBits(t, fmt.Sprintf("p=%g Dropout against DropoutAt", p), out, whole)
	}
}

// BenchmarkDropout times the branch-free kernels against their one-branch
// definitions on one core, a hidden-state tensor of BERT-base's batch.
func BenchmarkDropout(b *testing.B) {
	const n = 1024 * 768
	x, out, mask := make([]float32, n), make([]float32, n), make([]uint8, n)
	for i := range x {
		x[i] = float32(i%17) - 8
	}
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"forward/definition", func() { dropoutAtRef(out, x, mask, 0.1, 1, 0) }},
		{"forward/kernel", func() { DropoutAt(out, x, mask, 0.1, 1, 0) }},
		{"backward/definition", func() { dropoutBackwardAtRef(out, x, mask, 0.1) }},
		{"backward/kernel", func() { DropoutBackwardAt(out, x, mask, 0.1) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				c.f()
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
		})
	}
}
