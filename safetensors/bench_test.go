package safetensors

import (
	"fmt"
	"path/filepath"
	"testing"
)

// benchFile writes a ~100 MB file of the given dtype as `tensors` equal
// tensors and returns it opened, with the element count per tensor.
func benchFile(b *testing.B, d DType, tensors int) (*File, int) {
	b.Helper()
	const fileBytes = 100 << 20
	per := fileBytes / (d.Bits() / 8) / tensors
	src := make([]float32, per)
	for i := range src {
		src[i] = float32(i%4096)/4096 - 0.5
	}
	path := filepath.Join(b.TempDir(), "bench.safetensors")
	specs := make([]TensorSpec, tensors)
	for i := range specs {
		specs[i] = TensorSpec{Name: fmt.Sprintf("t%03d", i), DType: d, Shape: []int{per}}
	}
	w, err := NewWriter(path, specs, nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range w.Order() {
		if err := w.WriteTensor(name, src); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := w.Close(); err != nil {
		b.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	return f, per
}

// benchRead reports MB/s of file bytes read (from the page cache) and
// converted to float32 with ReadFloat32Into.
func benchRead(b *testing.B, d DType, tensors int) {
	f, per := benchFile(b, d, tensors)
	dst := make([]float32, per)
	names := f.Names()
	b.SetBytes(int64(per * len(names) * d.Bits() / 8))
	for b.Loop() {
		for _, name := range names {
			if err := f.ReadFloat32Into(name, dst); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkRead100MB(b *testing.B) {
	for _, d := range []DType{F32, BF16, F16} {
		for _, n := range []int{1, 100} {
			b.Run(fmt.Sprintf("%s/%dtensors", d, n), func(b *testing.B) { benchRead(b, d, n) })
		}
	}
}
