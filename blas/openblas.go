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
static void subtune_select_core(void) {
	if (getenv("OPENBLAS_CORETYPE") != NULL) return;
	if (strcmp(openblas_get_corename(), "Prescott") != 0) return;
	__builtin_cpu_init();
	const char *core = NULL;
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")) {
		core = "SkylakeX";
	} else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
		core = "Haswell";
	}
	if (core == NULL) return;
	setenv("OPENBLAS_CORETYPE", core, 1);
	gotoblas_dynamic_quit();
	gotoblas_dynamic_init();
}
*/
import "C"

import "unsafe"

// Backend names the GEMM implementation compiled in.
const Backend = "openblas"

func init() {
	C.subtune_select_core()
	// Parallelism is ours (Sgemm splits across goroutines); OpenBLAS's
	// own pool would spin on the cores between calls.
	C.openblas_set_num_threads(1)
}

// CoreName is the kernel family OpenBLAS runs, e.g. "SkylakeX" or "Haswell".
func CoreName() string { return C.GoString(C.openblas_get_corename()) }

func trans(t bool) C.enum_CBLAS_TRANSPOSE {
	if t {
		return C.CblasTrans
	}
	return C.CblasNoTrans
}

func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	C.cblas_sgemm(C.CblasRowMajor, trans(transA), trans(transB),
		C.blasint(m), C.blasint(n), C.blasint(k), C.float(alpha),
		(*C.float)(unsafe.Pointer(&a[0])), C.blasint(lda),
		(*C.float)(unsafe.Pointer(&b[0])), C.blasint(ldb), C.float(beta),
		(*C.float)(unsafe.Pointer(&c[0])), C.blasint(ldc))
}

func dgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	C.cblas_dgemm(C.CblasRowMajor, trans(transA), trans(transB),
		C.blasint(m), C.blasint(n), C.blasint(k), C.double(alpha),
		(*C.double)(unsafe.Pointer(&a[0])), C.blasint(lda),
		(*C.double)(unsafe.Pointer(&b[0])), C.blasint(ldb), C.double(beta),
		(*C.double)(unsafe.Pointer(&c[0])), C.blasint(ldc))
}

func sgemvT(m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) {
	C.cblas_sgemv(C.CblasRowMajor, C.CblasTrans, C.blasint(m), C.blasint(n), C.float(alpha),
		(*C.float)(unsafe.Pointer(&a[0])), C.blasint(lda),
		(*C.float)(unsafe.Pointer(&x[0])), 1, C.float(beta),
		(*C.float)(unsafe.Pointer(&y[0])), 1)
}
