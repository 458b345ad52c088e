package safetensors

import (
	"runtime"
	"sync"
)

// parallelMin is the element count below which conversions stay on the
// calling goroutine: under it, goroutine start-up costs more than it saves
// (measured with BenchmarkConvert*).
const parallelMin = 1 << 18

// parallel runs fn over [0,n) split into up to GOMAXPROCS contiguous ranges.
func parallel(n int, fn func(lo, hi int)) {
	if !worthParallel(n) {
		fn(0, n)
		return
	}
	p := runtime.GOMAXPROCS(0)
	if max := n / (parallelMin / 4); p > max {
		p = max
	}
	var wg sync.WaitGroup
	step := (n + p - 1) / p
	for lo := 0; lo < n; lo += step {
		hi := min(lo+step, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}

// worthParallel reports whether parallel would split n elements.
func worthParallel(n int) bool { return n >= parallelMin && runtime.GOMAXPROCS(0) > 1 }
