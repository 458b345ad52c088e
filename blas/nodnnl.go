//go:build nodnnl || !cgo || purego

package blas

// BF16Check reports why the bf16 GEMMs cannot run: this build has no oneDNN.
func BF16Check() error { return ErrNoBF16Build }

// BF16Describe names the bf16 GEMM implementation.
func BF16Describe() string { return "none (built without oneDNN)" }

func gemmBF16(transA, transB bool, m, n, k int, alpha float32, a operandA, w *BF16Matrix, bias []float32, beta float32, c []float32, ldc int) error {
	return ErrNoBF16Build
}

func runMatmul(transA, transB bool, m, n, k int, alpha float32, a []uint16, lda int, b []uint16, ldb int, bias []float32, beta float32, c []float32, ldc int) error {
	return ErrNoBF16Build
}
