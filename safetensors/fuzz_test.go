package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"maps"
	"slices"
	"testing"
)

// FuzzOpen feeds arbitrary bytes to the reader. It must never panic; an
// accepted file must satisfy the format's invariants, read back every tensor,
// and survive re-serialization by the writer unchanged.
func FuzzOpen(f *testing.F) {
	seeds := [][]byte{
		file(`{}      `, nil),
		file(`{"__metadata__":{"framework":"pt"}}     `, nil),
		file(`{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}`, f32le(0, 1, 2, 3, 4, 5)),
		file(`{"__metadata__":{"a":"1"},"z":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},"y":{"dtype":"F64","shape":[],"data_offsets":[8,16]},`+
			`"a":{"dtype":"BF16","shape":[2],"data_offsets":[16,20]},"b":{"dtype":"F16","shape":[1],"data_offsets":[20,22]},`+
			`"e":{"dtype":"F16","shape":[0,3],"data_offsets":[22,22]},"u":{"dtype":"U8","shape":[3],"data_offsets":[22,25]}} `,
			[]byte{0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0xF8, 0x7F, 0x80, 0x3F, 0xCD, 0x3D, 0x00, 0x7C, 1, 2, 3}),
		file(`{"a":{"dtype":"F4","shape":[2,3],"data_offsets":[0,3]}}`, []byte{1, 2, 3}),
		file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)),
		file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)),
		file(`{"a":{"dtype":"F32","shape":[4294967296,4294967296,0],"data_offsets":[0,0]}}`, nil),
		file(`{"a":{"dtype":"F31","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 8)),
		file(`{"a":`, nil),
		binary.LittleEndian.AppendUint64(nil, 100_000_001),
		make([]byte, 7),
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sf, err := OpenReaderAt("fuzz", bytes.NewReader(data), int64(len(data)))
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("rejection is not an ErrInvalid *Error: %v", err)
			}
			return
		}
		names := sf.Names()
		if !slices.IsSorted(names) {
			t.Fatalf("names not sorted: %q", names)
		}
		var covered int64
		specs := make([]TensorSpec, 0, len(names))
		raws := make(map[string][]byte, len(names))
		for _, name := range names {
			info, ok := sf.Info(name)
			if !ok || info.Begin < 0 || info.End < info.Begin || sf.DataOffset()+info.End > int64(len(data)) {
				t.Fatalf("%q: bad info %+v", name, info)
			}
			covered += info.End - info.Begin
			raw, err := sf.Raw(name)
			if err != nil {
				t.Fatalf("%q: Raw: %v", name, err)
			}
			if info.DType.IsFloat() {
				if _, err := sf.Float32(name); err != nil {
					t.Fatalf("%q: Float32: %v", name, err)
				}
				if err := sf.CheckFinite(name); err != nil && !errors.Is(err, ErrNonFinite) {
					t.Fatalf("%q: CheckFinite: %v", name, err)
				}
			} else if _, err := sf.Float32(name); !errors.Is(err, ErrDType) {
				t.Fatalf("%q: Float32 on %s: %v", name, info.DType, err)
			}
			specs = append(specs, TensorSpec{Name: name, DType: info.DType, Shape: info.Shape})
			raws[name] = raw
		}
		if covered != int64(len(data))-sf.DataOffset() {
			t.Fatalf("tensors cover %d of %d buffer bytes", covered, int64(len(data))-sf.DataOffset())
		}

		// Re-serialize in memory with the writer's layout and read back.
		lay, err := layout("rt", specs, sf.Metadata())
		if err != nil {
			t.Fatalf("layout of an accepted file: %v", err)
		}
		out := binary.LittleEndian.AppendUint64(nil, uint64(len(lay.header)))
		out = append(out, lay.header...)
		for _, s := range lay.specs {
			out = append(out, raws[s.Name]...)
		}
		rt, err := OpenReaderAt("rt", bytes.NewReader(out), int64(len(out)))
		if err != nil {
			t.Fatalf("re-serialized file rejected: %v\n%q", err, out)
		}
		if !slices.Equal(rt.Names(), names) || !maps.Equal(rt.Metadata(), sf.Metadata()) {
			t.Fatalf("round trip changed names or metadata")
		}
		for _, name := range names {
			a, _ := sf.Info(name)
			b, _ := rt.Info(name)
			raw, _ := rt.Raw(name)
			if a.DType != b.DType || !slices.Equal(a.Shape, b.Shape) || !bytes.Equal(raw, raws[name]) {
				t.Fatalf("%q changed in round trip", name)
			}
		}
	})
}
