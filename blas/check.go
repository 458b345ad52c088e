package blas

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// The start-up check multiplies a few small matrices with the kernels in use
// and compares every entry with a float64 reference. The products are chosen
// to reach each of OpenBLAS's code paths: its direct kernel (no transpose,
// alpha 1, beta 0) and its small-matrix kernels below a million
// multiply-adds, the packed kernels above; every transpose; dimensions that
// are multiples of no kernel's unroll; row strides wider than the rows. It
// takes a few milliseconds, most of them in the reference.

// gemmFunc and gemvFunc are the signatures of sgemm and sgemvT, so that the
// check can be run on any implementation (a deliberately wrong one in the
// tests).
type (
	gemmFunc func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
	gemvFunc func(m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32)
)

// gemmCase is one product of the check; pad is added to every row stride.
type gemmCase struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	pad            int
}

var gemmChecks = []gemmCase{
	// OpenBLAS's direct AVX-512 kernel: no transpose, alpha 1, beta 0.
	{false, false, 37, 29, 45, 1, 0, 0},
	{false, false, 32, 48, 64, 1, 0, 0},
	// Its small-matrix kernels, every transpose, with and without beta.
	{false, false, 23, 19, 41, -0.5, 0.25, 3},
	{false, true, 23, 19, 41, -0.5, 0.25, 3},
	{true, false, 23, 19, 41, -0.5, 0.25, 3},
	{true, true, 23, 19, 41, -0.5, 0.25, 3},
	{false, true, 17, 33, 9, 1, 0, 1},
	{true, false, 9, 31, 70, 1, 0, 1},
	{true, true, 17, 33, 9, 2, 1, 0},
	// Past a million multiply-adds, the packed kernels (which every size
	// of Aᵀ·Bᵀ reaches already): with it these two cover the copy routines
	// of both operands in both layouts, and the second, the dense layers'
	// x·Wᵀ, is deeper than any family's block of k.
	{false, false, 35, 97, 301, 1, 0.5, 2},
	{false, true, 17, 19, 3121, 1, 0, 0},
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
	a, b := uniform(rng, ar*lda), uniform(rng, br*ldb)
	c := uniform(rng, (m-1)*ldc+n+guard)
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
	// Four partial sums: the check runs at every start-up.
	var s, t [4]float64
	p := 0
	for ; p+4 <= len(x); p += 4 {
		v0, v1, v2, v3 := x[p]*y[p], x[p+1]*y[p+1], x[p+2]*y[p+2], x[p+3]*y[p+3]
		s[0], s[1], s[2], s[3] = s[0]+v0, s[1]+v1, s[2]+v2, s[3]+v3
		t[0], t[1], t[2], t[3] = t[0]+math.Abs(v0), t[1]+math.Abs(v1), t[2]+math.Abs(v2), t[3]+math.Abs(v3)
	}
	for ; p < len(x); p++ {
		v := x[p] * y[p]
		s[0] += v
		t[0] += math.Abs(v)
	}
	const u = 1.0 / (1 << 24)
	want = float64(alpha)*(s[0]+s[1]+s[2]+s[3]) + float64(beta)*c
	bound := math.Abs(float64(alpha))*(t[0]+t[1]+t[2]+t[3]) + math.Abs(float64(beta)*c)
	return want, 2 * float64(len(x)+3) * u * bound
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

func uniform(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(2*rng.Float64() - 1)
	}
	return x
}
