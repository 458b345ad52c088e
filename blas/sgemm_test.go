package blas

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// naive is the definition Sgemm and Dgemm must agree with, summed in float64.
func naive[T float32 | float64](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv T
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			c[i*ldc+j] = alpha*T(s) + beta*c[i*ldc+j]
		}
	}
}

func TestGemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		m, n, k   int
		ta, tb    bool
		pad       int
		alpha, bt float32
	}{
		{1, 1, 1, false, false, 0, 1, 0},
		{3, 5, 7, false, false, 0, 1, 0},
		{3, 5, 7, true, false, 2, 0.5, 1},
		{3, 5, 7, false, true, 1, 1, 0.25},
		{17, 9, 33, true, true, 3, -1, 1},
		{64, 48, 80, false, true, 0, 1, 1},
		{4, 6, 0, false, false, 0, 1, 0.5},
		// Large enough to be split across goroutines, by rows and by columns.
		{300, 90, 200, true, false, 1, 1, 0.5},
		{70, 310, 190, false, true, 2, 0.5, 1},
	} {
		t.Run(fmt.Sprintf("%dx%dx%d_%v%v", tc.m, tc.n, tc.k, tc.ta, tc.tb), func(t *testing.T) {
			ar, ac := tc.m, tc.k
			if tc.ta {
				ar, ac = tc.k, tc.m
			}
			br, bc := tc.k, tc.n
			if tc.tb {
				br, bc = tc.n, tc.k
			}
			lda, ldb, ldc := ac+tc.pad, bc+tc.pad, tc.n+tc.pad
			a := randSlice(rng, max(ar*lda, 1))
			b := randSlice(rng, max(br*ldb, 1))
			c := randSlice(rng, tc.m*ldc)
			c0 := append([]float32(nil), c...)
			want := append([]float32(nil), c...)
			naive(tc.ta, tc.tb, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.bt, want, ldc)
			Sgemm(tc.ta, tc.tb, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.bt, c, ldc)
			for i := range c {
				if d := math.Abs(float64(c[i] - want[i])); d > 1e-4*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("c[%d] = %v, want %v", i, c[i], want[i])
				}
			}
			// Dgemm on the same numbers: float64 leaves only the order of
			// the k-term sums, about 1e-16·k relative.
			a64, b64, c64 := widen(a), widen(b), widen(c0)
			want64 := append([]float64(nil), c64...)
			naive(tc.ta, tc.tb, tc.m, tc.n, tc.k, float64(tc.alpha), a64, lda, b64, ldb, float64(tc.bt), want64, ldc)
			Dgemm(tc.ta, tc.tb, tc.m, tc.n, tc.k, float64(tc.alpha), a64, lda, b64, ldb, float64(tc.bt), c64, ldc)
			for i := range c64 {
				if d := math.Abs(c64[i] - want64[i]); d > 1e-13*(1+math.Abs(want64[i])) {
					t.Fatalf("Dgemm: c[%d] = %v, want %v", i, c64[i], want64[i])
				}
			}
		})
	}
}

func TestSgemvT(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	m, n, lda := 37, 11, 13
	a, x, y := randSlice(rng, m*lda), randSlice(rng, m), randSlice(rng, n)
	want := append([]float32(nil), y...)
	naive(true, false, n, 1, m, 2, a, lda, x, 1, 0.5, want, 1)
	SgemvT(m, n, 2, a, lda, x, 0.5, y)
	for i := range y {
		if math.Abs(float64(y[i]-want[i])) > 1e-4 {
			t.Fatalf("y[%d] = %v, want %v", i, y[i], want[i])
		}
	}
}

func TestSgemmShortSlicePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Sgemm accepted a slice too short for its shape")
		}
	}()
	Sgemm(false, false, 2, 2, 2, 1, make([]float32, 3), 2, make([]float32, 4), 2, 0, make([]float32, 4), 2)
}

func widen(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

func randSlice(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// benchM, benchN, benchK is the product the benchmarks time: the BERT-base
// FFN's x·Wᵀ at batch 8 × seq 128, the GEMM rate the dense layers see.
const benchM, benchN, benchK = 1024, 3072, 768

// BenchmarkSgemm measures it with the kernels in use.
func BenchmarkSgemm(b *testing.B) {
	m, n, k := benchM, benchN, benchK
	rng := rand.New(rand.NewPCG(1, 2))
	x, w, y := randSlice(rng, m*k), randSlice(rng, n*k), make([]float32, m*n)
	for b.Loop() {
		Sgemm(false, true, m, n, k, 1, x, k, w, k, 0, y, n)
	}
	b.ReportMetric(GemmFlops(m, n, k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	b.Log(Describe())
}
