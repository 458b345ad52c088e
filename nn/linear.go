package nn

import "github.com/subtune/subtune/blas"

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
	ParallelFor(cols, n, func(lo, hi int) {
		for i := 0; i < n; i++ {
			row := x[i*cols+lo : i*cols+hi]
			d := dst[lo:hi]
			for j, v := range row {
				d[j] += v
			}
		}
	})
}
