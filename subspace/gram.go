package subspace

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/subtune/subtune/blas"
	"github.com/subtune/subtune/nn"
)

// gramBlock is the number of columns per float32 GEMM when accumulating a
// Gram matrix. Each block's t×t product is summed in float32 by the GEMM,
// then added to a float64 total, so float32 rounding only ever affects a
// gramBlock-term sum. The Gram matrix then carries errors of about 1e-9 to
// 1e-8 of its largest eigenvalue λ1 (OpenBLAS; a few times more with the
// pure-Go GEMM): a singular value σi comes out with a relative error of
// about 1e-8·(σ1/σi)² (1e-6 at σ1/10, 0.2% at σ1/1000), and direction i
// turns by an angle of about 1e-8·λ1 over the gap between λi and its
// neighbours — negligible except for the smallest of several tiny
// directions (TestSmallSingularValues). 256 columns is also the fastest
// block on OpenBLAS for t = 32 (about 0.2 s per BERT-base layer, one core).
const gramBlock = 256

// addGram adds W[:, lo:hi] W[:, lo:hi]ᵀ to g (t×t, float64), where W is t
// rows of stride ld. tmp holds t×t float32.
func addGram(g []float64, w []float32, t, ld, lo, hi int, tmp []float32) {
	for c := lo; c < hi; c += gramBlock {
		b := min(gramBlock, hi-c)
		blas.Sgemm(false, true, t, t, b, 1, w[c:], ld, w[c:], ld, 0, tmp, t)
		for i, v := range tmp[:t*t] {
			g[i] += float64(v)
		}
	}
}

// dot64 is Σ x[i]·y[i] with float64 products and sums: the raw-rows Gram
// needs ⟨Δk, θ0⟩ and ‖θ0‖² exactly enough that the large θ0 part does not
// swamp the small fine-tuning part (see gramFor).
func dot64(x, y []float32) float64 {
	parts := make([]float64, nn.Chunks(len(x), 2))
	nn.ParallelForIndexed(len(x), 2, func(c, lo, hi int) {
		var s0, s1 float64
		xx, yy := x[lo:hi], y[lo:hi]
		i := 0
		for ; i+2 <= len(xx); i += 2 {
			s0 += float64(xx[i]) * float64(yy[i])
			s1 += float64(xx[i+1]) * float64(yy[i+1])
		}
		for ; i < len(xx); i++ {
			s0 += float64(xx[i]) * float64(yy[i])
		}
		parts[c] = s0 + s1
	})
	var s float64
	for _, p := range parts {
		s += p
	}
	return s
}

// unitGram is what pass 1 gathers for one subspace: the Gram matrix of the
// deltas Δk = θk − θ0 over the unit's columns, and for raw rows ⟨Δk, θ0⟩
// and ‖θ0‖².
type unitGram struct {
	dd    []float64 // t×t, ΔΔᵀ
	dt    []float64 // t, Δ·θ0
	tt    float64   // ‖θ0‖²
	trace float64
}

// gramFor forms the t×t Gram matrix of the rows the user chose, from the
// delta Gram:
//
//	delta:     G = ΔΔᵀ
//	centered:  G = CΔΔᵀC, with C = I − 11ᵀ/t (rows minus their mean)
//	raw:       G = (1θ0ᵀ + Δ)(1θ0ᵀ + Δ)ᵀ = ΔΔᵀ + a1ᵀ + 1aᵀ + ‖θ0‖²11ᵀ,  a = Δθ0
//
// Raw rows are θk itself, and θk differs from θ0 by about a thousandth: a
// Gram matrix of raw rows in float32 would keep nothing of the fine-tuning
// part. Splitting off θ0 keeps every term at its own scale.
func gramFor(u *unitGram, rows string, t int) []float64 {
	g := make([]float64, t*t)
	copy(g, u.dd)
	switch rows {
	case RowsCentered:
		r := make([]float64, t)
		var all float64
		for i := 0; i < t; i++ {
			for j := 0; j < t; j++ {
				r[i] += u.dd[i*t+j]
			}
			all += r[i]
			r[i] /= float64(t)
		}
		all /= float64(t * t)
		for i := 0; i < t; i++ {
			for j := 0; j < t; j++ {
				g[i*t+j] = u.dd[i*t+j] - r[i] - r[j] + all
			}
		}
	case RowsRaw:
		for i := 0; i < t; i++ {
			for j := 0; j < t; j++ {
				g[i*t+j] += u.dt[i] + u.dt[j] + u.tt
			}
		}
	}
	return g
}

// decomposition is the SVD W = UΣVᵀ of one unit's rows, through the
// eigendecomposition of G = WWᵀ = UΣ²Uᵀ.
type decomposition struct {
	sigma []float64 // all t singular values, descending
	u     []float64 // t×t, column i is the left singular vector of sigma[i]
	rank  int       // how many singular values are numerically non-zero
}

// zeroTolerance is the eigenvalue below which a direction counts as
// numerically zero: the float32-block error of the delta Gram (about 1e-8
// of its trace, with a margin of ten) plus float64 rounding of the whole
// matrix. A trajectory of t points in general position has rank t (delta,
// raw) or t−1 (centered); a straight line has rank 1 (delta, centered).
func zeroTolerance(trace, lambdaMax float64) float64 {
	return 1e-7*trace + 1e-12*lambdaMax
}

// decompose eigendecomposes the symmetric t×t matrix g (float64, gonum's
// LAPACK-derived dsyev), orders the pairs by decreasing eigenvalue, fixes
// each vector's sign (largest-magnitude entry positive, as scikit-learn's
// svd_flip, so reruns and platforms agree) and counts the numerical rank.
func decompose(g []float64, t int, trace float64) (*decomposition, error) {
	sym := mat.NewSymDense(t, append([]float64(nil), g...))
	var es mat.EigenSym
	if !es.Factorize(sym, true) {
		return nil, fmt.Errorf("eigendecomposition of the %d×%d Gram matrix did not converge", t, t)
	}
	vals := es.Values(nil)
	var vecs mat.Dense
	es.VectorsTo(&vecs)
	dc := &decomposition{sigma: make([]float64, t), u: make([]float64, t*t)}
	lmax := math.Max(vals[t-1], 0)
	tol := zeroTolerance(trace, lmax)
	for i := 0; i < t; i++ {
		src := t - 1 - i // ascending → descending
		lam := vals[src]
		dc.sigma[i] = math.Sqrt(math.Max(lam, 0))
		if lam > tol {
			dc.rank++
		}
		big, sign := 0.0, 1.0
		for k := 0; k < t; k++ {
			if v := vecs.At(k, src); math.Abs(v) > big {
				big, sign = math.Abs(v), math.Copysign(1, v)
			}
		}
		for k := 0; k < t; k++ {
			dc.u[k*t+i] = sign * vecs.At(k, src)
		}
	}
	return dc, nil
}

// coefficients turns the first d singular pairs into the recipe for the
// basis: V row i = Σk m[k·d+i]·Δk + c0[i]·θ0, that is V = WᵀUΣ⁻¹ written in
// terms of the deltas. For centered rows W = CΔ, so the coefficients are
// C·U; for raw rows W = 1θ0ᵀ + Δ adds θ0 times the column sums of U.
func (dc *decomposition) coefficients(rows string, t, d int) (m, c0 []float32) {
	m = make([]float32, t*d)
	c0 = make([]float32, d)
	for i := 0; i < d; i++ {
		var mean float64
		for k := 0; k < t; k++ {
			mean += dc.u[k*t+i]
		}
		inv := 1 / dc.sigma[i]
		for k := 0; k < t; k++ {
			v := dc.u[k*t+i]
			if rows == RowsCentered {
				v -= mean / float64(t)
			}
			m[k*d+i] = float32(v * inv)
		}
		if rows == RowsRaw {
			c0[i] = float32(mean * inv)
		}
	}
	return m, c0
}

// applyCoefficients overwrites the first d rows of W's columns [lo, hi)
// with V = Mᵀ W (+ c0·θ0), one column block at a time: each block of W is
// read by the GEMM before its rows are replaced, so the basis is built in
// the memory that held the checkpoints. tmp holds d×gramBlock float32.
func applyCoefficients(w []float32, t, ld int, m, c0, theta0 []float32, d, lo, hi int, tmp []float32) {
	for c := lo; c < hi; c += gramBlock {
		b := min(gramBlock, hi-c)
		blas.Sgemm(true, false, d, b, t, 1, m, d, w[c:], ld, 0, tmp, b)
		for i := 0; i < d; i++ {
			row := w[i*ld+c : i*ld+c+b]
			copy(row, tmp[i*b:(i+1)*b])
			if c0[i] != 0 {
				a, th := c0[i], theta0[c:c+b]
				for j := range row {
					row[j] += a * th[j]
				}
			}
		}
	}
}
