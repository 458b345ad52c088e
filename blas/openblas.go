//go:build cgo && !purego

package blas

/*
#cgo LDFLAGS: -lopenblas
#include <stdlib.h>
#include <string.h>
#include <cblas.h>

// Exported by OpenBLAS's DYNAMIC_ARCH builds (Debian's), not declared in cblas.h.
char *openblas_get_corename(void);
char *openblas_get_config(void);
void gotoblas_dynamic_init(void);
void gotoblas_dynamic_quit(void);

// subtune_use_core re-runs OpenBLAS's kernel selection with
// OPENBLAS_CORETYPE=core, the one way it offers to choose a family, then
// puts the variable back as it was: the process environment is unchanged.
static void subtune_use_core(const char *core) {
	const char *old = getenv("OPENBLAS_CORETYPE");
	char *saved = old != NULL ? strdup(old) : NULL;
	setenv("OPENBLAS_CORETYPE", core, 1);
	gotoblas_dynamic_quit();
	gotoblas_dynamic_init();
	if (saved != NULL) {
		setenv("OPENBLAS_CORETYPE", saved, 1);
		free(saved);
	} else {
		unsetenv("OPENBLAS_CORETYPE");
	}
}
*/
import "C"

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// Backend names the GEMM implementation compiled in.
const Backend = "openblas"

// coreMu is held for reading by every kernel call and for writing while the
// family is switched, which OpenBLAS does for the whole process.
var coreMu sync.RWMutex

// sel is how the start-up check left the kernels.
var sel selection

type selection struct {
	pureGo   bool    // no OpenBLAS family passed: gonum's kernels run
	rejected []error // *FamilyError of each family replaced
	fallback error   // nil when the first family passed
}

func init() {
	// Parallelism is ours (Sgemm splits across goroutines); OpenBLAS's
	// own pool would spin on the cores between calls.
	C.openblas_set_num_threads(1)
	coreMu.Lock()
	defer coreMu.Unlock()
	sel = selectKernels(cpuLevel(), func() error { return checkKernels(openblasSgemm, openblasSgemvT) })
}

// selectKernels keeps the family OpenBLAS chose — the user's
// OPENBLAS_CORETYPE, or its own pick from the CPU — when check accepts it,
// and otherwise replaces it by the next family down that check accepts.
// The one choice it overrides for speed is the generic Prescott family,
// which OpenBLAS 0.3.21 falls back to on recent Xeons it does not know, at a
// sixth of their sgemm rate. A family that needs instructions beyond level
// (cpuLevel) is replaced without being run: its kernels would fault. The
// caller holds coreMu for writing.
func selectKernels(level int, check func() error) selection {
	if os.Getenv("OPENBLAS_CORETYPE") == "" && openblasCore() == "Prescott" && level > 0 {
		_ = switchCore(ladder[level]) // checked below like any other choice
	}
	first := openblasCore()
	use := func(f string) error {
		if f == openblasCore() {
			return nil
		}
		return switchCore(f)
	}
	runnable := func() error {
		if l := familyLevel(openblasCore()); level >= 0 && l > level {
			return fmt.Errorf("need %s, which this CPU lacks", ladderISA[l])
		}
		return check()
	}
	chosen, errs := chooseFamily(append([]string{first}, fallbacks(first, level)...), use, runnable)
	if len(errs) == 0 {
		return selection{}
	}
	msgs := make([]string, len(errs))
	for i, err := range errs {
		msgs[i] = err.Error()
	}
	s := selection{rejected: errs}
	instead := chosen + " kernels, which pass"
	if chosen == "" {
		s.pureGo = true
		instead = "gonum's pure-Go sgemm (about eight times slower)"
	}
	s.fallback = fmt.Errorf("rejected by the start-up check: %s; using %s", strings.Join(msgs, "; "), instead)
	return s
}

// switchCore makes OpenBLAS run the named family. The caller holds coreMu
// for writing and knows that this CPU has the family's instructions:
// OpenBLAS does not check, and its kernels would fault.
func switchCore(name string) error {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	C.subtune_use_core(cs)
	if got := openblasCore(); !strings.EqualFold(got, name) {
		return fmt.Errorf("OpenBLAS selected %s when asked for %s", got, name)
	}
	return nil
}

// library is "OpenBLAS 0.3.21": the start of the build's configuration.
func library() string {
	f := strings.Fields(C.GoString(C.openblas_get_config()))
	return strings.Join(f[:min(2, len(f))], " ")
}

func openblasCore() string { return C.GoString(C.openblas_get_corename()) }

// CoreName is the kernel family in use, e.g. "SkylakeX", "Haswell", or
// "gonum" when no OpenBLAS family passed the start-up check.
func CoreName() string {
	coreMu.RLock()
	defer coreMu.RUnlock()
	if sel.pureGo {
		return "gonum"
	}
	return openblasCore()
}

// Describe names the library, its kernel family and the threads one GEMM
// uses, e.g. "OpenBLAS 0.3.21, SkylakeX kernels, 2 threads", for logs and
// benchmarks. Families the start-up check rejected are named too.
func Describe() string {
	coreMu.RLock()
	defer coreMu.RUnlock()
	lib := library()
	var names []string
	for _, err := range sel.rejected {
		names = append(names, err.(*FamilyError).Family)
	}
	failed := ""
	if len(names) > 0 {
		failed = fmt.Sprintf(" (%s failed the start-up check)", strings.Join(names, ", "))
	}
	if sel.pureGo {
		return fmt.Sprintf("gonum (%s%s), %s", lib, failed, threadCount())
	}
	return fmt.Sprintf("%s, %s kernels%s, %s", lib, openblasCore(), failed, threadCount())
}

// Fallback is nil when the kernel family OpenBLAS chose passed the start-up
// check; otherwise it says which families computed wrong products, where,
// and what is used instead.
func Fallback() error { return sel.fallback }

// MeasureFaster times a dense layer's x·Wᵀ on 256 tokens of BERT-base: a
// few milliseconds per product.
const measuredM, measuredN, measuredK = 256, 768, 768

// MeasureFaster compares the kernel family in use with the most capable one
// this CPU runs, when that is a different level: it switches to it, runs the
// start-up check on it, times the same product on one core with each family
// in turn, and switches back. It returns nil, nil when the family in use is
// the most capable, and an error when the faster one computes wrong
// products here. Kernel calls from other goroutines wait while it runs
// (tens of milliseconds).
func MeasureFaster() (*Speedup, error) {
	coreMu.Lock()
	defer coreMu.Unlock()
	level := cpuLevel()
	inUse := openblasCore()
	if sel.pureGo || level < 0 || familyLevel(inUse) >= level {
		return nil, nil
	}
	faster := ladder[level]
	defer func() {
		if err := switchCore(inUse); err != nil {
			panic("blas: cannot return to the kernels in use: " + err.Error())
		}
	}()
	if err := switchCore(faster); err != nil {
		return nil, &FamilyError{Family: faster, Err: err}
	}
	if err := checkKernels(openblasSgemm, openblasSgemvT); err != nil {
		return nil, &FamilyError{Family: faster, Err: err}
	}
	m, n, k := measuredM, measuredN, measuredK
	rng := rand.New(rand.NewPCG(1, 2))
	x, w, y := uniform(rng, m*k), uniform(rng, n*k), make([]float32, m*n)
	families := [2]string{inUse, faster}
	var best [2]time.Duration
	for round := range 8 { // the fastest of 7: the least disturbed by other work
		for i, f := range families {
			if err := switchCore(f); err != nil {
				return nil, &FamilyError{Family: f, Err: err}
			}
			start := time.Now()
			openblasSgemm(false, true, m, n, k, 1, x, k, w, k, 0, y, n)
			d := time.Since(start)
			if round > 0 && (best[i] == 0 || d < best[i]) { // round 0 warms the caches
				best[i] = d
			}
		}
	}
	gflops := func(d time.Duration) float64 { return GemmFlops(m, n, k) / d.Seconds() / 1e9 }
	return &Speedup{InUse: inUse, Faster: faster, InUseGFLOPS: gflops(best[0]),
		FasterGFLOPS: gflops(best[1]), M: m, N: n, K: k}, nil
}

func trans(t bool) C.enum_CBLAS_TRANSPOSE {
	if t {
		return C.CblasTrans
	}
	return C.CblasNoTrans
}

func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	coreMu.RLock()
	defer coreMu.RUnlock()
	if sel.pureGo {
		gonumSgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	openblasSgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func sgemvT(m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) {
	coreMu.RLock()
	defer coreMu.RUnlock()
	if sel.pureGo {
		gonumSgemvT(m, n, alpha, a, lda, x, beta, y)
		return
	}
	openblasSgemvT(m, n, alpha, a, lda, x, beta, y)
}

func openblasSgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	C.cblas_sgemm(C.CblasRowMajor, trans(transA), trans(transB),
		C.blasint(m), C.blasint(n), C.blasint(k), C.float(alpha),
		(*C.float)(unsafe.Pointer(&a[0])), C.blasint(lda),
		(*C.float)(unsafe.Pointer(&b[0])), C.blasint(ldb), C.float(beta),
		(*C.float)(unsafe.Pointer(&c[0])), C.blasint(ldc))
}

func dgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	coreMu.RLock()
	defer coreMu.RUnlock()
	if sel.pureGo {
		gonumDgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	C.cblas_dgemm(C.CblasRowMajor, trans(transA), trans(transB),
		C.blasint(m), C.blasint(n), C.blasint(k), C.double(alpha),
		(*C.double)(unsafe.Pointer(&a[0])), C.blasint(lda),
		(*C.double)(unsafe.Pointer(&b[0])), C.blasint(ldb), C.double(beta),
		(*C.double)(unsafe.Pointer(&c[0])), C.blasint(ldc))
}

func openblasSgemvT(m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) {
	C.cblas_sgemv(C.CblasRowMajor, C.CblasTrans, C.blasint(m), C.blasint(n), C.float(alpha),
		(*C.float)(unsafe.Pointer(&a[0])), C.blasint(lda),
		(*C.float)(unsafe.Pointer(&x[0])), 1, C.float(beta),
		(*C.float)(unsafe.Pointer(&y[0])), 1)
}
