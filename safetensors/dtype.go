package safetensors

// DType is a safetensors element type, spelled exactly as in the header
// ("F32", "BF16", ...).
type DType string

// The dtypes of the reference implementation (safetensors/src/tensor.rs).
const (
	BOOL    DType = "BOOL"
	F4      DType = "F4"      // 4-bit MXFP4, two per byte
	F6_E2M3 DType = "F6_E2M3" // 6-bit MXFP6
	F6_E3M2 DType = "F6_E3M2" // 6-bit MXFP6
	U8      DType = "U8"
	I8      DType = "I8"
	F8_E5M2 DType = "F8_E5M2"
	F8_E4M3 DType = "F8_E4M3"
	F8_E8M0 DType = "F8_E8M0"
	I16     DType = "I16"
	U16     DType = "U16"
	F16     DType = "F16"
	BF16    DType = "BF16"
	I32     DType = "I32"
	U32     DType = "U32"
	F32     DType = "F32"
	C64     DType = "C64"
	F64     DType = "F64"
	I64     DType = "I64"
	U64     DType = "U64"
)

// dtypeInfo holds, per dtype, its width in bits and its rank: the position
// of the variant in the reference `enum Dtype`, whose derived Ord the writer
// sorts on (descending) to lay out tensors by decreasing alignment.
var dtypeInfo = map[DType]struct{ bits, rank int }{
	BOOL: {8, 0}, F4: {4, 1}, F6_E2M3: {6, 2}, F6_E3M2: {6, 3},
	U8: {8, 4}, I8: {8, 5}, F8_E5M2: {8, 6}, F8_E4M3: {8, 7}, F8_E8M0: {8, 8},
	I16: {16, 9}, U16: {16, 10}, F16: {16, 11}, BF16: {16, 12},
	I32: {32, 13}, U32: {32, 14}, F32: {32, 15}, C64: {64, 16},
	F64: {64, 17}, I64: {64, 18}, U64: {64, 19},
}

// Valid reports whether d is a dtype the format defines.
func (d DType) Valid() bool { _, ok := dtypeInfo[d]; return ok }

// Bits returns the width of one element in bits, or 0 for an unknown dtype.
func (d DType) Bits() int { return dtypeInfo[d].bits }

// IsFloat reports whether Float32 can convert d (F32, F16, BF16, F64).
func (d DType) IsFloat() bool {
	switch d {
	case F32, F16, BF16, F64:
		return true
	}
	return false
}

// byteLen returns the byte length of numel elements of d, checking for
// overflow and for sub-byte dtypes not ending on a byte boundary.
func (d DType) byteLen(numel uint64) (uint64, bool) {
	bits := uint64(d.Bits())
	if bits == 0 {
		return 0, false
	}
	if numel > (1<<64-1)/bits {
		return 0, false
	}
	nbits := numel * bits
	if nbits%8 != 0 {
		return 0, false
	}
	return nbits / 8, true
}

// numel multiplies the dims left to right with overflow checking, exactly as
// the reference does (so [0, huge, huge] is 0 but [huge, huge, 0] overflows).
func numel(shape []int) (uint64, bool) {
	n := uint64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		u := uint64(d)
		if u != 0 && n > (1<<64-1)/u {
			return 0, false
		}
		n *= u
	}
	return n, true
}
