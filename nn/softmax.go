package nn

import "math"

// AttentionSoftmaxForward turns each of the rows×t score rows in s into
// probabilities in p, row by row, over the keys whose keep flag is set.
// keep holds one row of t flags per sequence, and rowsPerSeq consecutive
// score rows (heads × queries) share a sequence's flags. Masked keys get
// probability exactly zero, which is what adding float32's most negative
// value before softmax yields in HuggingFace's models.
func AttentionSoftmaxForward(p, s []float32, keep []bool, rows, t, rowsPerSeq int) {
	ParallelFor(rows, 8*t, func(lo, hi int) { AttentionSoftmaxRows(p, s, keep, lo, hi, t, rowsPerSeq) })
}

// AttentionSoftmaxRows is AttentionSoftmaxForward for rows [lo, hi) only, on
// the calling goroutine.
func AttentionSoftmaxRows(p, s []float32, keep []bool, lo, hi, t, rowsPerSeq int) {
	for r := lo; r < hi; r++ {
		k := keep[(r/rowsPerSeq)*t : (r/rowsPerSeq+1)*t]
		if useAVX2 {
			softmaxRowSIMD(p[r*t:(r+1)*t], s[r*t:(r+1)*t], k)
		} else {
			softmaxRow(p[r*t:(r+1)*t], s[r*t:(r+1)*t], k)
		}
	}
}

// softmaxRow is one row of AttentionSoftmaxRows in scalar Go: the reference
// for softmaxRowSIMD. out may alias in.
func softmaxRow(out, in []float32, keep []bool) {
	out, keep = out[:len(in)], keep[:len(in)]
	m := float32(math.Inf(-1))
	for j, v := range in {
		if keep[j] && v > m {
			m = v
		}
	}
	var sum float32
	for j, v := range in {
		if keep[j] {
			e := Exp(v - m)
			out[j] = e
			sum += e
		} else {
			out[j] = 0
		}
	}
	inv := 1 / sum
	for j := range out {
		out[j] *= inv
	}
}

// SoftmaxBackward computes ds = p ⊙ (dp − Σⱼ dpⱼpⱼ) row by row for rows×t
// matrices; ds may alias dp.
func SoftmaxBackward(ds, dp, p []float32, rows, t int) {
	ParallelFor(rows, 4*t, func(lo, hi int) { SoftmaxBackwardRows(ds, dp, p, lo, hi, t) })
}

// SoftmaxBackwardRows is SoftmaxBackward for rows [lo, hi) only, on the
// calling goroutine.
func SoftmaxBackwardRows(ds, dp, p []float32, lo, hi, t int) {
	for r := lo; r < hi; r++ {
		if useAVX2 {
			softmaxBackwardRowSIMD(ds[r*t:(r+1)*t], dp[r*t:(r+1)*t], p[r*t:(r+1)*t])
		} else {
			softmaxBackwardRow(ds[r*t:(r+1)*t], dp[r*t:(r+1)*t], p[r*t:(r+1)*t])
		}
	}
}

// softmaxBackwardRow is one row of SoftmaxBackwardRows in scalar Go.
func softmaxBackwardRow(dr, gr, pr []float32) {
	dr, gr = dr[:len(pr)], gr[:len(pr)]
	var dot float32
	for j, v := range pr {
		dot += v * gr[j]
	}
	for j, v := range pr {
		dr[j] = v * (gr[j] - dot)
	}
}
