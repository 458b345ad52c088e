// Package safetensors reads and writes the Hugging Face safetensors format,
// byte-compatible with the reference implementation
// (github.com/huggingface/safetensors, safetensors/src/tensor.rs, which the
// Python package wraps).
//
// # Format
//
// A file is an 8-byte little-endian unsigned header size N, N bytes of
// UTF-8 JSON header, then the data buffer. The header maps each tensor name
// to {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, with
// offsets relative to the start of the data buffer; an optional
// "__metadata__" entry maps strings to strings. Data is little endian,
// row-major.
//
// # Writing, as the reference writer does
//
// Write and Writer reproduce the reference serializer (prepare() in
// tensor.rs) byte for byte:
//
//   - Tensors are sorted by dtype, descending, in the order of the
//     reference's Dtype enum (declared "in increasing alignment order"):
//     BOOL < F4 < F6_E2M3 < F6_E3M2 < U8 < I8 < F8_E5M2 < F8_E4M3 <
//     F8_E8M0 < I16 < U16 < F16 < BF16 < I32 < U32 < F32 < C64 < F64 <
//     I64 < U64; ties are broken by name, ascending, bytewise. So U64, I64 and
//     F64 tensors come first, then F32, ..., and BF16 precedes F16. Data is
//     laid out contiguously in that order from offset 0.
//   - The header is compact JSON (serde_json::to_string): "__metadata__"
//     first if present, then the tensors in file order, each as
//     {"dtype":..,"shape":[..],"data_offsets":[b,e]}; strings escaped as
//     serde_json does (only '"', '\\' and control characters; non-ASCII is
//     written as raw UTF-8).
//   - The header is padded with spaces (0x20) to a multiple of 8 bytes, so
//     the data buffer starts 8-byte aligned; N counts the padding.
//   - Headers over 100,000,000 bytes are refused.
//
// One deliberate difference: the reference keeps metadata in a Rust
// HashMap, so its key order in the header is random from run to run; this
// package writes metadata keys sorted, which is deterministic and one of the
// orders the reference can produce.
//
// # Reading and validation
//
// Open parses and validates the header up front, then reads tensors lazily
// with ReadAt. It accepts exactly what the reference read_metadata()
// accepts, except that it is stricter in two corner cases noted below, and
// it never panics on malformed input (see FuzzOpen). Rejected:
//
//   - files shorter than 8 bytes; header sizes over 100,000,000 or past the
//     end of the file;
//   - headers that are not valid UTF-8, not one JSON object (trailing
//     whitespace, e.g. the padding, is fine), or whose __metadata__ is not
//     an object of strings;
//   - tensor entries missing dtype/shape/data_offsets or with the wrong JSON
//     types (shape and offsets must be unsigned integers; unknown extra
//     fields are ignored, as serde does), unknown dtypes;
//   - shape × dtype size that overflows or differs from end − begin, or
//     end < begin;
//   - any hole, overlap or trailing bytes: sorted by offset, the tensors
//     must tile the data buffer exactly, from 0 to the end of the file (the
//     reference's validate() plus its MetadataIncompleteBuffer check);
//     zero-size tensors are allowed anywhere.
//   - stricter than the reference: duplicate tensor names or metadata keys
//     (serde silently keeps the last) and shape dimensions above MaxInt64.
//
// The one known lenient corner: a lone UTF-16 surrogate escape such as
// "\ud800" inside a JSON string is an error in serde_json but decodes to
// U+FFFD here (encoding/json behaviour).
//
// Every error is an *Error naming the file and, where one is involved, the
// tensor; match the kind with errors.Is against ErrInvalid, ErrNotFound,
// ErrDType, ErrSize, ErrNonFinite, ErrUsage.
//
// # Float conversion
//
// Float32/ReadFloat32Into convert F16 and BF16 exactly and F64 with
// round-to-nearest-even; integer and other dtypes are read with Raw.
// Writing converts float32 to F16 and BF16 with round-to-nearest-even, as
// torch does: BF16 per c10::BFloat16 (NaN → 0x7FC0), F16 per the FP16
// library torch uses (NaN → sign|0x7E00, overflow → ±Inf, subnormals
// rounded correctly). The scalar and slice helpers (F32ToBF16,
// F16ToF32Slice, ...) are exported.
//
// # Atomic, streaming writes
//
// Write and Writer write through package atomicfile: a temporary file in
// the same directory, fsynced and renamed into place by Close. A killed
// process therefore never leaves a partial file at the destination (at most
// a stray ".<name>.tmp-*" next to it). Writer streams tensors larger than
// memory and returns the SHA-256 of the file from Close, computed on the
// fly.
package safetensors
