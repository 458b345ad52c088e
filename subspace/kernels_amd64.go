//go:build amd64 && !purego

package subspace

import "golang.org/x/sys/cpu"

// useSIMD selects the AVX2/FMA loops of kernels_amd64.s. The GEMVs are
// memory-bound only when vectorised: the plain Go loops run at about a
// third of memory bandwidth with a bfloat16 basis, whose widening then
// costs more than the load.
var useSIMD = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func expand4F32(out *float32, r0, r1, r2, r3 *float32, n int, a *[4]float32)

//go:noescape
func expand4BF16(out *float32, r0, r1, r2, r3 *uint16, n int, a *[4]float32)

//go:noescape
func project4F32(lanes *[32]float32, gv *float32, r0, r1, r2, r3 *float32, n int)

//go:noescape
func project4BF16(lanes *[32]float32, gv *float32, r0, r1, r2, r3 *uint16, n int)
