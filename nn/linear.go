package nn

import (
	"sync"

	"github.com/subtune/subtune/blas"
)

// LinearForward computes out = in·Wᵀ + b, as torch.nn.Linear does.
// in is n×inDim, w is outDim×inDim (PyTorch's layout), b is outDim or nil,
// out is n×outDim.
func LinearForward(out, in, w, b []float32, n, inDim, outDim int) {
	beta := float32(0)
	if b != nil {
		ParallelFor(n, outDim, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				copy(out[i*outDim:(i+1)*outDim], b[:outDim])
			}
		})
		beta = 1
	}
	blas.Sgemm(false, true, n, outDim, inDim, 1, in, inDim, w, inDim, beta, out, outDim)
}

// LinearBackward accumulates dW += doutᵀ·in and db += Σrows dout, and
// computes din = dout·W — added to din when accumulate is set, since a layer
// input feeding several linears (query, key, value) sums their gradients.
// din, dW or db may be nil to skip them.
func LinearBackward(din, dW, db, dout, in, w []float32, n, inDim, outDim int, accumulate bool) {
	if din != nil {
		beta := float32(0)
		if accumulate {
			beta = 1
		}
		blas.Sgemm(false, false, n, inDim, outDim, 1, dout, outDim, w, inDim, beta, din, inDim)
	}
	if dW != nil {
		blas.Sgemm(true, false, outDim, inDim, n, 1, dout, outDim, in, inDim, 1, dW, inDim)
	}
	if db != nil {
		ColumnSumInto(db, dout, n, outDim)
	}
}

// ColumnSumInto adds the column sums of the n×cols matrix x to dst. Workers
// own disjoint column ranges, so the order of additions never depends on
// scheduling.
func ColumnSumInto(dst, x []float32, n, cols int) {
	one := ones(n)
	ParallelFor(cols, n, func(lo, hi int) {
		blas.SgemvT(n, hi-lo, 1, x[lo:], cols, one, 1, dst[lo:hi])
	})
}

var (
	onesMu  sync.Mutex
	onesBuf []float32
)

// ones returns a read-only slice of n ones, grown as needed and shared.
func ones(n int) []float32 {
	onesMu.Lock()
	defer onesMu.Unlock()
	if len(onesBuf) < n {
		onesBuf = make([]float32, max(n, 2*len(onesBuf)))
		for i := range onesBuf {
			onesBuf[i] = 1
		}
	}
	return onesBuf[:n]
}
