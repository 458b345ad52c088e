package safetensors

import (
	"math"
	"math/bits"
	"sync"
	"unsafe"
)

// Scalar conversions. All are exact where the value is representable and
// round to nearest, ties to even, otherwise — the same results as PyTorch's
// tensor.to(torch.float16) / tensor.to(torch.bfloat16) on CPU.

// F16ToF32 widens an IEEE 754 binary16 bit pattern to float32. The
// conversion is exact for every number: subnormals are normalized and ±Inf
// stay infinite. A NaN keeps its sign and payload (shifted into the top of
// the float32 mantissa) and is made quiet, matching x86 F16C and torch.
func F16ToF32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f && mant == 0: // ±Inf
		return math.Float32frombits(sign | 0x7f800000)
	case exp == 0x1f: // NaN: keep sign and payload, set the quiet bit as
		// the hardware (F16C vcvtph2ps) and torch's FP16 code do
		return math.Float32frombits(sign | 0x7fc00000 | mant<<13)
	case exp != 0: // normal: rebias 15 -> 127
		return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
	case mant == 0: // ±0
		return math.Float32frombits(sign)
	default: // subnormal: mant × 2^-24, normalize so bit 10 is set
		shift := uint32(bits.LeadingZeros32(mant) - 21)
		mant <<= shift
		return math.Float32frombits(sign | (113-shift)<<23 | (mant&0x3ff)<<13)
	}
}

// F32ToF16 narrows a float32 to an IEEE 754 binary16 bit pattern with
// round-to-nearest-even. Values beyond the half range become ±Inf, tiny
// values become (signed) subnormals or zero, and any NaN becomes the quiet
// NaN 0x7E00 with the input's sign (as PyTorch/FP16 fp16_ieee_from_fp32_value
// does; NaN payloads are not preserved).
func F32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 112 // half-precision biased exponent
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		// Result is subnormal (or rounds up to the smallest normal).
		// Value = m × 2^(exp-150); in units of 2^-24 that is m >> (14-e).
		if e < -10 {
			return sign // below half the smallest subnormal: rounds to 0
		}
		m := mant | 0x800000
		shift := uint32(14 - e) // 14..24
		r := m >> shift
		rem := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || (rem == half && r&1 != 0) {
			r++
		}
		return sign | uint16(r)
	}
	r := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && r&1 != 0) {
		r++ // may carry into the exponent, up to 0x7c00 = Inf: correct
	}
	return sign | uint16(r)
}

// BF16ToF32 widens a bfloat16 bit pattern to float32 (exact: bfloat16 is the
// top half of a float32).
func BF16ToF32(b uint16) float32 { return math.Float32frombits(uint32(b) << 16) }

// F32ToBF16 narrows a float32 to bfloat16 with round-to-nearest-even, exactly
// as c10::BFloat16 (torch) does: finite values that round past the largest
// bfloat16 become ±Inf, and every NaN becomes the canonical quiet NaN 0x7FC0
// (sign and payload dropped).
func F32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 { // NaN
		return 0x7fc0
	}
	return uint16((b + 0x7fff + (b>>16)&1) >> 16)
}

// Slice conversions. dst must be at least as long as src (they panic
// otherwise); only dst[:len(src)] is written. They are single-threaded
// tight loops: splitting them over goroutines measured no faster on the
// 2-vCPU development machine (the widening kernels are memory-bound), so
// callers wanting parallelism should convert different tensors
// concurrently instead.

// F16ToF32Slice converts binary16 bit patterns to float32.
func F16ToF32Slice(dst []float32, src []uint16) {
	f16ToF32(dst[:len(src)], src)
}

// F32ToF16Slice converts float32 values to binary16 bit patterns.
func F32ToF16Slice(dst []uint16, src []float32) {
	f32ToF16(dst[:len(src)], src)
}

// BF16ToF32Slice converts bfloat16 bit patterns to float32.
func BF16ToF32Slice(dst []float32, src []uint16) {
	bf16ToF32(dst[:len(src)], src)
}

// F32ToBF16Slice converts float32 values to bfloat16 bit patterns.
func F32ToBF16Slice(dst []uint16, src []float32) {
	f32ToBF16(dst[:len(src)], src)
}

// Serial kernels. len(dst) == len(src) is the caller's job.

// f16Table maps every binary16 bit pattern to its float32 (256 KiB, built
// on first use): one load per element is ~5x faster than the branchy scalar
// code on real weights, whose exponents vary unpredictably.
var (
	f16TableOnce sync.Once
	f16Table     *[1 << 16]float32
)

func f16ToF32(dst []float32, src []uint16) {
	f16TableOnce.Do(func() {
		t := new([1 << 16]float32)
		for i := range t {
			t[i] = F16ToF32(uint16(i))
		}
		f16Table = t
	})
	t := f16Table
	dst = dst[:len(src)]
	for i, h := range src {
		dst[i] = t[h]
	}
}

func f32ToF16(dst []uint16, src []float32) {
	dst = dst[:len(src)]
	for i, f := range src {
		b := math.Float32bits(f)
		if a := b & 0x7fffffff; a-0x38800000 < 0x47800000-0x38800000 {
			// 2^-14 <= |f| < 2^16: a normal half (or Inf after rounding).
			// Rebias the exponent and round to nearest even without a
			// data-dependent branch; a carry out of the mantissa bumps the
			// exponent, up to 0x7C00 = Inf.
			x := a - 112<<23
			r := (x + 0xfff + (x>>13)&1) >> 13
			dst[i] = uint16(b>>16)&0x8000 | uint16(min(r, 0x7c00))
		} else {
			dst[i] = F32ToF16(f)
		}
	}
}

func bf16ToF32(dst []float32, src []uint16) {
	dst = dst[:len(src)]
	for i, b := range src {
		dst[i] = math.Float32frombits(uint32(b) << 16)
	}
}

func f32ToBF16(dst []uint16, src []float32) {
	dst = dst[:len(src)]
	for i, f := range src {
		dst[i] = F32ToBF16(f)
	}
}

func f64ToF32(dst []float32, src []float64) {
	dst = dst[:len(src)]
	for i, f := range src {
		dst[i] = float32(f) // Go converts with round-to-nearest-even
	}
}

// hostLittleEndian is true on every platform Go commonly runs on; the
// unsafe byte views below are only used when it holds, otherwise the slow
// portable paths decode byte by byte.
var hostLittleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// Unsafe reinterpretations between []byte and element slices, valid on
// little-endian hosts (the file format is little endian).

func bytesOfF32(s []float32) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*4)
}

func bytesOfU16(s []uint16) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*2)
}

func u16sOfBytes(b []byte) []uint16 {
	if len(b) < 2 {
		return nil
	}
	return unsafe.Slice((*uint16)(unsafe.Pointer(&b[0])), len(b)/2)
}

func u32sOfBytes(b []byte) []uint32 {
	if len(b) < 4 {
		return nil
	}
	return unsafe.Slice((*uint32)(unsafe.Pointer(&b[0])), len(b)/4)
}

func f64sOfBytes(b []byte) []float64 {
	if len(b) < 8 {
		return nil
	}
	return unsafe.Slice((*float64)(unsafe.Pointer(&b[0])), len(b)/8)
}
