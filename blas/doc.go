// Package blas is subtune's single-precision matrix multiply.
//
// Every dense layer of the encoder, forward and backward, is one call to
// Sgemm. The default build calls OpenBLAS's cblas_sgemm through cgo (Debian:
// libopenblas-dev), which sustains about 100 GFLOP/s per core with its
// Haswell (AVX2) kernels and about twice that with its SkylakeX (AVX-512)
// ones. Building with -tags purego, or with CGO_ENABLED=0, swaps in gonum's
// pure-Go sgemm: about eight times slower, but it needs no C toolchain.
//
// OpenBLAS picks its kernel family from the CPU, or from OPENBLAS_CORETYPE.
// At start-up the package checks the family's products against a float64
// reference (Verify) and, if one is wrong, replaces the family by the next
// one down that is right (Fallback says so). Describe names the kernels in
// use for logs; MeasureFaster times them against the fastest family the CPU
// runs, for the caller to say what an environment that pins a slower one
// costs. Nothing else about the process is changed.
//
// GemmBF16 multiplies in bfloat16 with float32 accumulation, as PyTorch's
// CPU autocast does, through oneDNN's matmul (Debian: libdnnl-dev; a build
// with -tags nodnnl goes without), on CPUs with AVX512_BF16 (BF16Supported); it
// returns an error naming what is missing otherwise. GemmBF16W takes B
// rounded beforehand (BF16Matrix), for weights rounded once per optimiser
// step. oneDNN runs on the calling thread only and the product is split
// across goroutines as Sgemm's is.
//
// All matrices are row-major, as Go slices and PyTorch tensors are.
package blas
