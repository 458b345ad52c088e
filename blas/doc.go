// Package blas is subtune's single-precision matrix multiply.
//
// Every dense layer of the encoder, forward and backward, is one call to
// Sgemm. The default build calls OpenBLAS's cblas_sgemm through cgo (Debian:
// libopenblas-dev), which sustains about 100 GFLOP/s per core on the machines
// subtune targets. Building with -tags purego, or with CGO_ENABLED=0, swaps in
// gonum's pure-Go sgemm: about eight times slower, but it needs no C toolchain.
//
// All matrices are row-major, as Go slices and PyTorch tensors are.
package blas
