//go:build cgo && !purego

package blas

/*
#cgo LDFLAGS: -lopenblas
#include <stdlib.h>
#include <string.h>
#include <cblas.h>

// Exported by OpenBLAS's DYNAMIC_ARCH builds (Debian's), not declared in cblas.h.
char *openblas_get_corename(void);
void gotoblas_dynamic_init(void);
void gotoblas_dynamic_quit(void);

// subtune_select_core re-runs OpenBLAS's kernel selection when it fell back
// to the generic Prescott (SSE3) kernels on a CPU it does not know — the
// case for recent Xeons under OpenBLAS 0.3.21, where it costs a factor of six
// in sgemm. A user's own OPENBLAS_CORETYPE always wins.
static const char *subtune_select_core(void) {
	if (getenv("OPENBLAS_CORETYPE") != NULL) return NULL;
	if (strcmp(openblas_get_corename(), "Prescott") != 0) return NULL;
	__builtin_cpu_init();
	const char *core = NULL;
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")) {
		core = "SkylakeX";
	} else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
		core = "Haswell";
	}
	if (core == NULL) return NULL;
	setenv("OPENBLAS_CORETYPE", core, 1);
	gotoblas_dynamic_quit();
	gotoblas_dynamic_init();
	return core;
}
*/
import "C"

import "unsafe"

// Backend names the GEMM implementation compiled in.
const Backend = "openblas"

func init() { C.subtune_select_core() }

// CoreName is the kernel family OpenBLAS runs, e.g. "SkylakeX" or "Haswell".
func CoreName() string { return C.GoString(C.openblas_get_corename()) }

func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ta, tb := uint32(C.CblasNoTrans), uint32(C.CblasNoTrans)
	if transA {
		ta = C.CblasTrans
	}
	if transB {
		tb = C.CblasTrans
	}
	C.cblas_sgemm(C.CblasRowMajor, C.enum_CBLAS_TRANSPOSE(ta), C.enum_CBLAS_TRANSPOSE(tb),
		C.blasint(m), C.blasint(n), C.blasint(k), C.float(alpha),
		(*C.float)(unsafe.Pointer(&a[0])), C.blasint(lda),
		(*C.float)(unsafe.Pointer(&b[0])), C.blasint(ldb), C.float(beta),
		(*C.float)(unsafe.Pointer(&c[0])), C.blasint(ldc))
}

// SetThreads sets how many threads OpenBLAS uses for one GEMM; n <= 0 means
// all cores.
func SetThreads(n int) {
	if n <= 0 {
		n = int(C.openblas_get_num_procs())
	}
	C.openblas_set_num_threads(C.int(n))
}

// Threads reports how many threads one GEMM uses.
func Threads() int { return int(C.openblas_get_num_threads()) }
