package optim

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestLinearWarmup(t *testing.T) {
	for _, tc := range []struct {
		step, warmup, total int
		want                float64
	}{
		{0, 2, 5, 0}, {1, 2, 5, 0.5}, {2, 2, 5, 1}, {3, 2, 5, 2.0 / 3}, {5, 2, 5, 0}, {7, 2, 5, 0},
		{0, 0, 4, 1}, {2, 0, 4, 0.5},
	} {
		if got := LinearWarmup(tc.step, tc.warmup, tc.total); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("LinearWarmup(%d, %d, %d) = %v, want %v", tc.step, tc.warmup, tc.total, got, tc.want)
		}
	}
}

func TestClipGradNorm(t *testing.T) {
	g := []Group{{Grad: []float32{3, 0}}, {Grad: []float32{0, 4}}}
	if norm := ClipGradNorm(g, 10); norm != 5 || g[0].Grad[0] != 3 {
		t.Fatalf("norm %v, grads %v: nothing should be clipped below the limit", norm, g)
	}
	norm := ClipGradNorm(g, 1)
	if norm != 5 {
		t.Fatalf("pre-clip norm %v, want 5", norm)
	}
	if after := GlobalNorm(g); math.Abs(after-1) > 1e-6 {
		t.Fatalf("clipped norm %v, want 1", after)
	}
}

// TestAdamWStep follows torch.optim.AdamW's update by hand for two steps.
func TestAdamWStep(t *testing.T) {
	p := []float32{1, -2}
	grad := []float32{0.5, -1}
	a := NewAdamW([]Group{{Data: p, Grad: grad, LR: 0.1, WeightDecay: 0.01}})
	want := []float64{1, -2}
	m, v := []float64{0, 0}, []float64{0, 0}
	for step := 1; step <= 2; step++ {
		a.Step(1)
		for i := range want {
			g := float64(grad[i])
			want[i] *= 1 - 0.1*0.01
			m[i] = 0.9*m[i] + 0.1*g
			v[i] = 0.999*v[i] + 0.001*g*g
			mh := m[i] / (1 - math.Pow(0.9, float64(step)))
			vh := math.Sqrt(v[i]) / math.Sqrt(1-math.Pow(0.999, float64(step)))
			want[i] -= 0.1 * mh / (vh + 1e-8)
		}
		for i := range want {
			if math.Abs(float64(p[i])-want[i]) > 1e-5 { // float32 arithmetic
				t.Fatalf("step %d: p[%d] = %v, want %v", step, i, p[i], want[i])
			}
		}
	}
}

// TestAdamWVectorMatchesScalar: the vector update and the scalar one agree
// bit for bit, on every length's tail and on gradients of every size.
func TestAdamWVectorMatchesScalar(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	k := adamwConsts{decay: 1 - 3e-5*0.01, b1: 0.9, c1: 1 - float32(0.9), b2: 0.999, c2: 1 - float32(0.999),
		stepSize: 3e-5 / 0.19, invBC2: 1 / 0.0447, eps: 1e-8}
	for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 63, 1000} {
		var p, g, m, v [2][]float32
		for i := range 2 {
			p[i], g[i], m[i], v[i] = make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
		}
		for j := range n {
			scale := math.Pow(10, float64(rng.IntN(12)-8)) // gradients from 1e-8 to 1e3
			p[0][j] = float32(rng.NormFloat64())
			g[0][j] = float32(rng.NormFloat64() * scale)
			m[0][j] = float32(rng.NormFloat64() * scale * 0.1)
			v[0][j] = float32(math.Abs(rng.NormFloat64()) * scale * scale * 0.01)
		}
		if n > 2 {
			g[0][1], v[0][1] = 0, 0 // a number that has never had a gradient
		}
		copy(p[1], p[0])
		copy(g[1], g[0])
		copy(m[1], m[0])
		copy(v[1], v[0])
		adamwUpdate(p[0], g[0], m[0], v[0], &k)
		adamwScalar(p[1], g[1], m[1], v[1], &k)
		for j := range n {
			if math.Float32bits(p[0][j]) != math.Float32bits(p[1][j]) || m[0][j] != m[1][j] || v[0][j] != v[1][j] {
				t.Fatalf("n=%d, [%d]: p %v m %v v %v, scalar p %v m %v v %v", n, j, p[0][j], m[0][j], v[0][j], p[1][j], m[1][j], v[1][j])
			}
		}
	}
}
