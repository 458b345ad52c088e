package blas

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// The start-up check multiplies a few small matrices with the kernels in use
// and compares every entry with a float64 reference. The products are chosen
// to reach each of OpenBLAS's code paths and every copy routine: its direct
// kernel (no transpose, alpha 1, beta 0); its small-matrix kernels, which
// OpenBLAS 0.3.21's SkylakeX family uses below a million multiply-adds
// except for Aᵀ·Bᵀ, and for A·Bᵀ when k < 32 or m·n > 1200; the packed
// kernels otherwise, in one block of k and in several. Dimensions are
// multiples of no kernel's unroll and row strides wider than the rows. It
// takes about a millisecond.

// gemmFunc and gemvFunc are the signatures of sgemm and sgemvT, so that the
// check can be run on any implementation (a deliberately wrong one in the
// tests).
type (
	gemmFunc func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
	gemvFunc func(m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32)
)

// gemmCase is one product of the check; pad is added to every row stride.
// An exact case is checked through C·v (see freivalds) rather than entry by
// entry, which would cost milliseconds past a million multiply-adds.
type gemmCase struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	pad            int
	exact          bool
}

var gemmChecks = []gemmCase{
	// OpenBLAS's direct AVX-512 kernel: no transpose, alpha 1, beta 0.
	{false, false, 37, 29, 45, 1, 0, 0, false},
	{false, false, 32, 32, 48, 1, 0, 0, false},
	// Its small-matrix kernels, with and without beta; the packed ones for
	// Aᵀ·Bᵀ (which copy both operands transposed).
	{false, false, 23, 19, 41, -0.5, 0.25, 3, false},
	{false, true, 23, 19, 41, -0.5, 0.25, 3, false},
	{true, false, 23, 19, 41, -0.5, 0.25, 3, false},
	{true, true, 23, 19, 41, -0.5, 0.25, 3, false},
	{true, false, 9, 31, 70, 1, 0, 1, false},
	{true, true, 17, 33, 9, 2, 1, 0, false},
	// Packed: A·Bᵀ with k < 32 and with m·n > 1200 (A as it is, B
	// transposed), A·B past a million multiply-adds (both as they are), and
	// Aᵀ·Bᵀ deeper than any family's block of k.
	{false, true, 17, 33, 9, 1, 0, 1, false},
	{false, true, 41, 37, 45, 1, 0.5, 0, false},
	{false, false, 35, 97, 301, 1, 0.5, 2, true},
	{true, true, 5, 7, 1100, 1, 0, 1, false},
}

// gemvCase is one y = alpha·Aᵀ·x + beta·y of the check, A m×n.
type gemvCase struct {
	m, n        int
	alpha, beta float32
	pad         int
}

var gemvChecks = []gemvCase{
	{301, 37, 1, 0, 3},
	{130, 67, -0.5, 1, 0},
	{5, 3, 2, 0.5, 1},
}

// guard is how many elements follow every output, to catch a kernel that
// writes past the end.
const guard = 17

// Verify checks the kernels in use against a float64 reference on the
// start-up check's products; the error names the first wrong entry.
func Verify() error { return checkKernels(sgemm, sgemvT) }

func checkKernels(gemm gemmFunc, gemv gemvFunc) error {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range gemmChecks {
		if err := tc.check(gemm, rng); err != nil {
			return err
		}
	}
	for _, tc := range gemvChecks {
		if err := tc.check(gemv, rng); err != nil {
			return err
		}
	}
	return nil
}

func (tc gemmCase) String() string {
	op := map[bool]string{false: "", true: "ᵀ"}
	return fmt.Sprintf("sgemm A%s·B%s %d×%d×%d (alpha %g, beta %g)",
		op[tc.transA], op[tc.transB], tc.m, tc.n, tc.k, tc.alpha, tc.beta)
}

func (tc gemmCase) check(gemm gemmFunc, rng *rand.Rand) error {
	m, n, k := tc.m, tc.n, tc.k
	ar, ac := m, k
	if tc.transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if tc.transB {
		br, bc = n, k
	}
	lda, ldb, ldc := ac+tc.pad, bc+tc.pad, n+tc.pad
	fill := uniform
	if tc.exact {
		fill = smallInts
	}
	a, b := fill(rng, ar*lda), fill(rng, br*ldb)
	c := fill(rng, (m-1)*ldc+n+guard)
	if tc.beta == 0 {
		// BLAS does not read C when beta is 0: NaN there must not show.
		for i := range m {
			for j := range n {
				c[i*ldc+j] = float32(math.NaN())
			}
		}
	}
	c0 := slices.Clone(c)
	gemm(tc.transA, tc.transB, m, n, k, tc.alpha, a, lda, b, ldb, tc.beta, c[:(m-1)*ldc+n], ldc)

	// Rows of op(A) and columns of op(B), contiguous, for the reference.
	opA, opB := make([]float64, m*k), make([]float64, n*k)
	for i := range m {
		for p := range k {
			if tc.transA {
				opA[i*k+p] = float64(a[p*lda+i])
			} else {
				opA[i*k+p] = float64(a[i*lda+p])
			}
		}
	}
	for j := range n {
		for p := range k {
			if tc.transB {
				opB[j*k+p] = float64(b[j*ldb+p])
			} else {
				opB[j*k+p] = float64(b[p*ldb+j])
			}
		}
	}
	if tc.exact {
		if err := tc.freivalds(opA, opB, c, c0, ldc, rng); err != nil {
			return err
		}
		return untouched(tc.String(), c, c0, m, n, ldc)
	}
	for i := range m {
		for j := range n {
			var cij float64
			if tc.beta != 0 {
				cij = float64(c0[i*ldc+j])
			}
			want, tol := reference(opA[i*k:(i+1)*k], opB[j*k:(j+1)*k], tc.alpha, tc.beta, cij)
			if got := float64(c[i*ldc+j]); !(math.Abs(got-want) <= tol) {
				return fmt.Errorf("%v: C[%d][%d] = %g, want %g ± %.1e", tc, i, j, got, want, tol)
			}
		}
	}
	return untouched(tc.String(), c, c0, m, n, ldc)
}

// freivalds checks C = alpha·op(A)·op(B) + beta·C0 through C·v = alpha·op(A)·
// (op(B)·v) + beta·C0·v for two random vectors v (Freivalds' algorithm), in
// O(mn + nk + mk) rather than O(mnk). It is exact: the inputs are small
// integers and alpha and beta powers of two, so every sum a correct kernel
// forms, in whatever order, is exact in float32, and every one here in
// float64; and as no v_j is 0, an entry off by any amount shows in its row.
// opA holds op(A)'s rows, opB op(B)'s columns.
func (tc gemmCase) freivalds(opA, opB []float64, c, c0 []float32, ldc int, rng *rand.Rand) error {
	m, n, k := tc.m, tc.n, tc.k
	v, bv := make([]float64, n), make([]float64, k)
	for range 2 {
		for j := range v {
			v[j] = float64((1 + rng.IntN(4)) * (1 - 2*rng.IntN(2)))
		}
		clear(bv)
		for j, vj := range v {
			for p, b := range opB[j*k : (j+1)*k] {
				bv[p] += b * vj
			}
		}
		for i := range m {
			var got, want float64
			for j, vj := range v {
				got += float64(c[i*ldc+j]) * vj
				want += float64(tc.beta) * float64(c0[i*ldc+j]) * vj
			}
			for p, a := range opA[i*k : (i+1)*k] {
				want += float64(tc.alpha) * a * bv[p]
			}
			if got != want {
				return fmt.Errorf("%v: row %d of C·v = %g, want %g exactly (integer inputs)", tc, i, got, want)
			}
		}
	}
	return nil
}

func (tc gemvCase) check(gemv gemvFunc, rng *rand.Rand) error {
	m, n, lda := tc.m, tc.n, tc.n+tc.pad
	a, x := uniform(rng, (m-1)*lda+n), uniform(rng, m)
	y := uniform(rng, n+guard)
	y0 := slices.Clone(y)
	gemv(m, n, tc.alpha, a, lda, x, tc.beta, y[:n])
	col, xs := make([]float64, m), make([]float64, m)
	for p := range m {
		xs[p] = float64(x[p])
	}
	name := fmt.Sprintf("sgemv Aᵀ·x %d×%d (alpha %g, beta %g)", m, n, tc.alpha, tc.beta)
	for j := range n {
		for p := range m {
			col[p] = float64(a[p*lda+j])
		}
		want, tol := reference(col, xs, tc.alpha, tc.beta, float64(y0[j]))
		if got := float64(y[j]); !(math.Abs(got-want) <= tol) {
			return fmt.Errorf("%s: y[%d] = %g, want %g ± %.1e", name, j, got, want, tol)
		}
	}
	return untouched(name, y, y0, 1, n, n)
}

// reference returns alpha·x·y + beta·c in float64 and the most a float32
// computation of it may differ, in any order of summation, with or without
// fused multiply-adds: (len+3) roundings of 2⁻²⁴ relative to the sum of
// magnitudes (Higham, Accuracy and Stability, §3.1), doubled for the
// second-order terms. A kernel that drops, repeats or misplaces a product,
// or multiplies at lower precision, is off by far more.
func reference(x, y []float64, alpha, beta float32, c float64) (want, tol float64) {
	k := len(x)
	y = y[:k]
	// Four partial sums, without bounds checks: the check runs at every
	// start-up.
	var s0, s1, s2, s3, t0, t1, t2, t3 float64
	for len(x) >= 4 && len(y) >= 4 {
		v0, v1, v2, v3 := x[0]*y[0], x[1]*y[1], x[2]*y[2], x[3]*y[3]
		s0, s1, s2, s3 = s0+v0, s1+v1, s2+v2, s3+v3
		t0, t1, t2, t3 = t0+math.Abs(v0), t1+math.Abs(v1), t2+math.Abs(v2), t3+math.Abs(v3)
		x, y = x[4:], y[4:]
	}
	for i, xi := range x {
		v := xi * y[i]
		s0 += v
		t0 += math.Abs(v)
	}
	const u = 1.0 / (1 << 24)
	want = float64(alpha)*(s0+s1+s2+s3) + float64(beta)*c
	bound := math.Abs(float64(alpha))*(t0+t1+t2+t3) + math.Abs(float64(beta)*c)
	return want, 2 * float64(k+3) * u * bound
}

// untouched reports an error when the kernel wrote anywhere in out but its
// m×n entries: the stride between rows and the guard after the last.
func untouched(name string, out, before []float32, m, n, ld int) error {
	for idx := range out {
		i, j := idx/ld, idx%ld
		if i < m && j < n {
			continue
		}
		if math.Float32bits(out[idx]) != math.Float32bits(before[idx]) {
			return fmt.Errorf("%s: wrote %g outside the result, %d elements past its start", name, out[idx], idx)
		}
	}
	return nil
}

// smallInts are integers in [-4, 4]: their products and sums stay exact.
// Sixteen come from one 64-bit draw (slightly biased, which is no matter).
func smallInts(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	var bits uint64
	for i := range x {
		if i%16 == 0 {
			bits = rng.Uint64()
		}
		x[i] = float32(int(bits&15)%9 - 4)
		bits >>= 4
	}
	return x
}

// uniform draws from [-1, 1) with 24 random bits each, two per 64-bit draw:
// generating the inputs is a good part of the check's time.
func uniform(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	var bits uint64
	for i := range x {
		if i%2 == 0 {
			bits = rng.Uint64()
		}
		x[i] = float32(int32(bits&(1<<24-1))-1<<23) / (1 << 23)
		bits >>= 32
	}
	return x
}
