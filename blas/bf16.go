package blas

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sync"

	"golang.org/x/sys/cpu"
)

// bfloat16 keeps float32's sign and 8-bit exponent and the top 7 of its 23
// fraction bits: 8 significant bits, a unit roundoff of 2⁻⁸. The product of
// two bfloat16 numbers has at most 16 significant bits and is exact in
// float32, so a bf16 GEMM with float32 accumulation differs from the exact
// product of its rounded inputs by float32 summation error alone.

// BF16 rounds x to bfloat16, to nearest with ties to even as PyTorch's
// autocast and the AVX512_BF16 conversion instructions do, and returns its
// bits. NaN stays a (quiet) NaN; values past bfloat16's largest become ±Inf.
func BF16(x float32) uint16 {
	u := math.Float32bits(x)
	if u&0x7fffffff > 0x7f800000 {
		return uint16(u>>16) | 0x40
	}
	u += 0x7fff + (u>>16)&1
	return uint16(u >> 16)
}

// FromBF16 is the float32 whose bits are the bfloat16 b's, extended by zeros:
// exact.
func FromBF16(b uint16) float32 { return math.Float32frombits(uint32(b) << 16) }

// BF16Matrix is a rows×cols row-major matrix rounded to bfloat16 once, for a
// GEMM operand used many times between two changes: a layer's weights,
// rounded once per optimiser step rather than once per product, or an
// activation that feeds several products.
type BF16Matrix struct {
	Rows, Cols int
	data       []uint16  // row-major, stride Cols
	pooled     *[]uint16 // data's pool buffer, for Release
}

// Round sets m to the rows×cols matrix x (row stride ld) rounded to
// bfloat16 (see BF16; subnormals may become zero, as the bf16 GEMMs treat
// them anyway), reusing m's storage when it is large enough.
func (m *BF16Matrix) Round(rows, cols int, x []float32, ld int) {
	checkMatrix("x", x, rows, cols, ld)
	if cap(m.data) < rows*cols {
		m.data = make([]uint16, rows*cols)
	}
	m.Rows, m.Cols, m.data = rows, cols, m.data[:rows*cols]
	roundRowsSplit(roundParts(rows*cols), m.data, cols, x, ld, rows, cols)
}

// NewBF16Matrix returns a zero rows×cols matrix, storage that Round reuses
// for any shape of rows×cols elements or fewer: a workspace allocates its
// rounded activations once.
func NewBF16Matrix(rows, cols int) *BF16Matrix {
	return &BF16Matrix{Rows: rows, Cols: cols, data: make([]uint16, rows*cols)}
}

// Bits returns m's bfloat16 bits, row-major with row stride Cols, for
// products of a part of m (Operand).
func (m *BF16Matrix) Bits() []uint16 { return m.data }

// RoundTemporary is x (rows×cols, row stride ld) rounded to bfloat16 into a
// pooled matrix, for an activation that feeds several products of one
// step; Release gives its storage back.
func RoundTemporary(rows, cols int, x []float32, ld int) *BF16Matrix {
	checkMatrix("x", x, rows, cols, ld)
	p := getBF16(rows * cols)
	m := &BF16Matrix{Rows: rows, Cols: cols, data: *p, pooled: p}
	roundRowsSplit(roundParts(rows*cols), m.data, cols, x, ld, rows, cols)
	return m
}

// Release returns a RoundTemporary matrix's storage to the pool; m must not
// be used afterwards. It does nothing to other matrices.
func (m *BF16Matrix) Release() {
	if m.pooled != nil {
		putBF16(m.pooled)
		m.pooled, m.data = nil, nil
	}
}

// RoundInto sets dst to x rounded to bfloat16 (see BF16), on the calling
// goroutine: a part of an operand that is kept rounded, as one attention
// head's probabilities.
func RoundInto(dst []uint16, x []float32) {
	if len(dst) < len(x) {
		panic(fmt.Sprintf("blas: RoundInto wants room for %d, got %d", len(x), len(dst)))
	}
	if len(x) > 0 {
		roundRows(dst, len(x), x, len(x), 1, len(x))
	}
}

// roundParts is how many goroutines round n numbers.
func roundParts(n int) int { return max(1, min(threads, n/minRoundPerPart)) }

// roundRows rounds the rows×cols matrix x (stride ld) into dst (stride
// ldd): roundRowsGo, or the same in AVX512_BF16 instructions where a build
// with oneDNN runs on a CPU that has them.
var roundRows = roundRowsGo

// minRoundPerPart is the fewest elements worth a goroutine of their own
// when an operand is rounded: a few microseconds of work.
const minRoundPerPart = 1 << 16

// roundRowsSplit is roundRows on parts goroutines, each taking a band of
// rows: an activation rounded before the product would otherwise keep the
// other cores waiting.
func roundRowsSplit(parts int, dst []uint16, ldd int, x []float32, ld, rows, cols int) {
	if parts <= 1 || rows < parts {
		roundRows(dst, ldd, x, ld, rows, cols)
		return
	}
	var wg sync.WaitGroup
	size := (rows + parts - 1) / parts
	for lo := 0; lo < rows; lo += size {
		n := min(size, rows-lo)
		wg.Add(1)
		go func() {
			defer wg.Done()
			roundRows(dst[lo*ldd:], ldd, x[lo*ld:], ld, n, cols)
		}()
	}
	wg.Wait()
}

func roundRowsGo(dst []uint16, ldd int, x []float32, ld, rows, cols int) {
	for i := range rows {
		d, s := dst[i*ldd:i*ldd+cols], x[i*ld:i*ld+cols]
		for j, v := range s {
			d[j] = BF16(v)
		}
	}
}

// BF16Supported reports whether this CPU multiplies bfloat16 in hardware:
// AVX512_BF16, which AMD has since Zen 4 and Intel since Cooper Lake (with
// AMX-BF16 beside it since Sapphire Rapids, which oneDNN uses when present).
func BF16Supported() bool {
	x := cpu.X86
	return x.HasAVX512BF16 && x.HasAVX512BW && x.HasAVX512VL
}

// ErrNoBF16Build is returned by the bf16 GEMMs of a build without oneDNN.
var ErrNoBF16Build = errors.New("bf16 GEMM needs oneDNN: this build has none (built with -tags nodnnl or purego, or without cgo); build without them, with Debian's libdnnl-dev installed")

// errNoBF16CPU names what this CPU lacks; nil when it has it.
func errNoBF16CPU() error {
	if BF16Supported() {
		return nil
	}
	return fmt.Errorf("bf16 GEMM needs a CPU with AVX512_BF16 instructions, which this one lacks")
}

// GemmBF16 computes C = alpha·op(A)·op(B) + beta·C as PyTorch's CPU autocast
// does: A and B rounded to bfloat16 (see BF16), products accumulated in
// float32, C float32. Shapes and strides are Sgemm's, and like Sgemm it
// panics on slices too short for them; it does not read C when beta is 0.
// Subnormal inputs and results are flushed to zero, as the hardware does.
// It returns an error, and leaves C alone, when this build or this CPU
// cannot multiply in bfloat16 (see BF16Check).
func GemmBF16(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) error {
	if err := BF16Check(); err != nil {
		return err
	}
	if !check(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, beta) {
		return nil
	}
	br, bc := stored(transB, k, n)
	buf := getBF16(br * bc)
	defer putBF16(buf)
	w := BF16Matrix{Rows: br, Cols: bc, data: (*buf)[:br*bc]}
	roundRowsSplit(roundParts(br*bc), w.data, bc, b, ldb, br, bc)
	return gemmBF16(transA, transB, m, n, k, alpha, operandA{f32: a, ld: lda}, &w, nil, beta, c, ldc)
}

// Operand is one input of GemmBF16Serial: float32 (F32), rounded to
// bfloat16 as the product runs, or bfloat16 bits rounded already (Bits: a
// BF16Matrix's, or a part of them), with its row stride LD in either.
type Operand struct {
	F32  []float32
	Bits []uint16
	LD   int
}

// GemmBF16Serial is GemmBF16 on the calling goroutine alone, for callers
// that split the work themselves, as attention does by sequence and head,
// with each operand float32 or rounded already: a layer keeps its queries,
// keys and values rounded for the backward, and every head's products read
// its columns of them.
func GemmBF16Serial(transA, transB bool, m, n, k int, alpha float32, a, b Operand, beta float32, c []float32, ldc int) error {
	if err := BF16Check(); err != nil {
		return err
	}
	ar, ac := stored(transA, m, k)
	br, bc := stored(transB, k, n)
	aBits, lda, pa := a.rounded("A", ar, ac)
	defer putBF16(pa)
	bBits, ldb, pb := b.rounded("B", br, bc)
	defer putBF16(pb)
	if !check(transA, transB, m, n, k, aBits, lda, bBits, ldb, c, ldc, beta) {
		return nil
	}
	return runMatmul(transA, transB, m, n, k, alpha, aBits, lda, bBits, ldb, nil, beta, c, ldc)
}

// rounded returns o, rows×cols as stored, in bfloat16 with its row stride:
// its Bits, or its float32 rounded into a pooled buffer that is returned
// too, for putBF16. Exactly one of F32 and Bits must be set.
func (o Operand) rounded(name string, rows, cols int) (bits []uint16, ld int, pooled *[]uint16) {
	if (o.F32 == nil) == (o.Bits == nil) {
		panic(fmt.Sprintf("blas: GemmBF16Serial wants %s as float32 or as bfloat16 bits, exactly one", name))
	}
	if o.Bits != nil {
		checkMatrix(name, o.Bits, rows, cols, o.LD)
		return o.Bits, o.LD, nil
	}
	checkMatrix(name, o.F32, rows, cols, o.LD)
	p := getBF16(rows * cols)
	roundRows(*p, cols, o.F32, o.LD, rows, cols)
	return *p, max(cols, 1), p
}

// bf16Pools recycle the rounded copies of the operands that come as
// float32, one pool per power-of-two capacity: the activations of a dense
// layer (megabytes) and of one attention head (kilobytes) alternate, and a
// single pool would keep handing the large products a small buffer to drop,
// a fresh allocation, and page faults, for each.
var bf16Pools [48]sync.Pool

// getBF16 returns a buffer of n from the pools; putBF16 gives it back
// (and ignores nil).
func getBF16(n int) *[]uint16 {
	class := bits.Len(uint(max(n, 1) - 1))
	if p, ok := bf16Pools[class].Get().(*[]uint16); ok {
		*p = (*p)[:n]
		return p
	}
	s := make([]uint16, n, 1<<class)
	return &s
}

func putBF16(p *[]uint16) {
	if p == nil {
		return
	}
	bf16Pools[bits.Len(uint(cap(*p)-1))].Put(p)
}

// GemmBF16W is GemmBF16 with B already rounded: op(B) is w when transB is
// false (w k×n) and wᵀ otherwise (w n×k).
func GemmBF16W(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, w *BF16Matrix, beta float32, c []float32, ldc int) error {
	if err := BF16Check(); err != nil {
		return err
	}
	checkRounded("GemmBF16W", "B", transB, k, n, w)
	if !check(transA, transB, m, n, k, a, lda, w.data, w.Cols, c, ldc, beta) {
		return nil
	}
	return gemmBF16(transA, transB, m, n, k, alpha, operandA{f32: a, ld: lda}, w, nil, beta, c, ldc)
}

// GemmBF16WBias computes C = op(A)·op(B) + bias, bias (n) added to every
// row, as a dense layer's forward does: GemmBF16W with C set to the bias
// rows beforehand and beta 1, in one pass over C.
func GemmBF16WBias(transA, transB bool, m, n, k int, a []float32, lda int, w *BF16Matrix, bias []float32, c []float32, ldc int) error {
	if err := BF16Check(); err != nil {
		return err
	}
	checkRounded("GemmBF16WBias", "B", transB, k, n, w)
	if len(bias) < n {
		panic(fmt.Sprintf("blas: GemmBF16WBias wants a bias of %d, got %d", n, len(bias)))
	}
	if !check(transA, transB, m, n, k, a, lda, w.data, w.Cols, c, ldc, 0) {
		return nil
	}
	return gemmBF16(transA, transB, m, n, k, 1, operandA{f32: a, ld: lda}, w, bias[:n], 0, c, ldc)
}

// GemmBF16R is GemmBF16 with both operands rounded already: op(A) is a when
// transA is false (a m×k) and aᵀ otherwise (a k×m), op(B) is b or bᵀ
// likewise. A non-nil bias (n) is added to every row of C in the same pass;
// beta must then be 0.
func GemmBF16R(transA, transB bool, m, n, k int, alpha float32, a, b *BF16Matrix, bias []float32, beta float32, c []float32, ldc int) error {
	if err := BF16Check(); err != nil {
		return err
	}
	checkRounded("GemmBF16R", "B", transB, k, n, b)
	checkRounded("GemmBF16R", "A", transA, m, k, a)
	if bias != nil {
		if len(bias) < n || beta != 0 {
			panic(fmt.Sprintf("blas: GemmBF16R wants a bias of %d with beta 0, got %d with beta %g", n, len(bias), beta))
		}
		bias = bias[:n]
	}
	if !check(transA, transB, m, n, k, a.data, a.Cols, b.data, b.Cols, c, ldc, beta) {
		return nil
	}
	return gemmBF16(transA, transB, m, n, k, alpha, operandA{r: a}, b, bias, beta, c, ldc)
}

// operandA is a GEMM's A: float32 with row stride ld, rounded part by part
// as the product runs, or r, rounded already.
type operandA struct {
	f32 []float32
	ld  int
	r   *BF16Matrix
}

// checkRounded panics unless x, operand name of fn, holds op(x) of
// rows×cols: rows×cols as stored, or cols×rows when trans.
func checkRounded(fn, name string, trans bool, rows, cols int, x *BF16Matrix) {
	rows, cols = stored(trans, rows, cols)
	if x.Rows != rows || x.Cols != cols {
		panic(fmt.Sprintf("blas: %s wants %s %d×%d, got %d×%d", fn, name, rows, cols, x.Rows, x.Cols))
	}
}
