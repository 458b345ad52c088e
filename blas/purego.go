//go:build !cgo || purego

package blas

import (
	"runtime"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// Backend names the GEMM implementation compiled in.
const Backend = "gonum"

var impl gonum.Implementation

func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ta, tb := blas.NoTrans, blas.NoTrans
	if transA {
		ta = blas.Trans
	}
	if transB {
		tb = blas.Trans
	}
	impl.Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SetThreads is a no-op for gonum, which parallelises over GOMAXPROCS itself.
func SetThreads(n int) {}

// Threads reports how many threads one GEMM may use.
func Threads() int { return runtime.GOMAXPROCS(0) }

// CoreName is the kernel family in use.
func CoreName() string { return "gonum" }
