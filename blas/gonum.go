package blas

import (
	gblas "gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// gonumImpl is gonum's pure-Go BLAS: the whole implementation in a build
// without OpenBLAS, and the last resort of one whose OpenBLAS kernels all
// computed wrong products at start-up.
var gonumImpl gonum.Implementation

func gonumSgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gonumImpl.Sgemm(gonumTrans(transA), gonumTrans(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func gonumDgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	gonumImpl.Dgemm(gonumTrans(transA), gonumTrans(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func gonumSgemvT(m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) {
	gonumImpl.Sgemv(gblas.Trans, m, n, alpha, a, lda, x, 1, beta, y, 1)
}

func gonumTrans(t bool) gblas.Transpose {
	if t {
		return gblas.Trans
	}
	return gblas.NoTrans
}
