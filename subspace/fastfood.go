package subspace

import (
	"math"
	"math/bits"
	"math/rand/v2"

	"github.com/subtune/subtune/nn"
)

// fastfood is one layer's Fastfood projection (Le et al. 2013), as Li et al.
// (2018) and Aghajanyan et al. (2021) use it for random subspaces:
//
//	V = c · S H G Π H B P
//
// P pads z ∈ R^d with zeros to length L, the power of two at or above the
// layer size D; B is a diagonal of random signs; H is the L×L Walsh–Hadamard
// matrix (unnormalised, ±1 entries); Π a random permutation; G a diagonal of
// N(0,1) draws; S keeps the first D entries; and c = 1/√(D·ΣG²), the
// normalisation of the reference implementation, which makes every column
// of V about unit length.
//
// Only d of the L inputs are non-zero, so the first H·B·P collapses: H_L
// applied to a vector supported on its first d' = 2^⌈log₂ d⌉ entries is the
// d'-point transform tiled L/d' times, because the Hadamard sign
// (−1)^popcount(i&j) only looks at the low bits of i when j < d'. The
// permutation is therefore only ever read modulo d', and that is all we
// keep (perm). One application costs one L-point transform; the memory is
// G and perm, six bytes per padded parameter — O(D), against 4·d·D bytes for
// a dense basis.
type fastfood struct {
	n, l, d, dp int
	sign        []float32 // B on the d live inputs
	g           []float32 // G, L entries
	perm        []uint16  // Π(i) mod d'
	scale       float32   // c
}

// maxFastfoodDim bounds d so that Π(i) mod d' fits a uint16.
const maxFastfoodDim = 1 << 15

// newFastfood draws the layer's B, Π and G from rng.
func newFastfood(n, d int, rng *rand.Rand) *fastfood {
	l := 1 << bits.Len(uint(n-1))
	dp := 1 << bits.Len(uint(d-1))
	f := &fastfood{n: n, l: l, d: d, dp: dp, sign: make([]float32, d), g: make([]float32, l), perm: make([]uint16, l)}
	for i := range f.sign {
		f.sign[i] = float32(2*rng.IntN(2) - 1)
	}
	// A uniform permutation read modulo d' is a uniform arrangement of the
	// balanced multiset {i mod d'}: shuffle that directly.
	for i := range f.perm {
		f.perm[i] = uint16(i & (dp - 1))
	}
	for i := l - 1; i > 0; i-- {
		j := rng.IntN(i + 1)
		f.perm[i], f.perm[j] = f.perm[j], f.perm[i]
	}
	var ss float64
	for i := range f.g {
		x := rng.NormFloat64()
		f.g[i] = float32(x)
		ss += float64(f.g[i]) * float64(f.g[i])
	}
	f.scale = float32(1 / math.Sqrt(float64(n)*ss))
	return f
}

// bytes is the memory the projection holds.
func (f *fastfood) bytes() int { return 4*len(f.sign) + 4*len(f.g) + 2*len(f.perm) }

// expand sets dst = base + V x (base nil: zero), using w (len ≥ L) and y
// (len ≥ d') as scratch.
func (f *fastfood) expand(dst, base, x, w, y []float32) {
	y = y[:f.dp]
	clear(y)
	for i, s := range f.sign {
		y[i] = s * x[i]
	}
	fwhtSmall(y)
	w = w[:f.l]
	nn.ParallelFor(f.l, 4, func(lo, hi int) {
		g, p := f.g[lo:hi], f.perm[lo:hi]
		ww := w[lo:hi][:len(g)]
		for i, gi := range g {
			ww[i] = gi * y[p[i]]
		}
	})
	fwht(w)
	c := f.scale
	nn.ParallelFor(f.n, 2, func(lo, hi int) {
		out, ww := dst[lo:hi], w[lo:hi]
		if base == nil {
			for j := range out {
				out[j] = c * ww[j]
			}
			return
		}
		b := base[lo:hi]
		for j := range out {
			out[j] = b[j] + c*ww[j]
		}
	})
}

// project adds Vᵀ g to acc (len d), using w (len ≥ L) and parts (len ≥
// Chunks·d') as scratch: pad, transform, scale by G, fold through Π into d'
// sums, then the d'-point transform and B.
func (f *fastfood) project(acc []float64, g, w []float32, parts []float64) {
	w = w[:f.l]
	copy(w, g[:f.n])
	clear(w[f.n:])
	fwht(w)
	dp := f.dp
	chunks := nn.Chunks(f.l, 4)
	parts = parts[:chunks*dp]
	clear(parts)
	nn.ParallelForIndexed(f.l, 4, func(c, lo, hi int) {
		s := parts[c*dp : (c+1)*dp]
		gg, p := f.g[lo:hi], f.perm[lo:hi]
		ww := w[lo:hi][:len(gg)]
		for i, gi := range gg {
			s[p[i]] += float64(gi * ww[i])
		}
	})
	y := parts[:dp]
	for c := 1; c < chunks; c++ {
		for r, v := range parts[c*dp : (c+1)*dp] {
			y[r] += v
		}
	}
	fwhtSmall64(y)
	c := float64(f.scale)
	for i, s := range f.sign {
		acc[i] += c * float64(s) * y[i]
	}
}

// fwhtBlock is the transform size done within one cache-resident block
// before the strided passes take over.
const fwhtBlock = 1 << 12

// fwht applies the unnormalised Walsh–Hadamard transform in place; len(x)
// must be a power of two. Blocks of fwhtBlock elements are transformed in
// cache, in parallel; the remaining levels go two at a time (radix 4) so
// that each strided pass over memory does two levels' work. The levels
// commute, so the order does not change the result beyond rounding, and
// the order used depends only on len(x).
func fwht(x []float32) {
	n := len(x)
	b := min(fwhtBlock, n)
	nn.ParallelFor(n/b, b*12, func(lo, hi int) {
		for k := lo; k < hi; k++ {
			fwhtSmall(x[k*b : (k+1)*b])
		}
	})
	for h := b; h < n; {
		if 4*h <= n {
			radix4(x, h)
			h *= 4
		} else {
			radix2(x, h)
			h *= 2
		}
	}
}

// radix4 applies the levels of stride h and 2h in one pass.
func radix4(x []float32, h int) {
	nn.ParallelFor(len(x)/4, 8, func(lo, hi int) {
		for q := lo; q < hi; {
			g, j := q/h, q%h
			run := min(h-j, hi-q) // quads sharing this group
			s := g*4*h + j
			a, b, c, d := x[s:s+run], x[s+h:s+h+run], x[s+2*h:s+2*h+run], x[s+3*h:s+3*h+run]
			for i := range a {
				p, m := a[i]+b[i], a[i]-b[i]
				r, t := c[i]+d[i], c[i]-d[i]
				a[i], b[i], c[i], d[i] = p+r, m+t, p-r, m-t
			}
			q += run
		}
	})
}

// radix2 applies the level of stride h.
func radix2(x []float32, h int) {
	nn.ParallelFor(len(x)/2, 4, func(lo, hi int) {
		for q := lo; q < hi; {
			g, j := q/h, q%h
			run := min(h-j, hi-q)
			s := g*2*h + j
			a, b := x[s:s+run], x[s+h:s+h+run]
			for i := range a {
				a[i], b[i] = a[i]+b[i], a[i]-b[i]
			}
			q += run
		}
	})
}

// fwhtSmall is the in-cache transform, on one goroutine.
func fwhtSmall(x []float32) {
	n := len(x)
	h := 1
	if n >= 4 {
		// The first two levels together, four elements at a time.
		for i := 0; i+4 <= n; i += 4 {
			a, b, c, d := x[i], x[i+1], x[i+2], x[i+3]
			p, m, r, t := a+b, a-b, c+d, c-d
			x[i], x[i+1], x[i+2], x[i+3] = p+r, m+t, p-r, m-t
		}
		h = 4
	}
	for ; h < n; h *= 2 {
		for i := 0; i < n; i += 2 * h {
			a, b := x[i:i+h], x[i+h:i+2*h]
			for j := range a {
				a[j], b[j] = a[j]+b[j], a[j]-b[j]
			}
		}
	}
}

// fwhtSmall64 is fwhtSmall in float64.
func fwhtSmall64(x []float64) {
	for h := 1; h < len(x); h *= 2 {
		for i := 0; i < len(x); i += 2 * h {
			a, b := x[i:i+h], x[i+h:i+2*h]
			for j := range a {
				a[j], b[j] = a[j]+b[j], a[j]-b[j]
			}
		}
	}
}
