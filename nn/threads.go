package nn

import (
	"runtime"
	"sync/atomic"

	"github.com/subtune/subtune/blas"
)

// workers is the count SetThreads set; 0 until it is called.
var workers atomic.Int64

// SetThreads sets how many cores the engine uses: n goroutines for the
// kernels ParallelFor splits and n per GEMM (blas.SetThreads); n <= 0
// means all cores. Both splits decide the order of floating-point sums, so
// two runs are bit-identical only with the same n. It returns the count
// set. GOMAXPROCS is left alone: only a program may change it.
func SetThreads(n int) int {
	if n <= 0 {
		n = runtime.NumCPU()
	}
	workers.Store(int64(n))
	blas.SetThreads(n)
	return n
}

// Workers is how many goroutines ParallelFor splits work across: the
// count of SetThreads, or GOMAXPROCS until SetThreads is called.
func Workers() int {
	if n := workers.Load(); n > 0 {
		return int(n)
	}
	return runtime.GOMAXPROCS(0)
}
