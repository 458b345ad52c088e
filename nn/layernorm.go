package nn

import "math"

// LayerNormForward normalises each row of the n×dim input x over its last
// dimension and applies weight and bias: out = (x−μ)/√(σ²+eps)·w + b, with the
// biased variance, as torch.nn.LayerNorm. mean and rstd (length n) keep each
// row's μ and 1/√(σ²+eps) for the backward pass. Statistics are accumulated
// in float64 so rows of large magnitude keep float32 accuracy.
func LayerNormForward(out, mean, rstd, x, w, b []float32, n, dim int, eps float32) {
	ParallelFor(n, 4*dim, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := x[i*dim : (i+1)*dim]
			var s float64
			for _, v := range row {
				s += float64(v)
			}
			m := s / float64(dim)
			var ss float64
			for _, v := range row {
				d := float64(v) - m
				ss += d * d
			}
			r := 1 / math.Sqrt(ss/float64(dim)+float64(eps))
			mean[i], rstd[i] = float32(m), float32(r)
			o := out[i*dim : (i+1)*dim]
			mf, rf := float32(m), float32(r)
			for j, v := range row {
				o[j] = (v-mf)*rf*w[j] + b[j]
			}
		}
	})
}

// LayerNormBackward computes dx (overwritten) from dout and accumulates
// dw and db. scratch must hold 2·dim floats per chunk of
// Chunks(n, 6·dim); LayerNormScratch gives the size.
func LayerNormBackward(dx, dw, db, dout, x, mean, rstd, w []float32, n, dim int, scratch []float32) {
	chunks := Chunks(n, 6*dim)
	partial := scratch[:2*dim*chunks]
	clear(partial)
	ParallelForIndexed(n, 6*dim, func(c, lo, hi int) {
		pw := partial[2*dim*c : 2*dim*c+dim]
		pb := partial[2*dim*c+dim : 2*dim*(c+1)]
		for i := lo; i < hi; i++ {
			row := x[i*dim : (i+1)*dim]
			g := dout[i*dim : (i+1)*dim]
			m, r := mean[i], rstd[i]
			// dnorm = g·w; dx = r·(dnorm − mean(dnorm) − norm·mean(dnorm·norm))
			var sumD, sumDN float32
			for j, v := range row {
				norm := (v - m) * r
				dn := g[j] * w[j]
				sumD += dn
				sumDN += dn * norm
				pw[j] += g[j] * norm
				pb[j] += g[j]
			}
			meanD := sumD / float32(dim)
			meanDN := sumDN / float32(dim)
			d := dx[i*dim : (i+1)*dim]
			for j, v := range row {
				norm := (v - m) * r
				d[j] = r * (g[j]*w[j] - meanD - norm*meanDN)
			}
		}
	})
	for c := 0; c < chunks; c++ {
		pw := partial[2*dim*c : 2*dim*c+dim]
		pb := partial[2*dim*c+dim : 2*dim*(c+1)]
		for j := 0; j < dim; j++ {
			dw[j] += pw[j]
			db[j] += pb[j]
		}
	}
}

// LayerNormScratch is the scratch length LayerNormBackward needs for n rows.
func LayerNormScratch(n, dim int) int { return 2 * dim * Chunks(n, 6*dim) }
