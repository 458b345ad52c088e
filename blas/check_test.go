package blas

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestVerify(t *testing.T) {
	if err := Verify(); err != nil {
		t.Fatalf("%s: %v", Describe(), err)
	}
	if err := Fallback(); err != nil {
		t.Errorf("the start-up check replaced a kernel family: %v", err)
	}
	if d := Describe(); !strings.Contains(d, CoreName()) || !strings.Contains(d, threadCount()) {
		t.Errorf("Describe() = %q names neither the family %s nor the threads", d, CoreName())
	}
}

// TestCheckDetectsWrongKernels feeds the check kernels that are wrong the
// ways a miscompiled or mis-selected one is: each must be caught.
func TestCheckDetectsWrongKernels(t *testing.T) {
	lastEntry := func(m, n, ldc int) int { return (m-1)*ldc + n - 1 }
	for _, tc := range []struct {
		name string
		gemm gemmFunc
		gemv gemvFunc
	}{
		{name: "last entry off by one part in a thousand", gemm: func(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
			c[lastEntry(m, n, ldc)] *= 1.001
		}},
		{name: "drops the last term of k", gemm: func(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			sgemm(ta, tb, m, n, k-1, alpha, a, lda, b, ldb, beta, c, ldc)
		}},
		{name: "leaves the last row", gemm: func(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			sgemm(ta, tb, m-1, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		}},
		{name: "leaves the last column", gemm: func(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			sgemm(ta, tb, m, n-1, k, alpha, a, lda, b, ldb, beta, c, ldc)
		}},
		{name: "ignores beta", gemm: func(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, 0, c, ldc)
		}},
		{name: "reads C when beta is 0", gemm: func(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			old := c[0]
			sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
			c[0] += beta * old
		}},
		{name: "writes past the end", gemm: func(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
			c[:len(c)+1][len(c)] = 0
		}},
		{name: "writes into the stride", gemm: func(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
			if ldc > n {
				c[n] = c[n-1]
			}
		}},
		{name: "multiplies in bfloat16", gemm: func(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			sgemm(ta, tb, m, n, k, alpha, toBF16(a), lda, toBF16(b), ldb, beta, c, ldc)
		}},
		{name: "sgemv drops the last row of A", gemv: func(m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) {
			sgemvT(m-1, n, alpha, a, lda, x, beta, y)
		}},
		{name: "sgemv ignores beta", gemv: func(m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) {
			sgemvT(m, n, alpha, a, lda, x, 0, y)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gemm, gemv := tc.gemm, tc.gemv
			if gemm == nil {
				gemm = sgemm
			}
			if gemv == nil {
				gemv = sgemvT
			}
			err := checkKernels(gemm, gemv)
			if err == nil {
				t.Fatal("the check passed a wrong kernel")
			}
			t.Log(err)
		})
	}
}

// toBF16 rounds to bfloat16's 8-bit mantissa (by truncation).
func toBF16(x []float32) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = math.Float32frombits(math.Float32bits(v) &^ 0xffff)
	}
	return y
}

// TestCheckEveryProduct: each product of the check on its own catches a
// kernel that mishandles the last row, column or term of its tails — the
// tolerance, derived for any order of summation, is still tight enough at
// the deepest k.
func TestCheckEveryProduct(t *testing.T) {
	tails := map[string]func(m, n, k int) (int, int, int){
		"last row":    func(m, n, k int) (int, int, int) { return m - 1, n, k },
		"last column": func(m, n, k int) (int, int, int) { return m, n - 1, k },
		"last term":   func(m, n, k int) (int, int, int) { return m, n, k - 1 },
	}
	for name, shrink := range tails {
		gemm := func(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			m, n, k = shrink(m, n, k)
			sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		}
		for _, tc := range gemmChecks {
			if tc.check(gemm, rand.New(rand.NewPCG(1, 2))) == nil {
				t.Errorf("%v: a kernel that leaves the %s passed", tc, name)
			}
		}
		if name == "last row" {
			continue // y = Aᵀ·x is one row
		}
		gemv := func(m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) {
			_, n, m = shrink(1, n, m) // y's entries are A's columns, its terms A's rows
			sgemvT(m, n, alpha, a, lda, x, beta, y)
		}
		for _, tc := range gemvChecks {
			if tc.check(gemv, rand.New(rand.NewPCG(1, 2))) == nil {
				t.Errorf("sgemv %v: a kernel that leaves the %s passed", tc, name)
			}
		}
	}
}

// BenchmarkVerify is what the start-up check adds to every process.
func BenchmarkVerify(b *testing.B) {
	for b.Loop() {
		if err := Verify(); err != nil {
			b.Fatal(err)
		}
	}
	b.Log(Describe())
}
