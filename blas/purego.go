//go:build !cgo || purego

package blas

import "fmt"

// Backend names the GEMM implementation compiled in.
const Backend = "gonum"

func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gonumSgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func dgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	gonumDgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func sgemvT(m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) {
	gonumSgemvT(m, n, alpha, a, lda, x, beta, y)
}

// CoreName is the kernel family in use.
func CoreName() string { return "gonum" }

// Describe names the GEMM implementation and the threads one GEMM uses.
func Describe() string { return fmt.Sprintf("gonum (purego), %s", threadCount()) }

// Fallback is always nil here: gonum's kernels are the only ones, and
// portable Go.
func Fallback() error { return nil }

// MeasureFaster has nothing to compare without OpenBLAS.
func MeasureFaster() (*Speedup, error) { return nil, nil }
