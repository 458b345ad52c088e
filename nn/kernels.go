package nn

import "math"

// The xxxSIMD functions below are the AVX2/FMA counterparts of the scalar
// kernels named without the suffix (geluForward, softmaxRow, layerNormRow,
// ...), with the same arguments. Callers use them only when useAVX2 is set;
// in other builds the assembly stubs panic.
//
// The element-wise GELU kernels take any length: the assembly finishes a
// slice with masked loads and stores, so an element's result does not depend
// on where ParallelFor cut the slice. The row kernels hand the assembly the
// largest multiple of 8 and finish the row in Go; rows are never cut, so
// which elements take the scalar path depends only on the row length.

// geluForwardSIMD is geluForward: out = x·Φ(x), aux = Φ(x).
func geluForwardSIMD(out, aux, x []float32) {
	n := len(x)
	if n == 0 {
		return
	}
	out, aux = out[:n], aux[:n]
	geluForwardAVX2(&out[0], &aux[0], &x[0], n)
}

// geluBackwardSIMD is geluBackward: dx = dout·(Φ(x) + x·φ(x)).
func geluBackwardSIMD(dx, dout, x, aux []float32) {
	n := len(x)
	if n == 0 {
		return
	}
	dx, dout, aux = dx[:n], dout[:n], aux[:n]
	geluBackwardAVX2(&dx[0], &dout[0], &x[0], &aux[0], n)
}

// softmaxRowSIMD is softmaxRow: softmax of in over the kept keys. Its row sum
// runs in eight lanes rather than left to right, so it rounds differently.
func softmaxRowSIMD(out, in []float32, keep []bool) {
	n := len(in)
	out, keep = out[:n], keep[:n]
	k := n &^ 7
	m := float32(math.Inf(-1))
	if k > 0 {
		m = maxKeepAVX2(&in[0], &keep[0], k)
	}
	for j := k; j < n; j++ {
		if keep[j] && in[j] > m {
			m = in[j]
		}
	}
	var sum float32
	if k > 0 {
		sum = expKeepAVX2(&out[0], &in[0], &keep[0], k, m)
	}
	for j := k; j < n; j++ {
		if keep[j] {
			e := Exp(in[j] - m)
			out[j] = e
			sum += e
		} else {
			out[j] = 0
		}
	}
	scaleSIMD(out, 1/sum)
}

// softmaxBackwardRowSIMD is softmaxBackwardRow: dr = p ⊙ (g − p·g).
func softmaxBackwardRowSIMD(dr, gr, pr []float32) {
	n := len(pr)
	dr, gr = dr[:n], gr[:n]
	k := n &^ 7
	var dot float32
	if k > 0 {
		dot = dotAVX2(&pr[0], &gr[0], k)
	}
	for j := k; j < n; j++ {
		dot += pr[j] * gr[j]
	}
	if k > 0 {
		softmaxBackwardAVX2(&dr[0], &gr[0], &pr[0], k, dot)
	}
	for j := k; j < n; j++ {
		dr[j] = pr[j] * (gr[j] - dot)
	}
}

// rowMaxSIMD is rowMax. The assembly skips NaNs where Go's max keeps them;
// either way a NaN logit turns the row's loss and gradient into NaN, since
// it reaches the exponential sum.
func rowMaxSIMD(row []float32) float32 {
	k := len(row) &^ 7
	m := row[0]
	if k > 0 {
		m = maxAVX2(&row[0], k)
	}
	for _, v := range row[k:] {
		m = max(m, v)
	}
	return m
}

// expSumSIMD is expSum: Σⱼ e^(xⱼ−shift) in float64, the terms written to out
// unless it is nil.
func expSumSIMD(out, x []float32, shift float32) float64 {
	if out == nil {
		// The assembly always stores its terms: give it a stack buffer.
		var buf [512]float32
		var sum float64
		for lo := 0; lo < len(x); lo += len(buf) {
			hi := min(lo+len(buf), len(x))
			sum += expSumSIMD(buf[:hi-lo], x[lo:hi], shift)
		}
		return sum
	}
	n := len(x)
	out = out[:n]
	k := n &^ 7
	var sum float64
	if k > 0 {
		sum = expSumAVX2(&out[0], &x[0], k, shift)
	}
	for j := k; j < n; j++ {
		e := Exp(x[j] - shift)
		out[j] = e
		sum += float64(e)
	}
	return sum
}

// scaleSIMD is scaleRow: x *= s.
func scaleSIMD(x []float32, s float32) {
	k := len(x) &^ 7
	if k > 0 {
		scaleAVX2(&x[0], k, s)
	}
	for j := k; j < len(x); j++ {
		x[j] *= s
	}
}

// layerNormRowSIMD is layerNormRow. The statistics stay in float64, summed
// in eight lanes instead of one.
func layerNormRowSIMD(out, x, w, b []float32, eps float32) (mean, rstd float32) {
	dim := len(x)
	out, w, b = out[:dim], w[:dim], b[:dim]
	k := dim &^ 7
	var s float64
	if k > 0 {
		s = sumF64AVX2(&x[0], k)
	}
	for _, v := range x[k:] {
		s += float64(v)
	}
	m := s / float64(dim)
	var ss float64
	if k > 0 {
		ss = sumSqDevAVX2(&x[0], k, m)
	}
	for _, v := range x[k:] {
		d := float64(v) - m
		ss += d * d
	}
	r := 1 / math.Sqrt(ss/float64(dim)+float64(eps))
	mf, rf := float32(m), float32(r)
	if k > 0 {
		layerNormAffineAVX2(&out[0], &x[0], &w[0], &b[0], k, mf, rf)
	}
	for j := k; j < dim; j++ {
		out[j] = (x[j]-mf)*rf*w[j] + b[j]
	}
	return mf, rf
}

// layerNormBackwardRowSIMD is layerNormBackwardRow.
func layerNormBackwardRowSIMD(dx, pw, pb, g, x, w []float32, m, r float32) {
	dim := len(x)
	dx, pw, pb, g, w = dx[:dim], pw[:dim], pb[:dim], g[:dim], w[:dim]
	k := dim &^ 7
	var sumD, sumDN float32
	if k > 0 {
		sumD, sumDN = layerNormBackwardSumsAVX2(&pw[0], &pb[0], &g[0], &x[0], &w[0], k, m, r)
	}
	for j := k; j < dim; j++ {
		norm := (x[j] - m) * r
		dn := g[j] * w[j]
		sumD += dn
		sumDN += dn * norm
		pw[j] += g[j] * norm
		pb[j] += g[j]
	}
	meanD := sumD / float32(dim)
	meanDN := sumDN / float32(dim)
	if k > 0 {
		layerNormBackwardDxAVX2(&dx[0], &g[0], &x[0], &w[0], k, m, r, meanD, meanDN)
	}
	for j := k; j < dim; j++ {
		norm := (x[j] - m) * r
		dx[j] = r * (g[j]*w[j] - meanD - norm*meanDN)
	}
}
