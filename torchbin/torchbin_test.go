package torchbin

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/subtune/subtune/safetensors"
)

// The fixtures are written by testdata/gen.py with torch 1.13; each .bin
// holds the same weights as one of the safetensors twins.
func TestFixturesMatchSafetensors(t *testing.T) {
	for _, c := range []struct {
		bin, twin string
	}{
		{"zip/pytorch_model.bin", "safetensors-f32"},
		{"legacy/pytorch_model.bin", "safetensors-f32"},
		{"f16/pytorch_model.bin", "safetensors-f16"},
		{"bf16/pytorch_model.bin", "safetensors-bf16"},
		{"strided/pytorch_model.bin", "safetensors-f32"},
		{"sharded/pytorch_model-00001-of-00002.bin", "safetensors-f32"},
		{"sharded/pytorch_model-00002-of-00002.bin", "safetensors-f32"},
	} {
		t.Run(c.bin, func(t *testing.T) {
			twin, _, err := safetensors.ReadFile(filepath.Join("testdata", c.twin, "model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			f, err := Open(filepath.Join("testdata", c.bin))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			names := f.Names()
			if len(names) < 10 || !slices.IsSorted(names) {
				t.Fatalf("names %q", names)
			}
			for _, name := range names {
				if name == "bert.embeddings.position_ids" {
					continue // the legacy buffer, tested below
				}
				canon := strings.NewReplacer("LayerNorm.gamma", "LayerNorm.weight", "LayerNorm.beta", "LayerNorm.bias").Replace(name)
				want, ok := twin[canon]
				if !ok {
					t.Fatalf("%s not in the twin", canon)
				}
				info, _ := f.Info(name)
				if info.DType != want.DType || !slices.Equal(info.Shape, want.Shape) {
					t.Fatalf("%s: %s %v, want %s %v", name, info.DType, info.Shape, want.DType, want.Shape)
				}
				got := make([]float32, len(want.F32))
				if err := f.ReadFloat32Into(name, got); err != nil {
					t.Fatal(err)
				}
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want.F32[i]) {
						t.Fatalf("%s[%d] = %v, want %v", name, i, got[i], want.F32[i])
					}
				}
			}
		})
	}
}

func TestLegacyIntegerBuffer(t *testing.T) {
	f, err := Open(filepath.Join("testdata", "legacy", "pytorch_model.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const name = "bert.embeddings.position_ids"
	info, ok := f.Info(name)
	if !ok || info.DType != safetensors.I64 || !slices.Equal(info.Shape, []int{1, 16}) {
		t.Fatalf("%s: %+v", name, info)
	}
	raw, err := f.Raw(name)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 16 {
		if v := binary.LittleEndian.Uint64(raw[8*i:]); v != uint64(i) {
			t.Fatalf("position_ids[%d] = %d", i, v)
		}
	}
	err = f.ReadFloat32Into(name, make([]float32, 16))
	wantErr(t, err, ErrUnsupported, name, "I64")
}

// TestStridedViews checks the gather against views worked out by hand
// over the storage 0, 1, ..., 11.
func TestStridedViews(t *testing.T) {
	storage := f32bytes(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
	for _, c := range []struct {
		name           string
		offset         int32
		size, stride   []int32
		want           []float32
		legacy, scalar bool
	}{
		{name: "transposed", size: []int32{3, 2}, stride: []int32{1, 3}, want: []float32{0, 3, 1, 4, 2, 5}},
		{name: "offset", offset: 7, size: []int32{3}, stride: []int32{1}, want: []float32{7, 8, 9}},
		{name: "every other column", offset: 1, size: []int32{2, 3}, stride: []int32{6, 2}, want: []float32{1, 3, 5, 7, 9, 11}},
		{name: "repeated rows", size: []int32{3, 4}, stride: []int32{0, 1}, want: []float32{0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3}},
		{name: "size-1 dims any stride", offset: 4, size: []int32{1, 2, 1}, stride: []int32{99, 1, 77}, want: []float32{4, 5}},
		{name: "scalar", offset: 11, size: []int32{}, stride: []int32{}, want: []float32{11}},
		{name: "empty", offset: 12, size: []int32{0, 5}, stride: []int32{5, 1}, want: []float32{}},
		{name: "legacy transposed", size: []int32{3, 2}, stride: []int32{1, 3}, want: []float32{0, 3, 1, 4, 2, 5}, legacy: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			pkl := stateDict(c.legacy, "w", 12, c.offset, c.size, c.stride)
			var file []byte
			if c.legacy {
				file = legacyFile(pkl, legacyStorage{"0", 12, storage})
			} else {
				file = zipFile(t, pkl, map[string][]byte{"0": storage}, nil)
			}
			f, err := OpenReaderAt("test.bin", bytes.NewReader(file), int64(len(file)))
			if err != nil {
				t.Fatal(err)
			}
			got := make([]float32, len(c.want))
			if err := f.ReadFloat32Into("w", got); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

func wantErr(t *testing.T, err, sentinel error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one with %q", parts)
	}
	if !errors.Is(err, sentinel) {
		t.Errorf("error %q is not %q", err, sentinel)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err, p)
		}
	}
}

func openBytes(b []byte) error {
	_, err := OpenReaderAt("test.bin", bytes.NewReader(b), int64(len(b)))
	return err
}

// TestHostile feeds pickles that would run code under torch.load: each is
// refused, naming the global, before anything is called.
func TestHostile(t *testing.T) {
	w := f32bytes(1, 2)
	tensorThen := func(more func(p *pk)) []byte {
		p := newPickle().op(opEmptyDict).str("w").tensor("FloatStorage", "0", 2, 0, []int32{2}, []int32{1}).op(opSetItem)
		more(p)
		return p.stop()
	}
	inZip := func(pkl []byte) []byte { return zipFile(t, pkl, map[string][]byte{"0": w}, nil) }
	for _, c := range []struct {
		name     string
		file     []byte
		sentinel error
		want     []string
	}{
		{"GLOBAL os.system", inZip(newPickle().global("os", "system").str("echo pwned").op(opTuple1, opReduce).stop()),
			ErrForbidden, []string{"os.system", "opcode GLOBAL"}},
		{"REDUCE of a forbidden callable inside the state dict", inZip(tensorThen(func(p *pk) {
			p.str("x").global("builtins", "eval").str("1+1").op(opTuple1, opReduce, opSetItem)
		})), ErrForbidden, []string{"builtins.eval"}},
		{"STACK_GLOBAL", inZip(newPickle().str("subprocess").str("check_output").op(opStackGlobal).stop()),
			ErrForbidden, []string{"subprocess.check_output", "STACK_GLOBAL"}},
		{"INST", inZip(newPickle().op(opMark).str("id").op(opInst).op([]byte("os\nsystem\n")...).stop()),
			ErrForbidden, []string{"os.system", "INST"}},
		{"tensor subclass", inZip(newPickle().global("torch._tensor", "_rebuild_from_type_v2").stop()),
			ErrForbidden, []string{"torch._tensor._rebuild_from_type_v2"}},
		{"storage from bytes", inZip(newPickle().global("torch.storage", "_load_from_bytes").stop()),
			ErrForbidden, []string{"torch.storage._load_from_bytes"}},
		{"getattr as a storage type", inZip(newPickle().global("builtins", "getattr").stop()),
			ErrForbidden, []string{"builtins.getattr"}},
		{"legacy state dict", legacyFile(newPickle().global("os", "system").str("x").op(opTuple1, opReduce).stop()),
			ErrForbidden, []string{"os.system", "state dict pickle"}},
		{"legacy system information", append(append([]byte{opProto, 2, opLong1, 10}, legacyMagic...), append([]byte{opStop},
			newPickle().global("os", "system").stop()...)...), ErrForbidden, []string{"os.system", "protocol pickle"}},
		{"NEWOBJ of an allowed class", inZip(newPickle().global("collections", "OrderedDict").op(opEmptyTuple, 0x81).stop()),
			ErrUnsupported, []string{"opcode NEWOBJ", "not supported"}},
		{"float64 storage", inZip(newPickle().op(opEmptyDict).str("w").tensor("DoubleStorage", "0", 1, 0, []int32{1}, []int32{1}).op(opSetItem).stop()),
			ErrUnsupported, []string{"torch.DoubleStorage"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantErr(t, openBytes(c.file), c.sentinel, c.want...)
		})
	}
	t.Run("torch.save of os.system", func(t *testing.T) {
		_, err := Open(filepath.Join("testdata", "hostile", "pytorch_model.bin"))
		wantErr(t, err, ErrForbidden, "posix.system", "hostile")
	})
}

func TestMalformed(t *testing.T) {
	w := f32bytes(1, 2, 3, 4)
	good := stateDict(false, "w", 4, 0, []int32{4}, []int32{1})
	deflated := func() []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		f, _ := zw.Create("archive/data.pkl")
		f.Write(good)
		f, _ = zw.Create("archive/data/0") // Deflate
		f.Write(w)
		zw.Close()
		return buf.Bytes()
	}()
	for _, c := range []struct {
		name     string
		file     []byte
		sentinel error
		want     []string
	}{
		{"empty", nil, ErrInvalid, []string{"neither a zip archive nor a pickle"}},
		{"text", []byte("version https://git-lfs.github.com/spec/v1\n"), ErrInvalid, []string{"neither"}},
		{"broken zip", []byte("PK\x03\x04 not really"), ErrInvalid, []string{"zip archive"}},
		{"zip without data.pkl", zipFile(t, nil, nil, map[string][]byte{"archive/version": []byte("3")}), ErrInvalid, []string{"without ARCHIVE/data.pkl"}},
		{"TorchScript", zipFile(t, good, map[string][]byte{"0": w}, map[string][]byte{"archive/constants.pkl": nil}), ErrUnsupported, []string{"TorchScript"}},
		{"big endian", zipFile(t, good, map[string][]byte{"0": w}, map[string][]byte{"archive/byteorder": []byte("big")}), ErrUnsupported, []string{`"big"`}},
		{"little endian is fine", nil, nil, nil},
		{"missing storage", zipFile(t, good, nil, nil), ErrInvalid, []string{"archive/data/0", "missing"}},
		{"short storage", zipFile(t, good, map[string][]byte{"0": w[:12]}, nil), ErrInvalid, []string{"archive/data/0", "12 bytes for 4 F32"}},
		{"compressed storage", deflated, ErrUnsupported, []string{"compressed"}},
		{"view past the storage", zipFile(t, stateDict(false, "w", 4, 2, []int32{3}, []int32{1}), map[string][]byte{"0": w}, nil), ErrInvalid, []string{`tensor "w"`, "past the end"}},
		{"expanded view", zipFile(t, stateDict(false, "w", 4, 0, []int32{1 << 30, 1 << 30}, []int32{0, 0}), map[string][]byte{"0": w}, nil), ErrUnsupported, []string{`tensor "w"`, "expanded view"}},
		{"truncated pickle", zipFile(t, good[:len(good)-1], map[string][]byte{"0": w}, nil), ErrInvalid, []string{"truncated", "no STOP"}},
		{"bytes after STOP", zipFile(t, append(good, 'N'), map[string][]byte{"0": w}, nil), ErrInvalid, []string{"after its end"}},
		{"not a dict", zipFile(t, newPickle().op(opEmptyList).stop(), nil, nil), ErrUnsupported, []string{"holds a list, not a state dict"}},
		{"not a tensor", zipFile(t, newPickle().op(opEmptyDict).str("step").int(3).op(opSetItem).stop(), nil, nil), ErrUnsupported, []string{`entry "step" is a int`}},
		{"too many opcodes", zipFile(t, append(newPickle().b, append(bytes.Repeat([]byte{opNone, opPop}, maxSteps/2), opNone, opStop)...), nil, nil),
			ErrUnsupported, []string{"more than 1048576 opcodes"}},
		{"memo never stored", zipFile(t, newPickle().op(opBinGet, 7).stop(), nil, nil), ErrInvalid, []string{"memo entry 7"}},
		{"stack underflow", zipFile(t, newPickle().op(opSetItem).stop(), nil, nil), ErrInvalid, []string{"underflow", "SETITEM"}},
		{"list key", zipFile(t, newPickle().op(opEmptyDict, opEmptyList, opNone, opSetItem).stop(), nil, nil), ErrUnsupported, []string{"dict key of type list"}},
		{"legacy count mismatch", legacyFile(stateDict(true, "w", 4, 0, []int32{4}, []int32{1}), legacyStorage{"0", 3, w}), ErrInvalid, []string{`storage "0": 3 elements`}},
		{"legacy truncated storage", legacyFile(stateDict(true, "w", 4, 0, []int32{4}, []int32{1}), legacyStorage{"0", 4, w[:15]}), ErrInvalid, []string{`storage "0"`}},
		{"legacy unknown key", legacyFile(stateDict(true, "w", 4, 0, []int32{4}, []int32{1}), legacyStorage{"9", 4, w}), ErrInvalid, []string{`key "9"`}},
		{"legacy no data", legacyFile(stateDict(true, "w", 4, 0, []int32{4}, []int32{1})), ErrInvalid, []string{`storage "0" has no data`}},
		{"legacy five-field storage id", legacyFile(good, legacyStorage{"0", 4, w}), ErrInvalid, []string{"is not a storage"}},
		{"legacy storage view", legacyFile(newPickle().op(opMark).str("storage").global("torch", "FloatStorage").str("0").str("cpu").int(4).
			str("1").int(0).int(4).op(opTuple3, opTuple, opBinPersID).stop(), legacyStorage{"0", 4, w}), ErrUnsupported, []string{"view of another"}},
		{"legacy wrong magic", append([]byte{opProto, 2, opBinInt1, 1, opStop}, w...), ErrInvalid, []string{"magic number"}},
		{"forbidden global first", newPickle().global("os", "system").stop(), ErrForbidden, []string{"os.system"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.sentinel == nil {
				file := zipFile(t, good, map[string][]byte{"0": w}, map[string][]byte{"archive/byteorder": []byte("little")})
				if err := openBytes(file); err != nil {
					t.Fatal(err)
				}
				return
			}
			wantErr(t, openBytes(c.file), c.sentinel, c.want...)
		})
	}
}

func TestReadErrors(t *testing.T) {
	file := zipFile(t, stateDict(false, "w", 4, 0, []int32{4}, []int32{1}), map[string][]byte{"0": f32bytes(1, 2, 3, 4)}, nil)
	f, err := OpenReaderAt("test.bin", bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.ReadFloat32Into("w", make([]float32, 3)); err == nil || !strings.Contains(err.Error(), "holds 3 floats") {
		t.Errorf("short destination: %v", err)
	}
	if _, err := f.Raw("v"); err == nil || !strings.Contains(err.Error(), `no tensor "v"`) {
		t.Errorf("unknown tensor: %v", err)
	}
}

// TestProtocols reads state dicts torch.save wrote with pickle protocols
// 1 (legacy format), 4 and 5 (FRAME, MEMOIZE, SHORT_BINUNICODE, ...).
func TestProtocols(t *testing.T) {
	want := []float32{0, 3, 1, 4, 2, 5} // arange(6).reshape(2, 3).t()
	for _, name := range []string{"p1-legacy.bin", "p4.bin", "p5.bin"} {
		t.Run(name, func(t *testing.T) {
			f, err := Open(filepath.Join("testdata", "protocols", name))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if !slices.Equal(f.Names(), []string{"h", "w"}) {
				t.Fatalf("names %q", f.Names())
			}
			for _, n := range []string{"h", "w"} {
				info, _ := f.Info(n)
				if !slices.Equal(info.Shape, []int{3, 2}) {
					t.Errorf("%s: shape %v", n, info.Shape)
				}
				got := make([]float32, 6)
				if err := f.ReadFloat32Into(n, got); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s = %v, want %v", n, got, want)
				}
			}
		})
	}
}

func TestTextIntegers(t *testing.T) {
	for _, c := range []struct {
		in   string
		want any
		err  string
	}{
		{in: "L119547037146038801333356L\n.", want: legacyMagic}, // protocol 1's magic number
		{in: "I1001\n.", want: int64(1001)},
		{in: "I01\n.", want: true},
		{in: "L-5L\n.", want: int64(-5)},
		{in: "L" + strings.Repeat("9", 41) + "L\n.", err: "integer"},
		{in: "L-99999999999999999999L\n.", err: "integer"},
		{in: "Lx\n.", err: "integer"},
	} {
		v, _, err := unpickle([]byte(c.in), nil)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || !errors.Is(err, ErrInvalid) {
				t.Errorf("%.30q: %v, want an error about %s", c.in, err, c.err)
			}
			continue
		}
		if err != nil || v != c.want {
			t.Errorf("%.30q = %v (%v), want %v", c.in, v, err, c.want)
		}
	}
}
