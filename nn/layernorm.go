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
			row, o := x[i*dim:(i+1)*dim], out[i*dim:(i+1)*dim]
			if useAVX2 {
				mean[i], rstd[i] = layerNormRowSIMD(o, row, w, b, eps)
			} else {
				mean[i], rstd[i] = layerNormRow(o, row, w, b, eps)
			}
		}
	})
}

// layerNormRow normalises one row in scalar Go and returns its μ and
// 1/√(σ²+eps): the reference for layerNormRowSIMD.
func layerNormRow(out, x, w, b []float32, eps float32) (mean, rstd float32) {
	dim := len(x)
	out, w, b = out[:dim], w[:dim], b[:dim]
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	m := s / float64(dim)
	var ss float64
	for _, v := range x {
		d := float64(v) - m
		ss += d * d
	}
	r := 1 / math.Sqrt(ss/float64(dim)+float64(eps))
	mf, rf := float32(m), float32(r)
	for j, v := range x {
		out[j] = (v-mf)*rf*w[j] + b[j]
	}
	return mf, rf
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
			d, g, row := dx[i*dim:(i+1)*dim], dout[i*dim:(i+1)*dim], x[i*dim:(i+1)*dim]
			if useAVX2 {
				layerNormBackwardRowSIMD(d, pw, pb, g, row, w, mean[i], rstd[i])
			} else {
				layerNormBackwardRow(d, pw, pb, g, row, w, mean[i], rstd[i])
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

// layerNormBackwardRow is one row of LayerNormBackward in scalar Go: it
// writes the row's dx and adds its share of dw and db into pw and pb.
func layerNormBackwardRow(dx, pw, pb, g, x, w []float32, m, r float32) {
	dim := len(x)
	dx, pw, pb, g, w = dx[:dim], pw[:dim], pb[:dim], g[:dim], w[:dim]
	// dnorm = g·w; dx = r·(dnorm − mean(dnorm) − norm·mean(dnorm·norm))
	var sumD, sumDN float32
	for j, v := range x {
		norm := (v - m) * r
		dn := g[j] * w[j]
		sumD += dn
		sumDN += dn * norm
		pw[j] += g[j] * norm
		pb[j] += g[j]
	}
	meanD := sumD / float32(dim)
	meanDN := sumDN / float32(dim)
	for j, v := range x {
		norm := (v - m) * r
		dx[j] = r * (g[j]*w[j] - meanD - norm*meanDN)
	}
}

// LayerNormScratch is the scratch length LayerNormBackward needs for n rows.
func LayerNormScratch(n, dim int) int { return 2 * dim * Chunks(n, 6*dim) }
