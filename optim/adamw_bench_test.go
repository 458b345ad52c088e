package optim

import "testing"

func BenchmarkAdamWUpdate(b *testing.B) {
	const n = 16 << 20
	p, g, m, v := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range g {
		g[i] = float32(i%13) * 1e-3
	}
	k := adamwConsts{decay: 1, b1: 0.9, c1: 0.1, b2: 0.999, c2: 0.001, stepSize: 1e-4, invBC2: 20, eps: 1e-8}
	for _, c := range []struct {
		name string
		f    func(p, g, m, v []float32, k *adamwConsts)
	}{{"scalar", adamwScalar}, {"vector", adamwUpdate}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				c.f(p, g, m, v, &k)
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gnum/s")
		})
	}
}
