//go:build amd64 && !purego

package nn

import "golang.org/x/sys/cpu"

// useAVX2 selects the AVX2/FMA loops of kernels_amd64.s (wrapped in
// kernels.go). GELU, softmax and LayerNorm are a quarter of a BERT layer's
// time in scalar Go, nearly all of it erf, exp and row reductions that the
// compiler does not vectorise.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func geluForwardAVX2(out, aux, x *float32, n int)

//go:noescape
func geluBackwardAVX2(dx, dout, x, aux *float32, n int)

//go:noescape
func maxKeepAVX2(x *float32, keep *bool, n int) float32

//go:noescape
func expKeepAVX2(out, x *float32, keep *bool, n int, shift float32) float32

//go:noescape
func expSumAVX2(out, x *float32, n int, shift float32) float64

//go:noescape
func maxAVX2(x *float32, n int) float32

//go:noescape
func scaleAVX2(x *float32, n int, s float32)

//go:noescape
func dotAVX2(a, b *float32, n int) float32

//go:noescape
func softmaxBackwardAVX2(ds, dp, p *float32, n int, dot float32)

//go:noescape
func sumF64AVX2(x *float32, n int) float64

//go:noescape
func sumSqDevAVX2(x *float32, n int, mean float64) float64

//go:noescape
func layerNormAffineAVX2(out, x, w, b *float32, n int, mean, rstd float32)

//go:noescape
func layerNormBackwardSumsAVX2(pw, pb, gr, x, w *float32, n int, mean, rstd float32) (sumD, sumDN float32)

//go:noescape
func layerNormBackwardDxAVX2(dx, gr, x, w *float32, n int, mean, rstd, meanD, meanDN float32)
