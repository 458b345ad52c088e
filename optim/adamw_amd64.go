//go:build amd64 && !purego

package optim

import "golang.org/x/sys/cpu"

// useAVX selects adamwAVX: the update is a few loads, multiplies, a square
// root and a division per number, which the compiler does not vectorise,
// and on BERT-base it is a tenth of a bf16 training step in scalar Go.
var useAVX = cpu.X86.HasAVX

// adamwAVX is adamwScalar on n numbers, n a multiple of 8, eight at a
// time, with the same operations in the same order: bit for bit the same.
//
//go:noescape
func adamwAVX(p, grad, m, v *float32, n int, k *adamwConsts)

func adamwUpdate(p, g, m, v []float32, k *adamwConsts) {
	n := len(p) &^ 7
	if useAVX && n > 0 {
		_, _, _ = g[n-1], m[n-1], v[n-1]
		adamwAVX(&p[0], &g[0], &m[0], &v[0], n, k)
	}
	adamwScalar(p[n:], g[n:], m[n:], v[n:], k)
}
