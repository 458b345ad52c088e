//go:build !amd64 || purego

package nn

// useAVX2 is false: the scalar Go loops do all the work.
const useAVX2 = false

func noSIMD() { panic("nn: no SIMD kernels in this build") }

func geluForwardAVX2(out, aux, x *float32, n int)       { noSIMD() }
func geluBackwardAVX2(dx, dout, x, aux *float32, n int) { noSIMD() }

func maxKeepAVX2(x *float32, keep *bool, n int) float32 { noSIMD(); return 0 }

func expKeepAVX2(out, x *float32, keep *bool, n int, shift float32) float32 {
	noSIMD()
	return 0
}

func expSumAVX2(out, x *float32, n int, shift float32) float64 { noSIMD(); return 0 }
func maxAVX2(x *float32, n int) float32                        { noSIMD(); return 0 }
func scaleAVX2(x *float32, n int, s float32)                   { noSIMD() }
func dotAVX2(a, b *float32, n int) float32                     { noSIMD(); return 0 }

func softmaxBackwardAVX2(ds, dp, p *float32, n int, dot float32) { noSIMD() }

func sumF64AVX2(x *float32, n int) float64                 { noSIMD(); return 0 }
func sumSqDevAVX2(x *float32, n int, mean float64) float64 { noSIMD(); return 0 }

func layerNormAffineAVX2(out, x, w, b *float32, n int, mean, rstd float32) { noSIMD() }

func layerNormBackwardSumsAVX2(pw, pb, gr, x, w *float32, n int, mean, rstd float32) (sumD, sumDN float32) {
	noSIMD()
	return 0, 0
}

func layerNormBackwardDxAVX2(dx, gr, x, w *float32, n int, mean, rstd, meanD, meanDN float32) {
	noSIMD()
}

// useAVX512Dropout is false: DropoutAt's Go loop does all the work.
const useAVX512Dropout = false

func dropoutAVX512(out, x *float32, mask *uint8, n int, seed, base, threshold uint64, scale float32) {
	noSIMD()
}

func dropoutBackwardAVX512(dx, dout *float32, mask *uint8, n int, scale float32) { noSIMD() }
