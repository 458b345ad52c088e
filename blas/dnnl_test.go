//go:build !nodnnl && cgo && !purego

package blas

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The bf16 GEMMs are checked against a float64 product of the inputs
// rounded to bfloat16 (see BF16). bfloat16 has an 8-bit significand, so each
// product of two rounded inputs has at most 16 significant bits and is exact
// in float32 (24 bits); the fused multiply-adds of AVX512_BF16 (VDPBF16PS)
// and AMX add it with one rounding. What remains is float32 summation of k
// terms, bounded as for sgemm by reference (check.go): 2·(k+3)·2⁻²⁴ times
// |alpha|·Σ|a·b| + |beta·c|. A GEMM that rounds its inputs any other way
// (truncation, or no rounding) misses that bound by orders of magnitude:
// one input off by one bfloat16 step moves a product by 2⁻⁸ of itself.

func requireBF16(t testing.TB) {
	t.Helper()
	if err := BF16Check(); err != nil {
		if !BF16Supported() && !strings.Contains(err.Error(), "AVX512_BF16") {
			t.Fatalf("BF16Check() = %v, which does not name the missing instructions", err)
		}
		t.Skip(err)
	}
}

// roundedCopy is x rounded to bfloat16 and back: the values the GEMM
// multiplies.
func roundedCopy(x []float32) []float32 {
	r := make([]float32, len(x))
	for i, v := range x {
		r[i] = FromBF16(BF16(v))
	}
	return r
}

// opRows returns op(X)'s rows (rows×cols of it) as float64, contiguous.
func opRows(trans bool, rows, cols int, x []float32, ld int) []float64 {
	out := make([]float64, rows*cols)
	for i := range rows {
		for p := range cols {
			if trans {
				out[i*cols+p] = float64(x[p*ld+i])
			} else {
				out[i*cols+p] = float64(x[i*ld+p])
			}
		}
	}
	return out
}

// TestRoundRowsAVX512 checks the AVX512_BF16 rounding against BF16 on
// random bit patterns (every exponent, NaNs, infinities, subnormals, ties)
// in rows of 37, which leave a tail after two vectors of 16, with a stride.
func TestRoundRowsAVX512(t *testing.T) {
	requireBF16(t)
	const rows, cols, ld = 3000, 37, 41
	rng := rand.New(rand.NewPCG(9, 10))
	x := make([]float32, rows*ld)
	for i := range x {
		bits := rng.Uint32()
		if i%7 == 0 {
			bits = bits&^0xffff | 0x8000 // a tie
		}
		x[i] = math.Float32frombits(bits)
	}
	got, want := make([]uint16, rows*cols), make([]uint16, rows*cols)
	roundRowsAVX512(got, cols, x, ld, rows, cols)
	roundRowsGo(want, cols, x, ld, rows, cols)
	for i := range rows {
		for j := range cols {
			v, g, w := x[i*ld+j], got[i*cols+j], want[i*cols+j]
			switch bits := math.Float32bits(v); {
			case math.IsNaN(float64(v)):
				if !math.IsNaN(float64(FromBF16(g))) {
					t.Fatalf("%#08x (NaN) rounded to %#04x", bits, g)
				}
			case bits&0x7f800000 == 0: // zero or subnormal: flushed to zero
				if g != uint16(bits>>16)&0x8000 {
					t.Fatalf("%#08x (subnormal) rounded to %#04x, want a signed zero", bits, g)
				}
			case g != w:
				t.Fatalf("%#08x rounded to %#04x, want %#04x", bits, g, w)
			}
		}
	}
}

func TestGemmBF16(t *testing.T) {
	requireBF16(t)
	rng := rand.New(rand.NewPCG(3, 4))
	type shape struct{ m, n, k int }
	shapes := []shape{
		{1, 1, 1},
		{5, 3, 7},
		{17, 33, 31},  // tails past every block of 16 and 32
		{64, 48, 80},  // whole blocks
		{37, 29, 300}, // k past one block
		{4, 6, 0},
		{300, 90, 200}, // split across goroutines by rows
		{70, 310, 190}, // and by columns
	}
	for _, s := range shapes {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				for _, ab := range [][2]float32{{1, 0}, {1, 1}, {-0.5, 0.25}, {2, 1}} {
					for _, pad := range []int{0, 3} {
						name := fmt.Sprintf("%dx%dx%d_%v%v_a%g_b%g_pad%d", s.m, s.n, s.k, ta, tb, ab[0], ab[1], pad)
						t.Run(name, func(t *testing.T) {
							checkGemmBF16(t, rng, ta, tb, s.m, s.n, s.k, ab[0], ab[1], pad)
						})
					}
				}
			}
		}
	}
}

func checkGemmBF16(t *testing.T, rng *rand.Rand, ta, tb bool, m, n, k int, alpha, beta float32, pad int) {
	ar, ac := m, k
	if ta {
		ar, ac = k, m
	}
	br, bc := k, n
	if tb {
		br, bc = n, k
	}
	lda, ldb, ldc := ac+pad, bc+pad, n+pad
	a, b := randSlice(rng, max(ar*lda, 1)), randSlice(rng, max(br*ldb, 1))
	c := randSlice(rng, m*ldc+guard)
	if beta == 0 {
		// C is not read when beta is 0: NaN there must not show.
		for i := range m {
			for j := range n {
				c[i*ldc+j] = float32(math.NaN())
			}
		}
	}
	c0 := slices.Clone(c)
	end := (m-1)*ldc + n
	if err := GemmBF16(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c[:end], ldc); err != nil {
		t.Fatal(err)
	}
	opA := opRows(ta, m, k, roundedCopy(a), lda)
	opB := opRows(!tb, n, k, roundedCopy(b), ldb) // op(B)'s columns
	verify := func(fn string, c []float32) {
		t.Helper()
		for i := range m {
			for j := range n {
				var cij float64
				if beta != 0 {
					cij = float64(c0[i*ldc+j])
				}
				want, tol := reference(opA[i*k:(i+1)*k], opB[j*k:(j+1)*k], alpha, beta, cij)
				if got := float64(c[i*ldc+j]); !(math.Abs(got-want) <= tol) {
					t.Fatalf("%s: C[%d][%d] = %g, want %g ± %.1e", fn, i, j, got, want, tol)
				}
			}
		}
		if err := untouched(fn, c, c0, m, n, ldc); err != nil {
			t.Fatal(err)
		}
	}
	verify("GemmBF16", c)

	// The same product with B rounded beforehand is the same computation.
	var w BF16Matrix
	w.Round(br, bc, b, ldb)
	cw := slices.Clone(c0)
	if err := GemmBF16W(ta, tb, m, n, k, alpha, a, lda, &w, beta, cw[:end], ldc); err != nil {
		t.Fatal(err)
	}
	for i := range m {
		for j := range n {
			if x, y := math.Float32bits(c[i*ldc+j]), math.Float32bits(cw[i*ldc+j]); x != y {
				t.Fatalf("GemmBF16W: C[%d][%d] = %g, GemmBF16 gave %g", i, j, cw[i*ldc+j], c[i*ldc+j])
			}
		}
	}

	// And with A rounded beforehand too, into a pooled temporary: the same
	// numbers, read with A's own stride.
	ra := RoundTemporary(ar, ac, a, lda)
	defer ra.Release()
	cr := slices.Clone(c0)
	if err := GemmBF16R(ta, tb, m, n, k, alpha, ra, &w, nil, beta, cr[:end], ldc); err != nil {
		t.Fatal(err)
	}
	verify("GemmBF16R", cr)

	// On the calling goroutine, each operand float32 or bfloat16 bits
	// rounded beforehand, read with its own stride.
	bitsOf := func(x []float32) []uint16 {
		bits := make([]uint16, len(x))
		for i, v := range x {
			bits[i] = BF16(v)
		}
		return bits
	}
	for _, form := range []struct {
		name string
		a, b Operand
	}{
		{"float32", Operand{F32: a, LD: lda}, Operand{F32: b, LD: ldb}},
		{"bits A", Operand{Bits: bitsOf(a), LD: lda}, Operand{F32: b, LD: ldb}},
		{"bits B", Operand{F32: a, LD: lda}, Operand{Bits: bitsOf(b), LD: ldb}},
		{"bits", Operand{Bits: bitsOf(a), LD: lda}, Operand{Bits: bitsOf(b), LD: ldb}},
	} {
		cs := slices.Clone(c0)
		if err := GemmBF16Serial(ta, tb, m, n, k, alpha, form.a, form.b, beta, cs[:end], ldc); err != nil {
			t.Fatal(err)
		}
		verify("GemmBF16Serial, "+form.name, cs)
	}
}

// TestGemmBF16WBias checks the dense layer's fused product against
// GemmBF16W on C preset to the bias rows: the same sum, to float32 rounding,
// whether the product is split by rows or by columns.
func TestGemmBF16WBias(t *testing.T) {
	requireBF16(t)
	rng := rand.New(rand.NewPCG(7, 8))
	for _, s := range []struct{ m, n, k, pad int }{{5, 3, 7, 0}, {37, 29, 300, 2}, {300, 90, 200, 0}, {70, 310, 190, 3}} {
		t.Run(fmt.Sprintf("%dx%dx%d_pad%d", s.m, s.n, s.k, s.pad), func(t *testing.T) {
			a, b, bias := randSlice(rng, s.m*s.k), randSlice(rng, s.n*s.k), randSlice(rng, s.n)
			ldc := s.n + s.pad
			var w BF16Matrix
			w.Round(s.n, s.k, b, s.k)
			want, got := make([]float32, s.m*ldc), make([]float32, s.m*ldc)
			for i := range s.m {
				copy(want[i*ldc:], bias)
			}
			if err := GemmBF16W(false, true, s.m, s.n, s.k, 1, a, s.k, &w, 1, want, ldc); err != nil {
				t.Fatal(err)
			}
			if err := GemmBF16WBias(false, true, s.m, s.n, s.k, a, s.k, &w, bias, got, ldc); err != nil {
				t.Fatal(err)
			}
			ra := RoundTemporary(s.m, s.k, a, s.k)
			defer ra.Release()
			gotR := make([]float32, s.m*ldc)
			if err := GemmBF16R(false, true, s.m, s.n, s.k, 1, ra, &w, bias, 0, gotR, ldc); err != nil {
				t.Fatal(err)
			}
			for i := range s.m {
				for j := range s.n {
					x := want[i*ldc+j]
					for _, g := range []float32{got[i*ldc+j], gotR[i*ldc+j]} {
						if d := math.Abs(float64(g - x)); d > 1e-6*(1+math.Abs(float64(x))) {
							t.Fatalf("C[%d][%d] = %v, with the bias preset %v", i, j, g, x)
						}
					}
				}
			}
		})
	}
}

// TestSgemmOneDNN checks the benchmark's oneDNN float32 side against Sgemm,
// to float32 summation error, in every transposition.
func TestSgemmOneDNN(t *testing.T) {
	requireBF16(t)
	rng := rand.New(rand.NewPCG(3, 4))
	const m, n, k = 37, 29, 53
	for _, ta := range []bool{false, true} {
		for _, tb := range []bool{false, true} {
			a, b := randSlice(rng, m*k), randSlice(rng, k*n)
			lda, ldb := k, n
			if ta {
				lda = m
			}
			if tb {
				ldb = k
			}
			want, got := randSlice(rng, m*n), make([]float32, m*n)
			copy(got, want)
			Sgemm(ta, tb, m, n, k, 0.5, a, lda, b, ldb, 2, want, n)
			if err := sgemmOneDNN(ta, tb, m, n, k, 0.5, a, lda, b, ldb, 2, got, n); err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("transA %v transB %v: C[%d] = %v, Sgemm %v", ta, tb, i, got[i], want[i])
				}
			}
		}
	}
}

// TestGemmBF16RoundsInputs fails when the inputs are multiplied at float32
// precision: against the float32 inputs' exact product the result must miss
// float32's bound (reference) on most entries, and keep within bfloat16's.
// With each input off by at most 2⁻⁸ of itself, each product is off by at
// most 2⁻⁷+2⁻¹⁶ of itself. For k = 64 the typical miss, about
// 2⁻⁸·(2/3)^½/√k ≈ 4·10⁻⁴ of Σ|a·b|, is 50 times float32's bound.
func TestGemmBF16RoundsInputs(t *testing.T) {
	requireBF16(t)
	const m, n, k = 32, 32, 64
	rng := rand.New(rand.NewPCG(5, 6))
	a, b, c := randSlice(rng, m*k), randSlice(rng, k*n), make([]float32, m*n)
	if err := GemmBF16(false, false, m, n, k, 1, a, k, b, n, 0, c, n); err != nil {
		t.Fatal(err)
	}
	opA, opB := opRows(false, m, k, a, k), opRows(true, n, k, b, n)
	missed := 0
	for i := range m {
		for j := range n {
			x, y := opA[i*k:(i+1)*k], opB[j*k:(j+1)*k]
			want, tol := reference(x, y, 1, 0, 0)
			var sum float64
			for p := range k {
				sum += math.Abs(x[p] * y[p])
			}
			d := math.Abs(float64(c[i*n+j]) - want)
			if d > tol {
				missed++
			}
			if bf16Tol := (0x1p-7+0x1p-16)*sum + tol; d > bf16Tol {
				t.Fatalf("C[%d][%d] = %g, want %g ± %.1e", i, j, c[i*n+j], want, bf16Tol)
			}
		}
	}
	if missed < m*n/2 {
		t.Errorf("only %d of %d entries differ from the float32 product by more than float32 rounding: the inputs were not rounded to bfloat16", missed, m*n)
	}
}

// TestGemmBF16Ties multiplies single numbers that sit exactly between two
// bfloat16 values: the product shows which way each was rounded.
func TestGemmBF16Ties(t *testing.T) {
	requireBF16(t)
	for _, tc := range []struct{ a, b, want float32 }{
		{1 + 0x1p-8, 1, 1},            // down to even
		{1 + 3*0x1p-8, 1, 1 + 0x1p-6}, // up to even
		{1 + 3*0x1p-8, -3, -3 * (1 + 0x1p-6)},
		{1 + 0x1p-8 + 0x1p-20, 1, 1 + 0x1p-7}, // past the tie: up
	} {
		c := []float32{0}
		if err := GemmBF16(false, false, 1, 1, 1, 1, []float32{tc.a}, 1, []float32{tc.b}, 1, 0, c, 1); err != nil {
			t.Fatal(err)
		}
		if c[0] != tc.want {
			t.Errorf("%g·%g = %g, want %g", tc.a, tc.b, c[0], tc.want)
		}
	}
}

// TestGemmBF16Concurrent runs one primitive on several goroutines at once:
// each must have its own scratchpad.
func TestGemmBF16Concurrent(t *testing.T) {
	requireBF16(t)
	const m, n, k = 96, 80, 128
	rng := rand.New(rand.NewPCG(7, 8))
	a, b := randSlice(rng, m*k), randSlice(rng, n*k)
	want := make([]float32, m*n)
	if err := GemmBF16(false, true, m, n, k, 1, a, k, b, k, 0, want, n); err != nil {
		t.Fatal(err)
	}
	before := len(matmuls.m)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			c := make([]float32, m*n)
			for range 20 {
				if err := GemmBF16(false, true, m, n, k, 1, a, k, b, k, 0, c, n); err != nil {
					t.Error(err)
					return
				}
				if !slices.Equal(c, want) {
					t.Errorf("goroutine %d: product differs from the first", g)
					return
				}
			}
		})
	}
	wg.Wait()
	if after := len(matmuls.m); after != before {
		t.Errorf("%d primitives created for a shape already cached", after-before)
	}
}

// bertShapes are BERT-base's products at batch 8 × 128 tokens (m = 1024),
// as the layers call them: forward x·Wᵀ, the input gradient dy·W and the
// weight gradient dyᵀ·x; and attention's per head and sequence.
var bertShapes = []struct {
	name           string
	transA, transB bool
	m, n, k        int
	weights        bool // B is a weight matrix, rounded once per step
}{
	{"qkv-out_x·Wᵀ", false, true, 1024, 768, 768, true},
	{"ffn-up_x·Wᵀ", false, true, 1024, 3072, 768, true},
	{"ffn-down_x·Wᵀ", false, true, 1024, 768, 3072, true},
	{"ffn-up_dy·W", false, false, 1024, 768, 3072, true},
	{"ffn-up_dyᵀ·x", true, false, 3072, 768, 1024, false},
	// One head of attention on one sequence of 128: both operands are
	// activations, and the products small enough for the per-call cost to
	// show.
	{"attention_q·kᵀ", false, true, 128, 128, 64, false},
	{"attention_p·v", false, false, 128, 64, 128, false},
}

// BenchmarkGemmBF16 times each shape with Sgemm and with the bf16 GEMM in
// turn, in one loop, so that all sides see the same load: Sgemm with the
// kernel family in use and, when it is not the most capable this CPU runs,
// with that one too (switching before each product, as BenchmarkFamilies
// does); the bf16 side as the model would call it, weights rounded
// beforehand (GemmBF16W) and activations rounded in the call (GemmBF16).
// At one thread oneDNN's float32 matmul runs beside them (onednn-f32). It
// reports each side's mean and best GFLOP/s and the ratios of bf16's to
// each other side's.
func BenchmarkGemmBF16(b *testing.B) {
	requireBF16(b)
	orig := CoreName()
	families := []string{orig}
	if l := cpuLevel(); l >= 0 && familyLevel(orig) < l {
		families = append(families, ladder[l])
	}
	for _, s := range bertShapes {
		for _, t := range slices.Compact([]int{1, runtime.NumCPU()}) {
			b.Run(fmt.Sprintf("%s_%dx%dx%d/threads=%d", s.name, s.m, s.n, s.k, t), func(b *testing.B) {
				defer SetThreads(Threads())
				SetThreads(t)
				benchmarkGemmBF16(b, families, s.transA, s.transB, s.m, s.n, s.k, s.weights)
			})
		}
	}
}

// useFamily makes OpenBLAS run family f, checked.
func useFamily(b *testing.B, f string) {
	coreMu.Lock()
	defer coreMu.Unlock()
	if strings.EqualFold(f, openblasCore()) {
		return
	}
	if err := switchCore(f); err != nil {
		b.Fatal(err)
	}
	if err := checkKernels(openblasSgemm, openblasSgemvT); err != nil {
		b.Fatalf("%s kernels: %v", f, err)
	}
}

func benchmarkGemmBF16(b *testing.B, families []string, ta, tb bool, m, n, k int, weights bool) {
	rng := rand.New(rand.NewPCG(1, 2))
	ar, ac := m, k
	if ta {
		ar, ac = k, m
	}
	br, bc := k, n
	if tb {
		br, bc = n, k
	}
	a, w, c := randSlice(rng, ar*ac), randSlice(rng, br*bc), make([]float32, m*n)
	var wr BF16Matrix
	wr.Round(br, bc, w, bc)
	bf16 := func() error {
		if weights {
			return GemmBF16W(ta, tb, m, n, k, 1, a, ac, &wr, 0, c, n)
		}
		return GemmBF16(ta, tb, m, n, k, 1, a, ac, w, bc, 0, c, n)
	}
	if err := bf16(); err != nil { // creates the primitives
		b.Fatal(err)
	}
	defer useFamily(b, families[0])
	sides := slices.Clone(families)
	if Threads() == 1 {
		// oneDNN's float32 matmul, which runs on one thread here: the
		// measurement behind keeping OpenBLAS for float32.
		sides = append(sides, "onednn-f32")
	}
	sides = append(sides, "bf16")
	elapsed, best := make([]time.Duration, len(sides)), make([]time.Duration, len(sides))
	load := loadavg()
	for b.Loop() {
		for i, side := range sides {
			if i < len(families) {
				useFamily(b, side)
			}
			start := time.Now()
			var err error
			switch {
			case i < len(families):
				Sgemm(ta, tb, m, n, k, 1, a, ac, w, bc, 0, c, n)
			case side == "onednn-f32":
				err = sgemmOneDNN(ta, tb, m, n, k, 1, a, ac, w, bc, 0, c, n)
			default:
				err = bf16()
			}
			if err != nil {
				b.Fatal(err)
			}
			d := time.Since(start)
			elapsed[i] += d
			if best[i] == 0 || d < best[i] {
				best[i] = d
			}
		}
	}
	b.ReportMetric(0, "ns/op") // the sum of all sides: meaningless
	flops := GemmFlops(m, n, k)
	bf := len(sides) - 1
	for i, side := range sides {
		b.ReportMetric(flops*float64(b.N)/elapsed[i].Seconds()/1e9, side+"-GFLOP/s")
		b.ReportMetric(flops/best[i].Seconds()/1e9, side+"-best-GFLOP/s")
		if i != bf {
			b.ReportMetric(elapsed[i].Seconds()/elapsed[bf].Seconds(), "bf16/"+side)
			b.ReportMetric(best[i].Seconds()/best[bf].Seconds(), "best-bf16/"+side)
		}
	}
	useFamily(b, families[0])
	b.Logf("sgemm: %s (sides: %s); bf16: %s (%s); load average %s before, %s after",
		Describe(), strings.Join(families, ", "), BF16Describe(), implsFor(ta, tb, k), load, loadavg())
}

// implsFor lists the primitives made for products of depth k, with the
// part of the product each computes: m×n and implementation.
func implsFor(ta, tb bool, k int) string {
	matmuls.Lock()
	defer matmuls.Unlock()
	var impls []string
	for key, mm := range matmuls.m {
		if key.transA == ta && key.transB == tb && key.k == k {
			impls = append(impls, fmt.Sprintf("%d×%d %s", key.m, key.n, mm.impl))
		}
	}
	slices.Sort(impls)
	return strings.Join(impls, ", ")
}

// loadavg is /proc/loadavg's 1-, 5- and 15-minute load: the machine may be
// shared, and the numbers mean little without it.
func loadavg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	return strings.Join(f[:min(3, len(f))], " ")
}
