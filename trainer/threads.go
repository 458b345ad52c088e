package trainer

import (
	"runtime"

	"github.com/subtune/subtune/blas"
)

// SetThreads makes the process use n threads: n goroutines for the kernels
// split by nn.ParallelFor and n OpenBLAS threads per GEMM; n <= 0 means all
// cores. Both splits decide the order of floating-point sums, so two runs
// are bit-identical only with the same n.
func SetThreads(n int) int {
	if n <= 0 {
		n = runtime.NumCPU()
	}
	runtime.GOMAXPROCS(n)
	blas.SetThreads(n)
	return n
}
