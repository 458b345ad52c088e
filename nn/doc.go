// Package nn holds the element-wise and row-wise kernels of the encoder —
// linear layers, LayerNorm, GELU, softmax, dropout and the losses — each
// forward written next to its backward, in the spirit of llm.c.
//
// Tensors are flat []float32 slices in row-major order; a function's comment
// gives each argument's shape. Kernels never allocate: callers own every
// buffer, so a training step reuses the same memory from step to step.
// Row-wise kernels split rows across Workers() goroutines (see SetThreads)
// when the work is large enough to pay for it; reductions across rows
// (LayerNorm's weight gradient, bias gradients) are summed per worker and
// then combined in a fixed order, so results are bit-identical for a given
// worker count.
//
// On amd64 CPUs with AVX2 and FMA, GELU, softmax, LayerNorm and the
// cross-entropy exponentials run as assembly (kernels_amd64.s, wrapped in
// kernels.go); elsewhere, and with the purego build tag, as the scalar Go
// loops next to each kernel, which stay the reference. The two agree to a
// few float32 ulps, not bit for bit.
package nn
