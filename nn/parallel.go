package nn

import "sync"

// minWorkPerGoroutine is the number of scalar operations below which a
// goroutine costs more than it saves (a spawn is about a microsecond).
const minWorkPerGoroutine = 32 << 10

// ParallelFor calls f on contiguous chunks that together cover [0, n), on up
// to Workers() goroutines. costPerItem is a rough count of scalar operations
// per item; small jobs run on the calling goroutine. The chunking depends only
// on n, costPerItem and Workers(), which keeps reductions deterministic.
func ParallelFor(n, costPerItem int, f func(lo, hi int)) {
	ParallelForIndexed(n, costPerItem, func(_, lo, hi int) { f(lo, hi) })
}

// ParallelForIndexed is ParallelFor that also passes the chunk's index, in
// [0, Chunks(n, costPerItem)), so each chunk can own a scratch slot.
func ParallelForIndexed(n, costPerItem int, f func(chunk, lo, hi int)) {
	chunks := Chunks(n, costPerItem)
	if chunks <= 1 {
		if n > 0 {
			f(0, 0, n)
		}
		return
	}
	var wg sync.WaitGroup
	size := (n + chunks - 1) / chunks
	for c := 0; c < chunks; c++ {
		lo, hi := c*size, min((c+1)*size, n)
		if lo >= hi {
			break
		}
		if c == chunks-1 {
			f(c, lo, hi)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(c, lo, hi)
		}()
	}
	wg.Wait()
}

// Chunks is the number of chunks ParallelFor uses for n items.
func Chunks(n, costPerItem int) int {
	w := Workers()
	if w <= 1 || n <= 1 {
		return 1
	}
	byWork := n * max(costPerItem, 1) / minWorkPerGoroutine
	return max(1, min(w, n, byWork))
}
