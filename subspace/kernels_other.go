//go:build !amd64 || purego

package subspace

// useSIMD is false: the plain Go loops of kernels.go do all the work.
const useSIMD = false

func expand4F32(out *float32, r0, r1, r2, r3 *float32, n int, a *[4]float32) {
	panic("subspace: no SIMD kernels in this build")
}

func expand4BF16(out *float32, r0, r1, r2, r3 *uint16, n int, a *[4]float32) {
	panic("subspace: no SIMD kernels in this build")
}

func project4F32(lanes *[32]float32, gv *float32, r0, r1, r2, r3 *float32, n int) {
	panic("subspace: no SIMD kernels in this build")
}

func project4BF16(lanes *[32]float32, gv *float32, r0, r1, r2, r3 *uint16, n int) {
	panic("subspace: no SIMD kernels in this build")
}
