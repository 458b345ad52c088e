//go:build !nodnnl && cgo && !purego

package blas

/*
#cgo LDFLAGS: -ldnnl -lgomp
#include <stdlib.h>
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

// From libgomp, the OpenMP runtime Debian's oneDNN is built with.
void omp_set_num_threads(int);

#include <stdint.h>
#include <immintrin.h>

// subtune_round_bf16 is roundRowsGo in VCVTNEPS2BF16, which also rounds to
// nearest even but flushes subnormal inputs to zero, as the bf16 dot
// product instructions do with subnormal bfloat16: the products are the
// same. Compiled for AVX512_BF16 alone, called only on CPUs that have it.
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
static void subtune_round_bf16(uint16_t *dst, int64_t ldd, const float *x, int64_t ld, int64_t rows, int64_t cols) {
	for (int64_t i = 0; i < rows; i++) {
		const float *s = x + i*ld;
		uint16_t *d = dst + i*ldd;
		int64_t j = 0;
		for (; j + 16 <= cols; j += 16) {
			__m256bh v = _mm512_cvtneps_pbh(_mm512_loadu_ps(s + j));
			_mm256_storeu_si256((__m256i *)(d + j), (__m256i)v);
		}
		if (j < cols) {
			__mmask16 m = (__mmask16)((1u << (cols - j)) - 1);
			__m256bh v = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, s + j));
			_mm256_mask_storeu_epi16(d + j, m, (__m256i)v);
		}
	}
}

static dnnl_engine_t subtune_engine;

static dnnl_status_t subtune_dnnl_init(void) {
	return dnnl_engine_create(&subtune_engine, dnnl_cpu, 0);
}

static int subtune_has_bf16_isa(void) {
	dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
	return (isa & dnnl_cpu_isa_avx512_core_bf16) == dnnl_cpu_isa_avx512_core_bf16;
}

// oneDNN sizes and runs its parallel regions by the calling thread's
// OpenMP thread count. In libgomp that count belongs to the calling thread
// alone (no OMP_NUM_THREADS or global state changes), so setting it to 1
// before every call keeps oneDNN on the caller's core, and Go's scheduler
// spreads the work, as it does for OpenBLAS.
static void subtune_serial(void) { omp_set_num_threads(1); }

// subtune_matmul_create makes the primitive C = alpha·A·B + beta·C for
// bfloat16 A (m×k) and B (k×n) — float32 with f32 set — with the given
// strides (element counts, row then column), float32 C with row stride ldc;
// with bias set, a float32 row of n added to every row of C (beta is then
// 0). The scratchpad is the caller's, so that one primitive can run on
// several threads at once.
static dnnl_status_t subtune_matmul_create(dnnl_primitive_t *prim,
		int64_t m, int64_t n, int64_t k,
		int64_t as0, int64_t as1, int64_t bs0, int64_t bs1, int64_t ldc,
		float alpha, float beta, int f32, int bias) {
	subtune_serial();
	dnnl_memory_desc_t a, b, c, bi;
	dnnl_dims_t ad = {m, k}, bd = {k, n}, cd = {m, n}, bid = {1, n};
	dnnl_dims_t as = {as0, as1}, bs = {bs0, bs1}, cs = {ldc, 1};
	dnnl_status_t st;
	dnnl_data_type_t in = f32 ? dnnl_f32 : dnnl_bf16;
	if ((st = dnnl_memory_desc_init_by_strides(&a, 2, ad, in, as)) != dnnl_success) return st;
	if ((st = dnnl_memory_desc_init_by_strides(&b, 2, bd, in, bs)) != dnnl_success) return st;
	if ((st = dnnl_memory_desc_init_by_strides(&c, 2, cd, dnnl_f32, cs)) != dnnl_success) return st;
	if (bias && (st = dnnl_memory_desc_init_by_tag(&bi, 2, bid, dnnl_f32, dnnl_ab)) != dnnl_success) return st;
	dnnl_matmul_desc_t desc;
	if ((st = dnnl_matmul_desc_init(&desc, &a, &b, bias ? &bi : NULL, &c)) != dnnl_success) return st;
	dnnl_primitive_attr_t attr;
	if ((st = dnnl_primitive_attr_create(&attr)) != dnnl_success) return st;
	dnnl_post_ops_t po = NULL;
	dnnl_primitive_desc_t pd = NULL;
	if ((st = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user)) != dnnl_success) goto out;
	if (alpha != 1 && (st = dnnl_primitive_attr_set_output_scales(attr, 1, 0, &alpha)) != dnnl_success) goto out;
	if (beta != 0) {
		if ((st = dnnl_post_ops_create(&po)) != dnnl_success) goto out;
		if ((st = dnnl_post_ops_append_sum(po, beta)) != dnnl_success) goto out;
		if ((st = dnnl_primitive_attr_set_post_ops(attr, po)) != dnnl_success) goto out;
	}
	if ((st = dnnl_primitive_desc_create(&pd, &desc, attr, subtune_engine, NULL)) != dnnl_success) goto out;
	st = dnnl_primitive_create(prim, pd);
out:
	if (pd != NULL) dnnl_primitive_desc_destroy(pd);
	if (po != NULL) dnnl_post_ops_destroy(po);
	dnnl_primitive_attr_destroy(attr);
	return st;
}

static const char *subtune_matmul_impl(dnnl_primitive_t prim) {
	const_dnnl_primitive_desc_t pd;
	const char *impl = "";
	if (dnnl_primitive_get_primitive_desc(prim, &pd) != dnnl_success) return impl;
	dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
	return impl;
}

// subtune_matmul_run executes prim on the caller's thread; a, b and c are
// only used during the call.
// subtune_scratch returns this thread's scratchpad of at least size bytes.
// A product runs on one thread from start to end, so the thread's buffer is
// free whenever it starts one; kept from one product to the next, it spares
// the kernel zeroing fresh pages for each (a malloc and free per product
// cost a fifth of a bf16 training step).
static __thread void *subtune_scratch_buf;
static __thread size_t subtune_scratch_cap;

static void *subtune_scratch(size_t size) {
	if (size > subtune_scratch_cap) {
		free(subtune_scratch_buf);
		subtune_scratch_cap = 0;
		if ((subtune_scratch_buf = malloc(size)) == NULL) return NULL;
		subtune_scratch_cap = size;
	}
	return subtune_scratch_buf;
}

static dnnl_status_t subtune_matmul_run(dnnl_primitive_t prim, void *a, void *b, void *c, void *bias) {
	subtune_serial();
	const_dnnl_primitive_desc_t pd;
	dnnl_status_t st;
	if ((st = dnnl_primitive_get_primitive_desc(prim, &pd)) != dnnl_success) return st;
	const dnnl_memory_desc_t *amd = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
	const dnnl_memory_desc_t *bmd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
	const dnnl_memory_desc_t *cmd = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
	const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
	dnnl_memory_t am = NULL, bm = NULL, cm = NULL, sm = NULL, bim = NULL;
	dnnl_stream_t s = NULL;
	size_t ssize = smd != NULL ? dnnl_memory_desc_get_size(smd) : 0;
	void *scratch = NULL;
	int nargs = 3;
	dnnl_exec_arg_t args[5];
	if ((st = dnnl_memory_create(&am, amd, subtune_engine, a)) != dnnl_success) goto out;
	if ((st = dnnl_memory_create(&bm, bmd, subtune_engine, b)) != dnnl_success) goto out;
	if ((st = dnnl_memory_create(&cm, cmd, subtune_engine, c)) != dnnl_success) goto out;
	args[0].arg = DNNL_ARG_SRC; args[0].memory = am;
	args[1].arg = DNNL_ARG_WEIGHTS; args[1].memory = bm;
	args[2].arg = DNNL_ARG_DST; args[2].memory = cm;
	if (ssize > 0) {
		if ((scratch = subtune_scratch(ssize)) == NULL) { st = dnnl_out_of_memory; goto out; }
		if ((st = dnnl_memory_create(&sm, smd, subtune_engine, scratch)) != dnnl_success) goto out;
		args[nargs].arg = DNNL_ARG_SCRATCHPAD; args[nargs].memory = sm;
		nargs++;
	}
	if (bias != NULL) {
		const dnnl_memory_desc_t *bimd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 1);
		if ((st = dnnl_memory_create(&bim, bimd, subtune_engine, bias)) != dnnl_success) goto out;
		args[nargs].arg = DNNL_ARG_BIAS; args[nargs].memory = bim;
		nargs++;
	}
	if ((st = dnnl_stream_create(&s, subtune_engine, dnnl_stream_default_flags)) != dnnl_success) goto out;
	if ((st = dnnl_primitive_execute(prim, s, nargs, args)) != dnnl_success) goto out;
	st = dnnl_stream_wait(s);
out:
	if (s != NULL) dnnl_stream_destroy(s);
	if (sm != NULL) dnnl_memory_destroy(sm);
	if (bim != NULL) dnnl_memory_destroy(bim);
	if (cm != NULL) dnnl_memory_destroy(cm);
	if (bm != NULL) dnnl_memory_destroy(bm);
	if (am != NULL) dnnl_memory_destroy(am);
	return st;
}
*/
import "C"

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"unsafe"
)

// dnnlError is the outcome of the first BF16Check, which also creates the
// engine.
var (
	dnnlOnce  sync.Once
	dnnlError error
)

// BF16Check returns nil when the bf16 GEMMs can run, and otherwise an error
// naming what is missing: the CPU's instructions, or oneDNN's use of them
// (which DNNL_MAX_CPU_ISA can restrict).
func BF16Check() error {
	dnnlOnce.Do(func() {
		if err := errNoBF16CPU(); err != nil {
			dnnlError = err
			return
		}
		if C.subtune_has_bf16_isa() == 0 {
			dnnlError = fmt.Errorf("oneDNN does not use this CPU's AVX512_BF16 instructions (is DNNL_MAX_CPU_ISA set?)")
			return
		}
		if st := C.subtune_dnnl_init(); st != C.dnnl_success {
			dnnlError = fmt.Errorf("oneDNN: creating the CPU engine: %s", status(st))
		}
	})
	return dnnlError
}

func init() {
	if BF16Supported() {
		roundRows = roundRowsAVX512
	}
}

// roundRowsAVX512 checks the bounds the C loop relies on.
func roundRowsAVX512(dst []uint16, ldd int, x []float32, ld, rows, cols int) {
	if rows == 0 || cols == 0 {
		return
	}
	_ = dst[(rows-1)*ldd+cols-1]
	_ = x[(rows-1)*ld+cols-1]
	C.subtune_round_bf16((*C.uint16_t)(&dst[0]), C.int64_t(ldd), (*C.float)(&x[0]), C.int64_t(ld), C.int64_t(rows), C.int64_t(cols))
}

func status(st C.dnnl_status_t) string { return C.GoString(C.dnnl_status2str(st)) }

// BF16Describe names oneDNN's version and the matmul implementations the
// bf16 GEMMs have used so far, e.g. "oneDNN 2.6.3, brg:avx512_core_bf16,
// 2 threads", for logs and benchmarks.
func BF16Describe() string {
	v := C.dnnl_version()
	impls := map[string]bool{}
	matmuls.Lock()
	for key, mm := range matmuls.m {
		if !key.f32 {
			impls[mm.impl] = true
		}
	}
	matmuls.Unlock()
	names := make([]string, 0, len(impls))
	for name := range impls {
		names = append(names, name)
	}
	sort.Strings(names)
	d := fmt.Sprintf("oneDNN %d.%d.%d", v.major, v.minor, v.patch)
	if len(names) > 0 { // none before the first product
		d += ", " + strings.Join(names, ", ")
	}
	return d + ", " + threadCount()
}

// matmulKey is everything a matmul primitive is specialised for.
type matmulKey struct {
	f32            bool // float32 inputs (sgemmOneDNN), not bfloat16
	bias           bool // a row added to C (gemmBF16's bias)
	transA, transB bool
	m, n, k        int
	lda, ldb, ldc  int
	alpha, beta    float32
}

type matmul struct {
	prim C.dnnl_primitive_t
	impl string
}

// matmuls holds one primitive per key, created on first use and kept for
// the life of the process: a model has a few dozen shapes, and creating a
// primitive costs far more than running a small one.
var matmuls = struct {
	sync.Mutex
	m map[matmulKey]*matmul
}{m: map[matmulKey]*matmul{}}

func getMatmul(key matmulKey) (*matmul, error) {
	matmuls.Lock()
	defer matmuls.Unlock()
	if mm, ok := matmuls.m[key]; ok {
		return mm, nil
	}
	// Strides of op(A) (m×k) and op(B) (k×n), row then column.
	as0, as1 := key.lda, 1
	if key.transA {
		as0, as1 = 1, key.lda
	}
	bs0, bs1 := key.ldb, 1
	if key.transB {
		bs0, bs1 = 1, key.ldb
	}
	var prim C.dnnl_primitive_t
	st := C.subtune_matmul_create(&prim, C.int64_t(key.m), C.int64_t(key.n), C.int64_t(key.k),
		C.int64_t(as0), C.int64_t(as1), C.int64_t(bs0), C.int64_t(bs1), C.int64_t(key.ldc),
		C.float(key.alpha), C.float(key.beta), C.int(boolInt(key.f32)), C.int(boolInt(key.bias)))
	if st != C.dnnl_success {
		return nil, fmt.Errorf("oneDNN: creating the bf16 matmul %d×%d×%d: %s", key.m, key.n, key.k, status(st))
	}
	mm := &matmul{prim: prim, impl: C.GoString(C.subtune_matmul_impl(prim))}
	matmuls.m[key] = mm
	return mm, nil
}

// minRowsPerPart is the fewest rows of C a part gets when the product is
// split by rows. oneDNN 2.6's fast kernels (brg:avx512_core_bf16) want C
// dense, which a split by columns is not: it runs the slower gemm:jit, so
// rows are split unless there are too few.
const minRowsPerPart = 64

// gemmBF16 splits the product across Threads() cores like Sgemm, each part
// running one primitive on its own thread. A comes as float32, each part rounding its own rows, or
// rounded already (a.r). A non-nil bias (n, with beta 0) is added to every
// row of C. The caller has checked the shapes and the CPU.
func gemmBF16(transA, transB bool, m, n, k int, alpha float32, a operandA, w *BF16Matrix, bias []float32, beta float32, c []float32, ldc int) error {
	parts := max(1, min(threads, int(GemmFlops(m, n, k)/minFlopsPerPart)))
	if m < minRowsPerPart*parts && m < n && parts > 1 {
		// Split by columns of C: A is shared, rounded once.
		ar, lda, pooled := a.rows(transA, 0, m, k)
		defer putBF16(pooled)
		size := (n + parts - 1) / parts
		return parallel(n, size, func(lo, cols int) error {
			bOff := lo
			if transB {
				bOff = lo * w.Cols
			}
			return runMatmul(transA, transB, m, cols, k, alpha, ar, lda, w.data[bOff:], w.Cols, biasFrom(bias, lo), beta, c[lo:], ldc)
		})
	}
	size := (m + parts - 1) / parts
	return parallel(m, size, func(lo, rows int) error {
		ar, lda, pooled := a.rows(transA, lo, rows, k)
		defer putBF16(pooled)
		return runMatmul(transA, transB, rows, n, k, alpha, ar, lda, w.data, w.Cols, bias, beta, c[lo*ldc:], ldc)
	})
}

// rows returns rows lo … lo+count−1 of op(A) (count×k) in bfloat16 as
// stored (k×count, row stride lda, when transA), and the pooled buffer
// rounded for the call (nil when A came rounded), for putBF16.
func (a operandA) rows(transA bool, lo, count, k int) (ar []uint16, lda int, pooled *[]uint16) {
	if a.r != nil {
		if transA {
			return a.r.data[lo:], a.r.Cols, nil
		}
		return a.r.data[lo*a.r.Cols:], a.r.Cols, nil
	}
	off, rows, cols := lo*a.ld, count, k
	if transA {
		off, rows, cols = lo, k, count
	}
	p := getBF16(rows * cols)
	roundRows(*p, cols, a.f32[off:], a.ld, rows, cols)
	return *p, cols, p
}

// runMatmul multiplies the bfloat16 A (m×k, or k×m when transA; row stride
// lda) by B (row stride ldb) on the calling goroutine's thread.
func runMatmul(transA, transB bool, m, n, k int, alpha float32, a []uint16, lda int, b []uint16, ldb int, bias []float32, beta float32, c []float32, ldc int) error {
	mm, err := getMatmul(matmulKey{false, bias != nil, transA, transB, m, n, k, lda, ldb, ldc, alpha, beta})
	if err != nil {
		return err
	}
	var bp unsafe.Pointer
	if bias != nil {
		bp = unsafe.Pointer(&bias[0])
	}
	st := C.subtune_matmul_run(mm.prim, unsafe.Pointer(&a[0]), unsafe.Pointer(&b[0]), unsafe.Pointer(&c[0]), bp)
	if st != C.dnnl_success {
		return fmt.Errorf("oneDNN: bf16 matmul %d×%d×%d (%s): %s", m, n, k, mm.impl, status(st))
	}
	return nil
}

// sgemmOneDNN is Sgemm through oneDNN's float32 matmul, on the calling
// thread. subtune's float32 GEMM stays OpenBLAS's: BenchmarkSgemmOneDNN
// measures the two on the model's shapes and keeps that choice checkable.
func sgemmOneDNN(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) error {
	if err := BF16Check(); err != nil {
		return err
	}
	if !check(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, beta) {
		return nil
	}
	mm, err := getMatmul(matmulKey{true, false, transA, transB, m, n, k, lda, ldb, ldc, alpha, beta})
	if err != nil {
		return err
	}
	st := C.subtune_matmul_run(mm.prim, unsafe.Pointer(&a[0]), unsafe.Pointer(&b[0]), unsafe.Pointer(&c[0]), nil)
	if st != C.dnnl_success {
		return fmt.Errorf("oneDNN: f32 matmul %d×%d×%d (%s): %s", m, n, k, mm.impl, status(st))
	}
	return nil
}

// biasFrom is the bias of the columns from lo on, nil without one.
func biasFrom(bias []float32, lo int) []float32 {
	if bias == nil {
		return nil
	}
	return bias[lo:]
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// parallel runs f on [lo, lo+size) pieces of [0, total), one goroutine each
// but the last, which runs on the caller's; it returns the first error.
func parallel(total, size int, f func(lo, count int) error) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs error
	)
	record := func(err error) {
		if err != nil {
			mu.Lock()
			if errs == nil {
				errs = err
			}
			mu.Unlock()
		}
	}
	for lo := 0; lo < total; lo += size {
		count := min(size, total-lo)
		if lo+count >= total {
			record(f(lo, count))
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			record(f(lo, count))
		}()
	}
	wg.Wait()
	return errs
}
