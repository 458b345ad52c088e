package torchbin

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzUnpickle runs the pickle machine on arbitrary programs, storages
// allowed. It must return, without panicking, a value or an error wrapping
// one of the package's sentinels.
func FuzzUnpickle(f *testing.F) {
	f.Add(stateDict(false, "w", 4, 1, []int32{3}, []int32{1}))
	f.Add(newPickle().global("os", "system").str("ls").op(opTuple1, opReduce).stop())
	f.Add(newPickle().op(opEmptyList, opMark).str("a").int(-7).op(opNone, opNewTrue, opAppends, opBinPut, 0, opBinGet, 0, opTuple2).stop())
	f.Add([]byte("\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x01a\x94\x8c\x01b\x94\x93\x94."))
	f.Add([]byte("(I01\nL12L\ng0\np1\nt."))
	if pkl, err := os.ReadFile(filepath.Join("testdata", "zip", "pytorch_model.bin")); err == nil {
		f.Add(pkl[:min(len(pkl), 5000)])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ss := storages{}
		_, n, err := unpickle(data, func(pid any) (any, error) { return ss.load(pid, false) })
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrForbidden) {
				t.Fatalf("error without a sentinel: %v", err)
			}
			return
		}
		if n <= 0 || n > len(data) || data[n-1] != opStop {
			t.Fatalf("consumed %d of %d bytes", n, len(data))
		}
	})
}

// FuzzOpen feeds arbitrary files to Open. A rejection must wrap a
// sentinel; an accepted file must read every tensor, with exactly the
// bytes its shape implies.
func FuzzOpen(f *testing.F) {
	for _, name := range []string{"zip/pytorch_model.bin", "legacy/pytorch_model.bin", "strided/pytorch_model.bin",
		"protocols/p1-legacy.bin", "protocols/p4.bin", "protocols/p5.bin"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(b)
		}
	}
	w := f32bytes(0, 1, 2, 3, 4, 5)
	f.Add(zipFile(f, stateDict(false, "w", 6, 1, []int32{2, 2}, []int32{1, 2}), map[string][]byte{"0": w}, map[string][]byte{"archive/byteorder": []byte("little")}))
	f.Add(legacyFile(stateDict(true, "w", 6, 0, []int32{3, 2}, []int32{1, 3}), legacyStorage{"0", 6, w}))
	f.Fuzz(func(t *testing.T, data []byte) {
		tf, err := OpenReaderAt("fuzz", bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrForbidden) {
				t.Fatalf("error without a sentinel: %v", err)
			}
			return
		}
		for _, name := range tf.Names() {
			info, ok := tf.Info(name)
			if !ok {
				t.Fatalf("%q listed but unknown", name)
			}
			numel := 1
			for _, d := range info.Shape {
				numel *= d
			}
			raw, err := tf.Raw(name)
			if err != nil {
				t.Fatalf("%q: %v", name, err)
			}
			if len(raw) != numel*info.DType.Bits()/8 {
				t.Fatalf("%q: %d bytes for %s %v", name, len(raw), info.DType, info.Shape)
			}
			if err := tf.ReadFloat32Into(name, make([]float32, numel)); err != nil && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("%q: %v", name, err)
			}
		}
	})
}
