package blas

import (
	"fmt"
	"runtime"
	"sync"
)

// threads is how many goroutines one large GEMM is split across. OpenBLAS
// itself always runs single-threaded (see openblas.go): splitting here keeps
// every core under the Go scheduler, so no BLAS worker thread spins on a
// core that the element-wise kernels between two GEMMs need.
var threads = runtime.NumCPU()

// SetThreads sets how many cores one GEMM uses; n <= 0 means all.
func SetThreads(n int) {
	if n <= 0 {
		n = runtime.NumCPU()
	}
	threads = n
}

// Threads reports how many cores one GEMM uses.
func Threads() int { return threads }

// minFlopsPerPart is the work below which splitting a GEMM costs more in
// goroutine hand-off and packing than it gains.
const minFlopsPerPart = 4 << 20

// Sgemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices, where
// op(X) is X or Xᵀ. op(A) is m×k, op(B) is k×n and C is m×n; lda, ldb and ldc
// are the row strides of A, B and C as stored. Large products are split
// across Threads() cores by rows (or columns) of C.
//
// It panics when a slice is too short for the shape it is given: that is a
// programming error inside subtune, never a consequence of user input.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if !check(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, beta) {
		return
	}
	parts := min(threads, int(GemmFlops(m, n, k)/minFlopsPerPart))
	if parts <= 1 {
		sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	var wg sync.WaitGroup
	if m >= n {
		size := (m + parts - 1) / parts
		for lo := 0; lo < m; lo += size {
			rows := min(size, m-lo)
			aOff := lo * lda
			if transA {
				aOff = lo
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				sgemm(transA, transB, rows, n, k, alpha, a[aOff:], lda, b, ldb, beta, c[lo*ldc:], ldc)
			}()
		}
	} else {
		size := (n + parts - 1) / parts
		for lo := 0; lo < n; lo += size {
			cols := min(size, n-lo)
			bOff := lo
			if transB {
				bOff = lo * ldb
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				sgemm(transA, transB, m, cols, k, alpha, a, lda, b[bOff:], ldb, beta, c[lo:], ldc)
			}()
		}
	}
	wg.Wait()
}

// SgemmSerial is Sgemm on the calling goroutine only, for callers that run
// many small products in parallel themselves (attention heads).
func SgemmSerial(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if !check(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, beta) {
		return
	}
	sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Dgemm is Sgemm in float64, on the calling goroutine: it serves the few
// products whose sums float32 cannot carry (the Gram matrices of subspace
// extraction), whose callers split the work themselves.
func Dgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if !check(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, beta) {
		return
	}
	dgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// check validates the shapes and handles the degenerate cases; it reports
// whether there is a product left to compute. A and B may be rounded to
// bfloat16.
func check[T float32 | float64, A, B float32 | float64 | uint16](transA, transB bool, m, n, k int, a []A, lda int, b []B, ldb int, c []T, ldc int, beta T) bool {
	if m == 0 || n == 0 {
		return false
	}
	ar, ac := stored(transA, m, k)
	br, bc := stored(transB, k, n)
	checkMatrix("A", a, ar, ac, lda)
	checkMatrix("B", b, br, bc, ldb)
	checkMatrix("C", c, m, n, ldc)
	if k == 0 {
		scale(c, m, n, ldc, beta)
		return false
	}
	return true
}

// stored is the shape, as stored, of a GEMM operand whose op(X) is
// rows×cols: X itself, or its transpose when trans.
func stored(trans bool, rows, cols int) (int, int) {
	if trans {
		return cols, rows
	}
	return rows, cols
}

func checkMatrix[T float32 | float64 | uint16](name string, x []T, rows, cols, ld int) {
	if rows == 0 || cols == 0 {
		return
	}
	if ld < cols || len(x) < (rows-1)*ld+cols {
		panic(fmt.Sprintf("blas: %s is %d×%d with stride %d but has only %d elements", name, rows, cols, ld, len(x)))
	}
}

func scale[T float32 | float64](c []T, m, n, ldc int, beta T) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		for j := range row {
			if beta == 0 {
				row[j] = 0
			} else {
				row[j] *= beta
			}
		}
	}
}

// GemmFlops is the number of floating-point operations of one m×n×k GEMM, the
// unit in which benchmarks report GFLOP/s.
func GemmFlops(m, n, k int) float64 { return 2 * float64(m) * float64(n) * float64(k) }

// SgemvT computes y = alpha·Aᵀ·x + beta·y for the row-major m×n matrix A
// (stride lda): the column sums of A when x is all ones, which is how bias
// gradients are reduced.
func SgemvT(m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) {
	if m == 0 || n == 0 {
		return
	}
	checkMatrix("A", a, m, n, lda)
	if len(x) < m || len(y) < n {
		panic(fmt.Sprintf("blas: SgemvT %d×%d with x of %d and y of %d", m, n, len(x), len(y)))
	}
	sgemvT(m, n, alpha, a, lda, x, beta, y)
}
