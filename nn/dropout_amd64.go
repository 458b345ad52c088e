//go:build amd64 && !purego

package nn

import "golang.org/x/sys/cpu"

// useAVX512Dropout selects dropoutAVX512 and dropoutBackwardAVX512, which
// take sixteen elements a step: the forward hashes four groups at once with
// AVX-512DQ's 64-bit multiply, and both read or write the mask bytes with
// AVX-512BW. A dropout mask drawn one branch per element cost a twentieth
// of a pre-training step.
var useAVX512Dropout = cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL

//go:noescape
func dropoutAVX512(out, x *float32, mask *uint8, n int, seed, base, threshold uint64, scale float32)

//go:noescape
func dropoutBackwardAVX512(dx, dout *float32, mask *uint8, n int, scale float32)
