package nn

// Whole-vector reductions and updates for the optimiser's passes over every
// gradient: the AVX2 loops of kernels_amd64.s where there are any.

// SumSquares is Σ x² accumulated in float64, in eight lanes with AVX2 and
// one otherwise; each square is exact, only the sums round.
func SumSquares(x []float32) float64 {
	var s float64
	k := 0
	if useAVX2 {
		if k = len(x) &^ 7; k > 0 {
			s = sumSqDevAVX2(&x[0], k, 0)
		}
	}
	for _, v := range x[k:] {
		s += float64(v) * float64(v)
	}
	return s
}

// Scale multiplies x by s in place.
func Scale(x []float32, s float32) {
	if useAVX2 {
		scaleSIMD(x, s)
		return
	}
	scaleRow(x, s)
}
