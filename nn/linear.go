package nn

import (
	"sync"

	"github.com/subtune/subtune/blas"
)

// Weight is a dense layer's weight matrix, outDim×inDim as PyTorch lays it
// out, and, under bf16 mixed precision, its bfloat16 rounding, made once per
// optimiser step by the model that owns it.
type Weight struct {
	F32  []float32
	BF16 *blas.BF16Matrix // nil: the layer multiplies in float32
}

// LinearForward computes out = in·Wᵀ + b, as torch.nn.Linear does.
// in is n×inDim, b is outDim or nil, out is n×outDim. With w.BF16 set the
// product takes bfloat16 inputs and accumulates in float32, as under
// PyTorch's CPU autocast; out stays float32.
func LinearForward(out, in []float32, w Weight, b []float32, n, inDim, outDim int) {
	if w.BF16 != nil && b != nil {
		mustBF16(blas.GemmBF16WBias(false, true, n, outDim, inDim, in, inDim, w.BF16, b, out, outDim))
		return
	}
	beta := float32(0)
	if b != nil {
		ParallelFor(n, outDim, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				copy(out[i*outDim:(i+1)*outDim], b[:outDim])
			}
		})
		beta = 1
	}
	if w.BF16 != nil {
		mustBF16(blas.GemmBF16W(false, true, n, outDim, inDim, 1, in, inDim, w.BF16, beta, out, outDim))
		return
	}
	blas.Sgemm(false, true, n, outDim, inDim, 1, in, inDim, w.F32, inDim, beta, out, outDim)
}

// LinearForwardRounded is LinearForward under bf16 mixed precision with
// the input rounded already, for an input that feeds several layers (the
// query, key and value projections): w.BF16 must be set.
func LinearForwardRounded(out []float32, in *blas.BF16Matrix, w Weight, b []float32, n, inDim, outDim int) {
	mustBF16(blas.GemmBF16R(false, true, n, outDim, inDim, 1, in, w.BF16, b, 0, out, outDim))
}

// LinearBackward accumulates dW += doutᵀ·in and db += Σrows dout, and
// computes din = dout·W — added to din when accumulate is set, since a layer
// input feeding several linears (query, key, value) sums their gradients.
// din, dW or db may be nil to skip them. With w.BF16 set both products
// take their inputs (dout, W, in) rounded to bfloat16, as autocast's
// backward does, each rounded once.
func LinearBackward(din, dW, db, dout, in []float32, w Weight, n, inDim, outDim int, accumulate bool) {
	if w.BF16 != nil {
		var inR *blas.BF16Matrix
		if dW != nil {
			inR = blas.RoundTemporary(n, inDim, in, inDim)
			defer inR.Release()
		}
		LinearBackwardRounded(din, dW, db, dout, inR, w, n, inDim, outDim, accumulate)
		return
	}
	if din != nil {
		beta := float32(0)
		if accumulate {
			beta = 1
		}
		blas.Sgemm(false, false, n, inDim, outDim, 1, dout, outDim, w.F32, inDim, beta, din, inDim)
	}
	if dW != nil {
		blas.Sgemm(true, false, outDim, inDim, n, 1, dout, outDim, in, inDim, 1, dW, inDim)
	}
	if db != nil {
		ColumnSumInto(db, dout, n, outDim)
	}
}

// LinearBackwardRounded is LinearBackward under bf16 mixed precision with
// the layer's input rounded already (nil when dW is): w.BF16 must be set.
// dout is rounded once for both products.
func LinearBackwardRounded(din, dW, db, dout []float32, in *blas.BF16Matrix, w Weight, n, inDim, outDim int, accumulate bool) {
	if din != nil || dW != nil {
		doutR := blas.RoundTemporary(n, outDim, dout, outDim)
		defer doutR.Release()
		if din != nil {
			beta := float32(0)
			if accumulate {
				beta = 1
			}
			mustBF16(blas.GemmBF16R(false, false, n, inDim, outDim, 1, doutR, w.BF16, nil, beta, din, inDim))
		}
		if dW != nil {
			mustBF16(blas.GemmBF16R(true, false, outDim, inDim, n, 1, doutR, in, nil, 1, dW, inDim))
		}
	}
	if db != nil {
		ColumnSumInto(db, dout, n, outDim)
	}
}

// MatmulSerial computes C = alpha·op(A)·op(B) + beta·C on the calling
// goroutine: attention's per-head products. In float32 both operands must
// be float32; with bf16 set the product takes bfloat16 inputs, rounding
// the float32 ones, and accumulates in float32.
func MatmulSerial(bf16, transA, transB bool, m, n, k int, alpha float32, a, b blas.Operand, beta float32, c []float32, ldc int) {
	if bf16 {
		mustBF16(blas.GemmBF16Serial(transA, transB, m, n, k, alpha, a, b, beta, c, ldc))
		return
	}
	if a.Bits != nil || b.Bits != nil {
		panic("nn: a float32 product given a bfloat16 operand")
	}
	blas.SgemmSerial(transA, transB, m, n, k, alpha, a.F32, a.LD, b.F32, b.LD, beta, c, ldc)
}

// mustBF16 stops on a failed bf16 GEMM. A model turns bf16 on only after
// blas.BF16Check has passed, so the GEMM's error can only be an internal
// failure of oneDNN, after which no result can be trusted.
func mustBF16(err error) {
	if err != nil {
		panic("nn: bf16 GEMM failed after blas.BF16Check passed: " + err.Error())
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
