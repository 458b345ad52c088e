package safetensors

import (
	"math"
	"math/rand/v2"
	"testing"
)

func f32(bits uint32) float32 { return math.Float32frombits(bits) }

// Hand-checked bit patterns (IEEE 754 binary16 tables; torch gives the same,
// e.g. torch.tensor(0.1).half().view(torch.int16) == 0x2E66).
func TestF16KnownPatterns(t *testing.T) {
	widen := []struct {
		h uint16
		f float32
	}{
		{0x0000, 0}, {0x3C00, 1}, {0xC000, -2}, {0x3E00, 1.5}, {0x7BFF, 65504},
		{0x0400, 0x1p-14}, {0x0001, 0x1p-24}, {0x03FF, 1023 * 0x1p-24}, {0x8001, -0x1p-24},
		{0x3555, 0.333251953125}, {0x2E66, 0.0999755859375},
	}
	for _, c := range widen {
		if got := F16ToF32(c.h); got != c.f {
			t.Errorf("F16ToF32(%#04x) = %v, want %v", c.h, got, c.f)
		}
		if got := F32ToF16(c.f); got != c.h {
			t.Errorf("F32ToF16(%v) = %#04x, want %#04x", c.f, got, c.h)
		}
	}
	if b := math.Float32bits(F16ToF32(0x8000)); b != 0x80000000 {
		t.Errorf("F16ToF32(-0) bits %#x", b)
	}
	if !math.IsInf(float64(F16ToF32(0x7C00)), 1) || !math.IsInf(float64(F16ToF32(0xFC00)), -1) {
		t.Error("F16 infinities")
	}
	if b := math.Float32bits(F16ToF32(0x7E00)); b != 0x7FC00000 {
		t.Errorf("F16ToF32(0x7E00) bits %#x, want 0x7fc00000", b)
	}
	if b := math.Float32bits(F16ToF32(0xFD01)); b != 0xFFE02000 { // sNaN: quieted, payload kept
		t.Errorf("F16ToF32(0xFD01) bits %#x, want 0xffe02000", b)
	}

	narrow := []struct {
		f    float32
		h    uint16
		note string
	}{
		{65519, 0x7BFF, "below the overflow tie"},
		{65520, 0x7C00, "overflow tie rounds to even = Inf"},
		{1e10, 0x7C00, "overflow"},
		{-1e10, 0xFC00, "negative overflow"},
		{1 + 0x1p-11, 0x3C00, "tie, round down to even"},
		{1 + 3*0x1p-11, 0x3C02, "tie, round up to even"},
		{1 + 0x1p-11 + 0x1p-20, 0x3C01, "just above tie"},
		{0x1p-25, 0x0000, "half the smallest subnormal: tie to even zero"},
		{0x1p-25 + 0x1p-40, 0x0001, "just above: smallest subnormal"},
		{3 * 0x1p-25, 0x0002, "subnormal tie to even"},
		{1023.5 * 0x1p-24, 0x0400, "largest subnormal + half ulp rounds to the smallest normal"},
		{-0x1p-30, 0x8000, "tiny negative to -0"},
		{1e-8, 0x0000, "underflow"},
		{float32(math.Inf(1)), 0x7C00, "+Inf"},
		{float32(math.Inf(-1)), 0xFC00, "-Inf"},
		{f32(0x7FC00000), 0x7E00, "NaN"},
		{f32(0xFFC00000), 0xFE00, "-NaN keeps sign"},
		{f32(0x7F800001), 0x7E00, "sNaN payload dropped"},
		{f32(0x00000001), 0x0000, "f32 subnormal"},
	}
	for _, c := range narrow {
		if got := F32ToF16(c.f); got != c.h {
			t.Errorf("F32ToF16(%g) = %#04x, want %#04x (%s)", c.f, got, c.h, c.note)
		}
	}
}

// c10::BFloat16 round_to_nearest_even results.
func TestBF16KnownPatterns(t *testing.T) {
	cases := []struct {
		in   uint32
		out  uint16
		note string
	}{
		{0x3F800000, 0x3F80, "1.0"},
		{0x3DCCCCCD, 0x3DCD, "0.1 rounds up"},
		{0x3F808000, 0x3F80, "tie, even stays"},
		{0x3F818000, 0x3F82, "tie, odd rounds up"},
		{0x3F808001, 0x3F81, "above tie"},
		{0x3F807FFF, 0x3F80, "below tie"},
		{0x7F7FFFFF, 0x7F80, "max float rounds to Inf"},
		{0x7F7F7FFF, 0x7F7F, "stays finite"},
		{0xFF7FFFFF, 0xFF80, "to -Inf"},
		{0x7F800000, 0x7F80, "+Inf"},
		{0xFF800000, 0xFF80, "-Inf"},
		{0x7FC00000, 0x7FC0, "NaN"},
		{0xFFC00000, 0x7FC0, "-NaN becomes canonical NaN"},
		{0x7F800001, 0x7FC0, "sNaN whose truncation would be Inf"},
		{0x00008000, 0x0000, "subnormal tie to even zero"},
		{0x00018000, 0x0002, "subnormal tie up"},
		{0x00000001, 0x0000, "smallest f32 subnormal"},
		{0x80000000, 0x8000, "-0"},
	}
	for _, c := range cases {
		if got := F32ToBF16(f32(c.in)); got != c.out {
			t.Errorf("F32ToBF16(%#08x) = %#04x, want %#04x (%s)", c.in, got, c.out, c.note)
		}
	}
	if BF16ToF32(0x3F80) != 1 || BF16ToF32(0xC040) != -3 || math.Float32bits(BF16ToF32(0x7FC1)) != 0x7FC10000 {
		t.Error("BF16ToF32")
	}
}

// refF32ToF16 / refF16ToF32 are the FP16-library algorithms
// (fp16_ieee_from_fp32_value / fp16_ieee_to_fp32_value) that torch uses for
// scalar half conversion, written independently from its description.
func refF32ToF16(f float32) uint16 {
	base := float32(float32(float32(math.Abs(float64(f)))*f32(0x77800000)) * f32(0x08800000))
	w := math.Float32bits(f)
	shl1w := w + w
	sign := w & 0x80000000
	bias := shl1w & 0xFF000000
	if bias < 0x71000000 {
		bias = 0x71000000
	}
	base = f32((bias>>1)+0x07800000) + base
	bits := math.Float32bits(base)
	nonsign := (bits>>13)&0x7C00 + bits&0x0FFF
	if shl1w > 0xFF000000 {
		return uint16(sign>>16 | 0x7E00)
	}
	return uint16(sign>>16 | nonsign)
}

func refF16ToF32(h uint16) float32 {
	w := uint32(h) << 16
	sign := w & 0x80000000
	twoW := w + w
	normalized := f32((twoW>>4)+0xE0<<23) * f32(0x07800000)
	denormalized := f32((twoW>>17)|126<<23) - 0.5
	if twoW < 1<<27 {
		return f32(sign | math.Float32bits(denormalized))
	}
	return f32(sign | math.Float32bits(normalized))
}

// oracle16 rounds f to a 16-bit float with mantBits explicit mantissa bits,
// minimum normal exponent minExp and bias, computing the round-to-nearest-
// even in float64 arithmetic (exact here). Finite inputs only.
func oracle16(f float32, mantBits int, minExp, bias int, infBits uint16) uint16 {
	a := math.Abs(float64(f))
	var sign uint16
	if math.Signbit(float64(f)) {
		sign = 0x8000
	}
	_, e := math.Frexp(a)
	e-- // a = 1.x × 2^e
	if a == 0 || e < minExp {
		e = minExp
	}
	ulp := math.Ldexp(1, e-mantBits)
	r := math.RoundToEven(a / ulp)
	var h uint64
	if a < math.Ldexp(1, minExp) {
		h = uint64(r) // subnormal; r == 2^mantBits encodes the min normal
	} else {
		h = uint64(e+bias)<<mantBits + uint64(r) - 1<<mantBits
	}
	if h >= uint64(infBits) {
		h = uint64(infBits)
	}
	return sign | uint16(h)
}

func checkNarrow(t *testing.T, bits uint32) {
	f := f32(bits)
	if f != f {
		return
	}
	got, ref := F32ToF16(f), refF32ToF16(f)
	if want := oracle16(f, 10, -14, 15, 0x7C00); got != want || got != ref {
		t.Fatalf("F32ToF16(%#08x=%g) = %#04x, oracle %#04x, torch algorithm %#04x", bits, f, got, want, ref)
	}
	if got, want := F32ToBF16(f), oracle16(f, 7, -126, 127, 0x7F80); got != want {
		t.Fatalf("F32ToBF16(%#08x=%g) = %#04x, oracle %#04x", bits, f, got, want)
	}
}

// TestNarrowSweep checks F32ToF16/F32ToBF16 against an independent float64
// oracle (and F16 against torch's algorithm) on a sweep of all float32 bit
// patterns plus every rounding boundary of both formats.
func TestNarrowSweep(t *testing.T) {
	stride := uint64(997)
	if testing.Short() {
		stride = 99991
	}
	for b := uint64(0); b < 1<<32; b += stride {
		checkNarrow(t, uint32(b))
	}
	for h := uint32(0); h < 1<<16; h++ {
		// BF16 midpoints and neighbours.
		mid := h<<16 | 0x8000
		for _, b := range []uint32{mid - 1, mid, mid + 1, h << 16} {
			checkNarrow(t, b)
		}
		// F16 midpoints (exact in float32) and neighbours.
		if h&0x7FFF < 0x7C00 {
			lo, hi := float64(F16ToF32(uint16(h))), float64(F16ToF32(uint16(h+1)))
			if h&0x7FFF == 0x7BFF {
				hi = math.Copysign(65536, lo)
			}
			m := math.Float32bits(float32((lo + hi) / 2))
			for _, b := range []uint32{m - 1, m, m + 1} {
				checkNarrow(t, b)
			}
		}
	}
}

func TestWidenExhaustive(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		got := F16ToF32(h)
		if ref := refF16ToF32(h); math.Float32bits(got) != math.Float32bits(ref) {
			t.Fatalf("F16ToF32(%#04x) = %#08x, torch algorithm %#08x", h, math.Float32bits(got), math.Float32bits(ref))
		}
		// Value check from the definition for finite halves.
		if e, m := int(h>>10&0x1f), float64(h&0x3ff); e != 0x1f {
			v := math.Ldexp(m, -24)
			if e > 0 {
				v = math.Ldexp(1024+m, e-25)
			}
			if h&0x8000 != 0 {
				v = -v
			}
			if float64(got) != v {
				t.Fatalf("F16ToF32(%#04x) = %g, want %g", h, got, v)
			}
			if back := F32ToF16(got); back != h {
				t.Fatalf("F16 round trip %#04x -> %#04x", h, back)
			}
		}
		if bf := F32ToBF16(BF16ToF32(h)); bf != h && h&0x7FFF <= 0x7F80 {
			t.Fatalf("BF16 round trip %#04x -> %#04x", h, bf)
		}
	}
}

func TestSliceConversions(t *testing.T) {
	// A sweep of all float32 bit patterns (so the branchless fast path of
	// the narrowing kernel meets every exponent and rounding case) plus
	// random ones.
	r := rand.New(rand.NewPCG(1, 2))
	var src []float32
	for b := uint64(0); b < 1<<32; b += 1021 {
		src = append(src, f32(uint32(b)))
	}
	for range 1 << 18 {
		src = append(src, f32(r.Uint32()))
	}
	n := len(src)
	h := make([]uint16, n)
	back := make([]float32, n)
	F32ToF16Slice(h, src)
	F16ToF32Slice(back, h)
	for i := range src {
		if h[i] != F32ToF16(src[i]) || math.Float32bits(back[i]) != math.Float32bits(F16ToF32(h[i])) {
			t.Fatalf("F16 slice mismatch at %d", i)
		}
	}
	F32ToBF16Slice(h, src)
	BF16ToF32Slice(back, h)
	for i := range src {
		if h[i] != F32ToBF16(src[i]) || math.Float32bits(back[i]) != uint32(h[i])<<16 {
			t.Fatalf("BF16 slice mismatch at %d", i)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("short dst: want panic")
		}
	}()
	F32ToF16Slice(make([]uint16, 1), src[:2])
}

func benchConv(b *testing.B, fn func(dst []float32, src []uint16)) {
	// Realistic weights: N(0, 0.02) rounded to half.
	src := make([]uint16, 1<<22)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range src {
		src[i] = F32ToF16(float32(r.NormFloat64() * 0.02))
	}
	dst := make([]float32, len(src))
	b.SetBytes(int64(len(src) * 2))
	for b.Loop() {
		fn(dst, src)
	}
}

func BenchmarkF16ToF32(b *testing.B)  { benchConv(b, F16ToF32Slice) }
func BenchmarkBF16ToF32(b *testing.B) { benchConv(b, BF16ToF32Slice) }

func benchNarrow(b *testing.B, fn func(dst []uint16, src []float32)) {
	src := make([]float32, 1<<22)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range src {
		src[i] = float32(r.NormFloat64() * 0.02)
	}
	dst := make([]uint16, len(src))
	b.SetBytes(int64(len(src) * 4))
	for b.Loop() {
		fn(dst, src)
	}
}

func BenchmarkF32ToF16(b *testing.B)  { benchNarrow(b, F32ToF16Slice) }
func BenchmarkF32ToBF16(b *testing.B) { benchNarrow(b, F32ToBF16Slice) }
