package nn

import (
	"math/rand/v2"
	"testing"
)

// Scalar and SIMD kernels side by side, single-threaded, on BERT-base
// shapes small enough to stay in L2: run with
//
//	go test ./nn -run '^$' -bench 'GELU|Softmax|LayerNorm|CrossEntropyRow' -benchtime 200ms
//
// Elements per second is the unit to compare across kernels.

type kernelImpl[F any] struct {
	name string
	f    F
	simd bool
}

// benchKernels runs body once per implementation as a sub-benchmark and
// reports elements processed per second, elems per call.
func benchKernels[F any](b *testing.B, impls []kernelImpl[F], elems int, body func(F)) {
	for _, k := range impls {
		b.Run(k.name, func(b *testing.B) {
			if k.simd {
				requireAVX2(b)
			}
			for b.Loop() {
				body(k.f)
			}
			b.ReportMetric(float64(elems)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Melem/s")
		})
	}
}

func benchInput(n int, scale float64) []float32 {
	rng := rand.New(rand.NewPCG(7, uint64(n)))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(scale * rng.NormFloat64())
	}
	return x
}

const benchN = 32 << 10 // a chunk of the 1024×3072 FFN activation

func BenchmarkGELUForward(b *testing.B) {
	x := benchInput(benchN, 1)
	out, aux := make([]float32, benchN), make([]float32, benchN)
	benchKernels(b, []kernelImpl[func(out, aux, x []float32)]{
		{"scalar", geluForward, false}, {"simd", geluForwardSIMD, true},
	}, benchN, func(f func(out, aux, x []float32)) { f(out, aux, x) })
}

func BenchmarkGELUBackward(b *testing.B) {
	x, dout := benchInput(benchN, 1), benchInput(benchN, 1)
	out, aux, dx := make([]float32, benchN), make([]float32, benchN), make([]float32, benchN)
	geluForward(out, aux, x)
	benchKernels(b, []kernelImpl[func(dx, dout, x, aux []float32)]{
		{"scalar", geluBackward, false}, {"simd", geluBackwardSIMD, true},
	}, benchN, func(f func(dx, dout, x, aux []float32)) { f(dx, dout, x, aux) })
}

// One head's T×T attention block at T = 128, the last 16 keys padding.
func BenchmarkSoftmaxRows(b *testing.B) {
	const t = 128
	s := benchInput(t*t, 3)
	p := make([]float32, t*t)
	keep := make([]bool, t)
	for j := range keep {
		keep[j] = j < t-16
	}
	benchKernels(b, []kernelImpl[func(out, in []float32, keep []bool)]{
		{"scalar", softmaxRow, false}, {"simd", softmaxRowSIMD, true},
	}, t*t, func(f func(out, in []float32, keep []bool)) {
		for r := 0; r < t; r++ {
			f(p[r*t:(r+1)*t], s[r*t:(r+1)*t], keep)
		}
	})
}

func BenchmarkSoftmaxBackwardRows(b *testing.B) {
	const t = 128
	p, dp := benchInput(t*t, 0.01), benchInput(t*t, 1)
	ds := make([]float32, t*t)
	benchKernels(b, []kernelImpl[func(dr, gr, pr []float32)]{
		{"scalar", softmaxBackwardRow, false}, {"simd", softmaxBackwardRowSIMD, true},
	}, t*t, func(f func(dr, gr, pr []float32)) {
		for r := 0; r < t; r++ {
			f(ds[r*t:(r+1)*t], dp[r*t:(r+1)*t], p[r*t:(r+1)*t])
		}
	})
}

// 32 rows of hidden size 768.
func BenchmarkLayerNormForward(b *testing.B) {
	const rows, dim = 32, 768
	x, w, bias := benchInput(rows*dim, 2), benchInput(dim, 1), benchInput(dim, 1)
	out := make([]float32, rows*dim)
	benchKernels(b, []kernelImpl[func(out, x, w, b []float32, eps float32) (float32, float32)]{
		{"scalar", layerNormRow, false}, {"simd", layerNormRowSIMD, true},
	}, rows*dim, func(f func(out, x, w, b []float32, eps float32) (float32, float32)) {
		for r := 0; r < rows; r++ {
			f(out[r*dim:(r+1)*dim], x[r*dim:(r+1)*dim], w, bias, 1e-12)
		}
	})
}

func BenchmarkLayerNormBackward(b *testing.B) {
	const rows, dim = 32, 768
	x, w, g := benchInput(rows*dim, 2), benchInput(dim, 1), benchInput(rows*dim, 1)
	dx, pw, pb := make([]float32, rows*dim), make([]float32, dim), make([]float32, dim)
	benchKernels(b, []kernelImpl[func(dx, pw, pb, g, x, w []float32, m, r float32)]{
		{"scalar", layerNormBackwardRow, false}, {"simd", layerNormBackwardRowSIMD, true},
	}, rows*dim, func(f func(dx, pw, pb, g, x, w []float32, m, r float32)) {
		for r := 0; r < rows; r++ {
			f(dx[r*dim:(r+1)*dim], pw, pb, g[r*dim:(r+1)*dim], x[r*dim:(r+1)*dim], w, 0.1, 0.5)
		}
	})
}

// One masked-LM row over the 30522-token vocabulary: max, exp and sum,
// scale, as CrossEntropyForward does with a gradient.
func BenchmarkCrossEntropyRow(b *testing.B) {
	const c = 30522
	x, d := benchInput(c, 3), make([]float32, c)
	type row struct {
		max   func([]float32) float32
		exp   func(out, x []float32, shift float32) float64
		scale func([]float32, float32)
	}
	benchKernels(b, []kernelImpl[row]{
		{"scalar", row{rowMax, expSum, scaleRow}, false},
		{"simd", row{rowMaxSIMD, expSumSIMD, scaleSIMD}, true},
	}, c, func(f row) {
		m := f.max(x)
		sum := f.exp(d, x, m)
		f.scale(d, float32(1/sum))
	})
}
