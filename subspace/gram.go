package subspace

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/subtune/subtune/blas"
	"github.com/subtune/subtune/nn"
)

// gramBlock is the number of columns widened to float64 per GEMM, and
// gramChunk the number whose Gram products are summed into one partial
// matrix. Every product of float32 data is formed and summed in float64
// (dgemm): the rounding left is about 1e-16·√n of the largest eigenvalue,
// so a spectrum spanning four decades of singular values (eight of
// eigenvalues) comes out as an explicit float64 SVD finds it. Partials are
// added in column order, so the result does not depend on the thread count.
const (
	gramBlock = 512
	gramChunk = 1 << 16
)

// addGram adds W[:, lo:hi] W[:, lo:hi]ᵀ to g (t×t), where W is t rows of
// stride ld.
func addGram(g []float64, w []float32, t, ld, lo, hi int) {
	if hi <= lo {
		return
	}
	chunks := (hi - lo + gramChunk - 1) / gramChunk
	parts := make([]float64, chunks*t*t)
	nn.ParallelFor(chunks, gramChunk*t*t, func(a, b int) {
		blk := make([]float64, t*gramBlock)
		for c := a; c < b; c++ {
			part := parts[c*t*t : (c+1)*t*t]
			end := min(lo+(c+1)*gramChunk, hi)
			for col := lo + c*gramChunk; col < end; col += gramBlock {
				n := min(gramBlock, end-col)
				widen(blk, w, t, ld, col, n)
				blas.Dgemm(false, true, t, t, n, 1, blk, n, blk, n, 1, part, t)
			}
		}
	})
	for c := 0; c < chunks; c++ {
		for i, v := range parts[c*t*t : (c+1)*t*t] {
			g[i] += v
		}
	}
}

// widen copies columns [col, col+n) of rows rows of w (stride ld) into dst
// as a rows×n float64 matrix.
func widen(dst []float64, w []float32, rows, ld, col, n int) {
	for i := 0; i < rows; i++ {
		d := dst[i*n : (i+1)*n]
		for j, v := range w[i*ld+col : i*ld+col+n] {
			d[j] = float64(v)
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
// deltas Δk = θk − θ0 over the unit's columns and, whenever θ0 is read,
// ⟨Δk, θ0⟩ and ‖θ0‖² (raw rows need them; so does the rounding bound of a
// trajectory that stores θk).
type unitGram struct {
	dd []float64 // t×t, ΔΔᵀ
	dt []float64 // t, Δ·θ0
	tt float64   // ‖θ0‖²
}

// storedEnergy is Σk ‖xk‖² of the numbers the trajectory stores for the
// unit: the deltas themselves, or θk = θ0 + Δk.
func (u *unitGram) storedEnergy(t int, storesTheta bool) float64 {
	var e float64
	for k := 0; k < t; k++ {
		e += u.dd[k*t+k]
		if storesTheta {
			e += 2*u.dt[k] + u.tt
		}
	}
	return e
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
// numerically zero. The rows are stored numbers (unit roundoff u, 2⁻²⁴ for
// float32) whose rounding is a matrix E with ‖E‖₂² ≤ ‖E‖F² ≤ u²·stored,
// stored = Σk ‖xk‖²; by Weyl's inequality a singular value below ‖E‖₂ may
// be rounding alone. To that, with a margin of sixteen, comes the float64
// rounding of sums over n columns, about √n·2⁻⁵³ of the delta Gram
// matrix's trace and of the largest eigenvalue (for raw rows that is θ0's
// direction, so it sets the floor of the fine-tuning directions). A
// trajectory of t points in general position has rank t (delta, raw) or
// t−1 (centered); a straight line has rank 1 (delta, centered).
func zeroTolerance(stored, u float64, n int, trace, lambdaMax float64) float64 {
	return 4*u*u*stored + 16*0x1p-53*math.Sqrt(float64(n))*(trace+lambdaMax)
}

// decompose eigendecomposes the symmetric t×t matrix g (float64, gonum's
// LAPACK-derived dsyev), orders the pairs by decreasing eigenvalue, fixes
// each vector's sign (largest-magnitude entry positive, as scikit-learn's
// svd_flip, so reruns and platforms agree) and counts the numerical rank.
func decompose(g []float64, t int, zero func(lambdaMax float64) float64) (*decomposition, error) {
	sym := mat.NewSymDense(t, append([]float64(nil), g...))
	var es mat.EigenSym
	if !es.Factorize(sym, true) {
		return nil, fmt.Errorf("eigendecomposition of the %d×%d Gram matrix did not converge", t, t)
	}
	vals := es.Values(nil)
	var vecs mat.Dense
	es.VectorsTo(&vecs)
	dc := &decomposition{sigma: make([]float64, t), u: make([]float64, t*t)}
	tol := zero(math.Max(vals[t-1], 0))
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
func (dc *decomposition) coefficients(rows string, t, d int) (m, c0 []float64) {
	m = make([]float64, t*d)
	c0 = make([]float64, d)
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
			m[k*d+i] = v * inv
		}
		if rows == RowsRaw {
			c0[i] = mean * inv
		}
	}
	return m, c0
}

// applyCoefficients overwrites the first d rows of W's columns [lo, hi)
// with V = Mᵀ W (+ c0·θ0), one column block at a time, in float64: each
// block of W is read before its rows are replaced, so the basis is built in
// the memory that held the checkpoints, and blocks are independent. c0 may
// be nil (no θ0 term).
func applyCoefficients(w []float32, t, ld int, m, c0 []float64, theta0 []float32, d, lo, hi int) {
	blocks := (hi - lo + gramBlock - 1) / gramBlock
	nn.ParallelFor(blocks, gramBlock*t*d, func(a, b int) {
		in := make([]float64, t*gramBlock)
		out := make([]float64, d*gramBlock)
		for blk := a; blk < b; blk++ {
			c := lo + blk*gramBlock
			n := min(gramBlock, hi-c)
			widen(in, w, t, ld, c, n)
			blas.Dgemm(true, false, d, n, t, 1, m, d, in, n, 0, out, n)
			for i := 0; i < d; i++ {
				o := out[i*n : (i+1)*n]
				if c0 != nil && c0[i] != 0 {
					for j, th := range theta0[c : c+n] {
						o[j] += c0[i] * float64(th)
					}
				}
				row := w[i*ld+c : i*ld+c+n]
				for j, v := range o {
					row[j] = float32(v)
				}
			}
		}
	})
}
