package safetensors

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// file assembles a safetensors file from a header and a data buffer.
func file(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

func f32le(vs ...float32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

func writeRead(t *testing.T, tensors map[string]Tensor, md map[string]string) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "t.safetensors")
	if err := Write(path, tensors, md); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Golden files built by hand from the format description; the first four
// are the same bytes the reference implementation's own serialization tests
// expect (header sizes 64, 8, 40 and 72).
func TestGoldenBytes(t *testing.T) {
	six := []float32{0, 1, 2, 3, 4, 5}
	cases := []struct {
		name    string
		tensors map[string]Tensor
		md      map[string]string
		want    []byte
	}{
		{"one tensor, no padding needed", map[string]Tensor{"attn.0": {DType: F32, Shape: []int{1, 2, 3}, F32: six}}, nil,
			file(`{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}`, f32le(six...))},
		{"empty", map[string]Tensor{}, nil,
			file(`{}      `, nil)},
		{"metadata only", nil, map[string]string{"framework": "pt"},
			file(`{"__metadata__":{"framework":"pt"}}     `, nil)},
		{"padding to 8", map[string]Tensor{"attn0": {DType: F32, Shape: []int{1, 1, 2, 3}, F32: six}}, nil,
			file(`{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       `, f32le(six...))},
		{"dtype order, then name; empty metadata map", map[string]Tensor{
			"u": {DType: U8, Shape: []int{3}, Raw: []byte{1, 2, 3}},
			"b": {DType: F16, Shape: []int{1}, F32: []float32{0.1}},
			"e": {DType: F16, Shape: []int{0, 3}},
			"a": {DType: BF16, Shape: []int{2}, F32: []float32{1, 0.1}},
			"c": {DType: F32, Shape: []int{1}, F32: []float32{1}},
			"y": {DType: F64, Shape: []int{}, F32: []float32{0.5}},
			"z": {DType: I64, Shape: []int{1}, Raw: []byte{0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}},
		}, map[string]string{"format": "pt", "a": "1"},
			file(`{"__metadata__":{"a":"1","format":"pt"},`+
				`"z":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},`+
				`"y":{"dtype":"F64","shape":[],"data_offsets":[8,16]},`+
				`"c":{"dtype":"F32","shape":[1],"data_offsets":[16,20]},`+
				`"a":{"dtype":"BF16","shape":[2],"data_offsets":[20,24]},`+
				`"b":{"dtype":"F16","shape":[1],"data_offsets":[24,26]},`+
				`"e":{"dtype":"F16","shape":[0,3],"data_offsets":[26,26]},`+
				`"u":{"dtype":"U8","shape":[3],"data_offsets":[26,29]}} `,
				[]byte{
					0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, // z = -2
					0, 0, 0, 0, 0, 0, 0xE0, 0x3F, // y = 0.5
					0, 0, 0x80, 0x3F, // c = 1
					0x80, 0x3F, 0xCD, 0x3D, // a = bf16(1), bf16(0.1)
					0x66, 0x2E, // b = f16(0.1)
					1, 2, 3, // u
				})},
		{"empty metadata map is written", nil, map[string]string{},
			file(`{"__metadata__":{}}     `, nil)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := writeRead(t, c.tensors, c.md)
			if !bytes.Equal(got, c.want) {
				t.Fatalf("bytes differ\n got %q\nwant %q", got, c.want)
			}
			if _, err := OpenReaderAt("golden", bytes.NewReader(got), int64(len(got))); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestJSONEscaping(t *testing.T) {
	name := "q\"\\\x01\n\b\f\r\té<>&\u2028\x7f/"
	got := string(appendJSONString(nil, name))
	want := `"q\"\\\u0001\n\b\f\r\té<>&` + "\u2028\x7f/" + `"`
	if got != want {
		t.Fatalf("got %s want %s", got, want)
	}
	b := writeRead(t, map[string]Tensor{name: {DType: F32, Shape: []int{1}, F32: []float32{7}}}, map[string]string{name: name})
	f, err := OpenReaderAt("x", bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if f.Names()[0] != name || f.Metadata()[name] != name {
		t.Fatalf("names %q metadata %q", f.Names(), f.Metadata())
	}
}

func TestRoundTrip(t *testing.T) {
	specials := []float32{0, f32(0x80000000), 1, -1, 0.1, 65504, 1e-40, f32(0x00000001), 3.4e38,
		float32(math.Inf(1)), float32(math.Inf(-1)), f32(0x7FC00001), f32(0xFF800123), 1e-8, 70000}
	dir := t.TempDir()
	path := filepath.Join(dir, "rt.safetensors")
	in := map[string]Tensor{
		"f32":  {DType: F32, Shape: []int{3, 5}, F32: specials},
		"f16":  {DType: F16, Shape: []int{15}, F32: specials},
		"bf16": {DType: BF16, Shape: []int{5, 3}, F32: specials},
		"f64":  {DType: F64, Shape: []int{15}, F32: specials},
		"i32":  {DType: I32, Shape: []int{2}, Raw: []byte{1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF}},
		"one":  {DType: F32, Shape: []int{}, F32: []float32{42}},
	}
	md := map[string]string{"step": "12"}
	if err := Write(path, in, md); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.Names(); !slices.Equal(got, []string{"bf16", "f16", "f32", "f64", "i32", "one"}) {
		t.Errorf("Names = %v", got)
	}
	if got := f.Metadata(); len(got) != 1 || got["step"] != "12" {
		t.Errorf("Metadata = %v", got)
	}
	check := func(name string, conv func(float32) float32) {
		got, err := f.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range specials {
			if w := conv(v); math.Float32bits(got[i]) != math.Float32bits(w) {
				t.Errorf("%s[%d]: got %#x want %#x", name, i, math.Float32bits(got[i]), math.Float32bits(w))
			}
		}
	}
	check("f32", func(v float32) float32 { return v }) // bit exact, NaN payloads included
	check("f16", func(v float32) float32 { return F16ToF32(F32ToF16(v)) })
	check("bf16", func(v float32) float32 { return BF16ToF32(F32ToBF16(v)) })
	check("f64", func(v float32) float32 {
		if v != v { // float64(NaN) keeps the payload; converting back keeps it too
			return float32(float64(v))
		}
		return v
	})
	info, ok := f.Info("bf16")
	if !ok || info.DType != BF16 || !slices.Equal(info.Shape, []int{5, 3}) || info.End-info.Begin != 30 || info.NumElements() != 15 {
		t.Errorf("Info(bf16) = %+v", info)
	}
	if _, ok := f.Info("nope"); ok {
		t.Error("Info(nope) found")
	}
	if raw, err := f.Raw("i32"); err != nil || !bytes.Equal(raw, in["i32"].Raw) {
		t.Errorf("Raw(i32) = %v, %v", raw, err)
	}
	if _, err := f.Float32("i32"); !errors.Is(err, ErrDType) || !strings.Contains(err.Error(), `"i32"`) || !strings.Contains(err.Error(), path) {
		t.Errorf("Float32(i32) err = %v", err)
	}
	if _, err := f.Float32("nope"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "nope") {
		t.Errorf("Float32(nope) err = %v", err)
	}
	if err := f.ReadFloat32Into("f32", make([]float32, 14)); !errors.Is(err, ErrSize) {
		t.Errorf("short dst err = %v", err)
	}
	if v, err := f.Float32("one"); err != nil || len(v) != 1 || v[0] != 42 {
		t.Errorf("scalar = %v, %v", v, err)
	}

	all, md2, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 6 || md2["step"] != "12" || all["i32"].Raw == nil || all["f32"].F32 == nil || all["f16"].DType != F16 {
		t.Fatalf("ReadFile = %v %v", all, md2)
	}
	// Writing what ReadFile returned reproduces F32/I32 exactly.
	again := filepath.Join(dir, "again.safetensors")
	if err := Write(again, map[string]Tensor{"f32": all["f32"], "i32": all["i32"]}, nil); err != nil {
		t.Fatal(err)
	}
	back, _, err := ReadFile(again)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range back["f32"].F32 {
		if math.Float32bits(v) != math.Float32bits(specials[i]) {
			t.Fatalf("rewrite changed f32[%d]", i)
		}
	}
}

// Tensors spanning several chunk buffers, with a ragged last chunk.
func TestLargeTensorsChunkedRead(t *testing.T) {
	n := chunkBytes + 3
	src := make([]float32, n)
	for i := range src {
		src[i] = float32(i%1000) * 0.001
	}
	path := filepath.Join(t.TempDir(), "big.safetensors")
	if err := Write(path, map[string]Tensor{
		"a": {DType: F32, Shape: []int{n}, F32: src},
		"b": {DType: BF16, Shape: []int{n}, F32: src},
		"c": {DType: F16, Shape: []int{1, n}, F32: src},
	}, nil); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dst := make([]float32, n)
	for _, name := range []string{"a", "b", "c"} {
		if err := f.ReadFloat32Into(name, dst); err != nil {
			t.Fatal(err)
		}
		for i, v := range dst {
			want := src[i]
			switch name {
			case "b":
				want = BF16ToF32(F32ToBF16(want))
			case "c":
				want = F16ToF32(F32ToF16(want))
			}
			if v != want {
				t.Fatalf("%s[%d] = %v want %v", name, i, v, want)
			}
		}
	}
}

func TestReadIntoDoesNotAllocate(t *testing.T) {
	vals := make([]float32, 4096)
	path := filepath.Join(t.TempDir(), "a.safetensors")
	if err := Write(path, map[string]Tensor{
		"f": {DType: F32, Shape: []int{4096}, F32: vals},
		"b": {DType: BF16, Shape: []int{4096}, F32: vals},
		"h": {DType: F16, Shape: []int{4096}, F32: vals},
	}, nil); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dst := make([]float32, 4096)
	for _, name := range []string{"f", "b", "h"} {
		f.ReadFloat32Into(name, dst) // warm the pool
		if a := testing.AllocsPerRun(20, func() {
			if err := f.ReadFloat32Into(name, dst); err != nil {
				t.Fatal(err)
			}
		}); a != 0 {
			t.Errorf("ReadFloat32Into(%s) allocates %v times per call", name, a)
		}
	}
}

func TestCheckFinite(t *testing.T) {
	nan := float32(math.NaN())
	path := filepath.Join(t.TempDir(), "nf.safetensors")
	if err := Write(path, map[string]Tensor{
		"ok":   {DType: F32, Shape: []int{3}, F32: []float32{1, 2, 3}},
		"nan":  {DType: BF16, Shape: []int{2, 2}, F32: []float32{1, 2, 3, nan}},
		"inf":  {DType: F16, Shape: []int{2}, F32: []float32{1, 1e6}}, // overflows to Inf
		"inf2": {DType: F64, Shape: []int{1}, F32: []float32{float32(math.Inf(-1))}},
		"ids":  {DType: I64, Shape: []int{1}, Raw: make([]byte, 8)},
	}, nil); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.CheckFinite("ok"); err != nil {
		t.Error(err)
	}
	err = f.CheckFinite("nan")
	if !errors.Is(err, ErrNonFinite) || !strings.Contains(err.Error(), `"nan"`) || !strings.Contains(err.Error(), "element 3 (index [1 1])") {
		t.Errorf("CheckFinite(nan) = %v", err)
	}
	if err := f.CheckFinite("inf"); !errors.Is(err, ErrNonFinite) || !strings.Contains(err.Error(), "+Inf") {
		t.Errorf("CheckFinite(inf) = %v", err)
	}
	if err := f.CheckFinite("inf2"); !errors.Is(err, ErrNonFinite) {
		t.Errorf("CheckFinite(inf2) = %v", err)
	}
	if err := f.CheckFinite(); !errors.Is(err, ErrNonFinite) || !strings.Contains(err.Error(), `"inf"`) { // first in name order
		t.Errorf("CheckFinite() = %v", err)
	}
	if err := f.CheckFinite("ids"); !errors.Is(err, ErrDType) {
		t.Errorf("CheckFinite(ids) = %v", err)
	}
}

// Validation: every malformed file is rejected with an ErrInvalid error
// naming the file and, where one is involved, the tensor.
func TestValidation(t *testing.T) {
	ok := `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`
	eight := make([]byte, 8)
	big := binary.LittleEndian.AppendUint64(nil, 100_000_001)
	cases := []struct {
		name, tensor, msg string
		data              []byte
	}{
		{"empty file", "", "shorter than the 8-byte", nil},
		{"7 bytes", "", "shorter than the 8-byte", make([]byte, 7)},
		{"header too large", "", "exceeds the 100000000-byte limit", append(big, "{}"...)},
		{"header past EOF", "", "past the end", binary.LittleEndian.AppendUint64(nil, 9)},
		{"header size huge", "", "exceeds", binary.LittleEndian.AppendUint64(nil, 1<<63)},
		{"not UTF-8", "", "UTF-8", file("{\"\xff\":1}", nil)},
		{"invalid JSON", "", "JSON", file(`{"a":`, nil)},
		{"not an object", "", "JSON object", file(`[1,2]`, nil)},
		{"trailing garbage", "", "JSON", file(ok+`x`, eight)},
		{"second object", "", "after the object", file(ok+`{}`, eight)},
		{"unknown dtype", "a", `unknown dtype "F31"`, file(`{"a":{"dtype":"F31","shape":[2],"data_offsets":[0,8]}}`, eight)},
		{"lowercase dtype", "a", "unknown dtype", file(`{"a":{"dtype":"f32","shape":[2],"data_offsets":[0,8]}}`, eight)},
		{"size mismatch", "a", "needs 12", file(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, eight)},
		{"offsets past EOF", "a", "past the end", file(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, eight)},
		{"end before begin", "a", "end before", file(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}`, eight)},
		{"overlap", "b", `overlap tensor "a"`, file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, eight)},
		{"hole at start", "a", "hole", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, eight)},
		{"hole between", "b", `between tensor "a"`, file(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, eight)},
		{"trailing bytes", "", "4 trailing bytes", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, eight)},
		{"no tensors, data", "", "trailing", file(`{}`, eight)},
		{"duplicate name", "a", "duplicate", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, eight)},
		{"duplicate metadata", "", "duplicate", file(`{"__metadata__":{},"__metadata__":{}}`, nil)},
		{"duplicate metadata key", "", "duplicate key", file(`{"__metadata__":{"k":"1","k":"2"}}`, nil)},
		{"metadata not string", "", "not a string", file(`{"__metadata__":{"k":1}}`, nil)},
		{"metadata array", "", "object of strings", file(`{"__metadata__":["k"]}`, nil)},
		{"entry not object", "a", "not an object", file(`{"a":[1]}`, nil)},
		{"missing dtype", "a", "missing field dtype", file(`{"a":{"shape":[2],"data_offsets":[0,8]}}`, eight)},
		{"missing shape", "a", "missing field shape", file(`{"a":{"dtype":"F32","data_offsets":[0,8]}}`, eight)},
		{"missing offsets", "a", "missing field data_offsets", file(`{"a":{"dtype":"F32","shape":[2]}}`, eight)},
		{"duplicate field", "a", "duplicate field", file(`{"a":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, eight)},
		{"negative dim", "a", "not an unsigned", file(`{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, eight)},
		{"float dim", "a", "not an unsigned", file(`{"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}`, eight)},
		{"exponent dim", "a", "not an unsigned", file(`{"a":{"dtype":"F32","shape":[2e0],"data_offsets":[0,8]}}`, eight)},
		{"string dim", "a", "not an integer", file(`{"a":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}}`, eight)},
		{"three offsets", "a", "[begin, end]", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}}`, eight)},
		{"dim too large", "a", "too large", file(`{"a":{"dtype":"F32","shape":[18446744073709551615],"data_offsets":[0,8]}}`, eight)},
		{"shape overflow", "a", "overflows", file(`{"a":{"dtype":"F32","shape":[4294967296,4294967296,0],"data_offsets":[0,0]}}`, nil)},
		{"byte size overflow", "a", "overflows", file(`{"a":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,0]}}`, nil)},
		{"sub-byte not whole", "a", "whole bytes", file(`{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,1]}}`, []byte{0})},
		{"offset too large", "a", "too large", file(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[18446744073709551615,18446744073709551615]}}`, nil)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := OpenReaderAt("bad.safetensors", bytes.NewReader(c.data), int64(len(c.data)))
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("not ErrInvalid: %v", err)
			}
			var e *Error
			if !errors.As(err, &e) || e.File != "bad.safetensors" || e.Tensor != c.tensor {
				t.Errorf("error %#v: want file bad.safetensors, tensor %q", err, c.tensor)
			}
			if !strings.Contains(err.Error(), c.msg) || !strings.Contains(err.Error(), "bad.safetensors") {
				t.Errorf("error %q does not mention %q", err, c.msg)
			}
		})
	}
}

// Things the reference reader accepts that must be accepted too.
func TestValidationAccepts(t *testing.T) {
	cases := []struct {
		name string
		data []byte
		n    int
	}{
		{"empty header, no data", file(`{}`, nil), 0},
		{"whitespace around", file(" \n{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}\t\r\n  ", []byte{1}), 1},
		{"unknown fields ignored", file(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"extra":{"x":[1]}}}`, []byte{1}), 1},
		{"metadata null", file(`{"__metadata__":null}`, nil), 0},
		{"offsets in any header order", file(`{"b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{1, 2}), 2},
		{"zero-size tensors anywhere", file(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"e":{"dtype":"F32","shape":[0,5],"data_offsets":[1,1]},"z":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, []byte{1, 2}), 4},
		{"zero dim first beats overflow", file(`{"a":{"dtype":"F32","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}}`, nil), 1},
		{"sub-byte dtype", file(`{"a":{"dtype":"F4","shape":[2,3],"data_offsets":[0,3]}}`, []byte{1, 2, 3}), 1},
		{"empty name", file(`{"":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{1}), 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := OpenReaderAt("ok", bytes.NewReader(c.data), int64(len(c.data)))
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Names()) != c.n {
				t.Fatalf("names %v", f.Names())
			}
		})
	}
}

func TestOpenMissing(t *testing.T) {
	_, err := Open("/nonexistent/x.safetensors")
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "/nonexistent/x.safetensors") {
		t.Fatal(err)
	}
}

func TestTruncatedAfterOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.safetensors")
	if err := Write(path, map[string]Tensor{"a": {DType: BF16, Shape: []int{100}, F32: make([]float32, 100)}}, nil); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	os.Truncate(path, 100)
	if _, err := f.Float32("a"); err == nil || !strings.Contains(err.Error(), `"a"`) {
		t.Fatalf("err = %v", err)
	}
}

func sha(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestStreamingWriter(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.safetensors")
	specs := []TensorSpec{
		{Name: "w", DType: BF16, Shape: []int{4, 3}},
		{Name: "empty", DType: F32, Shape: []int{0}},
		{Name: "ids", DType: I32, Shape: []int{2}},
		{Name: "b", DType: F32, Shape: []int{3}},
	}
	w, err := NewWriter(path, specs, map[string]string{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	if got := w.Order(); !slices.Equal(got, []string{"b", "empty", "ids", "w"}) {
		t.Fatalf("Order = %v", got)
	}
	// Out of order: rejected, nothing written, writer still usable.
	if err := w.WriteTensor("w", make([]float32, 12)); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), `"b" comes next`) {
		t.Fatalf("out of order err = %v", err)
	}
	if err := w.WriteTensor("nope", nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("undeclared err = %v", err)
	}
	if err := w.WriteTensor("ids", nil); !errors.Is(err, ErrDType) {
		t.Fatalf("float data for I32 err = %v", err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.WriteTensor("b", []float32{1}))
	if err := w.WriteRaw("ids", []byte{1, 0, 0, 0}); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "incomplete") {
		t.Fatalf("switch mid-tensor err = %v", err)
	}
	must(w.WriteTensor("b", []float32{2, 3})) // second chunk
	// "empty" needs no data, but writing it is harmless.
	must(w.WriteTensor("empty", nil))
	must(w.WriteRaw("ids", []byte{1, 0, 0, 0, 2, 0, 0, 0}))
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("file visible before Close")
	}
	rows := []float32{0.1, 0.2, 0.3, 1, 2, 3, -1, -2, -3, 7, 8, 9}
	for i := 0; i < 4; i++ {
		must(w.WriteTensor("w", rows[3*i:3*i+3]))
	}
	if err := w.WriteTensor("w", []float32{1}); !errors.Is(err, ErrUsage) {
		t.Fatalf("extra data err = %v", err)
	}
	sum, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if sum != sha(t, path) {
		t.Fatalf("Close sha %s, file sha %s", sum, sha(t, path))
	}
	if _, err := w.Close(); !errors.Is(err, ErrUsage) {
		t.Fatalf("second Close err = %v", err)
	}
	// Identical bytes to the one-shot Write.
	path2 := filepath.Join(dir, "w.safetensors")
	if err := Write(path2, map[string]Tensor{
		"w": {DType: BF16, Shape: []int{4, 3}, F32: rows}, "empty": {DType: F32, Shape: []int{0}},
		"ids": {DType: I32, Shape: []int{2}, Raw: []byte{1, 0, 0, 0, 2, 0, 0, 0}}, "b": {DType: F32, Shape: []int{3}, F32: []float32{1, 2, 3}},
	}, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	if sha(t, path2) != sum {
		t.Fatal("streaming and one-shot writers differ")
	}
	if des, _ := os.ReadDir(dir); len(des) != 2 {
		t.Fatalf("stray files: %v", des)
	}
}

func TestWriterIncompleteLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.safetensors")
	os.WriteFile(path, []byte("old"), 0o644)
	w, err := NewWriter(path, []TensorSpec{{Name: "a", DType: F32, Shape: []int{4}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.WriteTensor("a", []float32{1, 2})
	if _, err := w.Close(); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "incomplete") {
		t.Fatalf("Close err = %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Fatalf("old file changed: %q", b)
	}
	if des, _ := os.ReadDir(dir); len(des) != 1 {
		t.Fatalf("stray files: %v", des)
	}
	// Abort also cleans up.
	w, _ = NewWriter(filepath.Join(dir, "y"), []TensorSpec{{Name: "a", DType: F32, Shape: []int{1}}}, nil)
	w.Abort()
	if err := w.WriteTensor("a", []float32{1}); !errors.Is(err, ErrUsage) {
		t.Fatalf("write after Abort err = %v", err)
	}
	if des, _ := os.ReadDir(dir); len(des) != 1 {
		t.Fatalf("stray files after Abort: %v", des)
	}
}

func TestWriteRejects(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.safetensors")
	cases := []struct {
		name     string
		tensors  map[string]Tensor
		md       map[string]string
		sentinel error
	}{
		{"short data", map[string]Tensor{"a": {DType: F32, Shape: []int{2, 2}, F32: []float32{1}}}, nil, ErrSize},
		{"raw size", map[string]Tensor{"a": {DType: I64, Shape: []int{2}, Raw: make([]byte, 15)}}, nil, ErrSize},
		{"float into int", map[string]Tensor{"a": {DType: I32, Shape: []int{1}, F32: []float32{1}}}, nil, ErrDType},
		{"unknown dtype", map[string]Tensor{"a": {DType: "F12", Shape: []int{1}, F32: []float32{1}}}, nil, ErrDType},
		{"reserved name", map[string]Tensor{"__metadata__": {DType: F32, Shape: []int{1}, F32: []float32{1}}}, nil, ErrUsage},
		{"bad UTF-8 name", map[string]Tensor{"\xff": {DType: F32, Shape: []int{1}, F32: []float32{1}}}, nil, ErrUsage},
		{"bad UTF-8 metadata", nil, map[string]string{"k": "\xff"}, ErrUsage},
		{"negative dim", map[string]Tensor{"a": {DType: F32, Shape: []int{-1}}}, nil, ErrSize},
		{"both F32 and Raw", map[string]Tensor{"a": {DType: F32, Shape: []int{1}, F32: []float32{1}, Raw: make([]byte, 4)}}, nil, ErrUsage},
		{"missing data", map[string]Tensor{"a": {DType: F32, Shape: []int{1}}}, nil, ErrSize},
	}
	for _, c := range cases {
		err := Write(path, c.tensors, c.md)
		if !errors.Is(err, c.sentinel) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.sentinel)
		}
	}
	if des, _ := os.ReadDir(dir); len(des) != 0 {
		t.Fatalf("files created by failed writes: %v", des)
	}
	if _, err := NewWriter(path, []TensorSpec{{Name: "a", DType: F32}, {Name: "a", DType: F32}}, nil); !errors.Is(err, ErrUsage) {
		t.Errorf("duplicate spec err = %v", err)
	}
}

// TestKilledWriter runs a child process that dies (os.Exit, no cleanup)
// halfway through streaming a file over an existing one, and checks that
// the destination still holds the old file, and that the stray temporary
// file is not a file a reader accepts.
func TestKilledWriter(t *testing.T) {
	if path := os.Getenv("SAFETENSORS_TEST_KILL"); path != "" {
		w, err := NewWriter(path, []TensorSpec{{Name: "a", DType: F32, Shape: []int{1 << 20}}, {Name: "b", DType: F32, Shape: []int{10}}}, nil)
		if err != nil {
			os.Exit(2)
		}
		w.WriteTensor("a", make([]float32, 1<<20))
		w.WriteTensor("b", make([]float32, 5))
		os.Exit(3) // killed: no Close, no Abort, no deferred cleanup
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	if err := Write(path, map[string]Tensor{"old": {DType: F32, Shape: []int{1}, F32: []float32{1}}}, nil); err != nil {
		t.Fatal(err)
	}
	before := sha(t, path)
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledWriter$")
	cmd.Env = append(os.Environ(), "SAFETENSORS_TEST_KILL="+path)
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("child: %v", err)
	}
	if sha(t, path) != before {
		t.Fatal("destination changed by a killed writer")
	}
	des, _ := os.ReadDir(dir)
	for _, de := range des {
		if de.Name() == "model.safetensors" {
			continue
		}
		if _, err := Open(filepath.Join(dir, de.Name())); !errors.Is(err, ErrInvalid) {
			t.Errorf("leftover %s: Open err = %v, want ErrInvalid", de.Name(), err)
		}
	}
}

func Example() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.safetensors")

	err := Write(path, map[string]Tensor{
		"embed.weight": {DType: BF16, Shape: []int{2, 2}, F32: []float32{0.1, 0.2, 0.3, 0.4}},
		"head.bias":    {DType: F32, Shape: []int{2}, F32: []float32{1, -1}},
	}, map[string]string{"format": "pt"})
	if err != nil {
		fmt.Println(err)
		return
	}

	f, err := Open(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	for _, name := range f.Names() {
		info, _ := f.Info(name)
		data, _ := f.Float32(name)
		fmt.Println(name, info.DType, info.Shape, data)
	}
	fmt.Println(f.Metadata())
	// Output:
	// embed.weight BF16 [2 2] [0.100097656 0.20019531 0.30078125 0.40039062]
	// head.bias F32 [2] [1 -1]
	// map[format:pt]
}
