package blas

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestBF16(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   float32
		want uint16
	}{
		{"one", 1, 0x3f80},
		{"minus zero", float32(math.Copysign(0, -1)), 0x8000},
		// bfloat16 numbers in [1, 2) are 2⁻⁷ apart.
		{"tie to even, down", 1 + 0x1p-8, 0x3f80},
		{"tie to even, up", 1 + 3*0x1p-8, 0x3f82},
		{"above the tie", 1 + 0x1p-8 + 0x1p-20, 0x3f81},
		{"below the tie", 1 + 0x1p-8 - 0x1p-20, 0x3f80},
		{"negative tie", -(1 + 3*0x1p-8), 0xbf82},
		{"largest float32 overflows", math.MaxFloat32, 0x7f80},
		{"infinity", float32(math.Inf(-1)), 0xff80},
		{"carry into the exponent", 2 - 0x1p-9, 0x4000},
	} {
		if got := BF16(tc.in); got != tc.want {
			t.Errorf("%s: BF16(%g) = %#04x, want %#04x", tc.name, tc.in, got, tc.want)
		}
	}
	// A NaN whose payload lies only in the dropped bits must stay a NaN.
	for _, bits := range []uint32{0x7f800001, 0xff800001, 0x7fc00000} {
		if got := FromBF16(BF16(math.Float32frombits(bits))); !math.IsNaN(float64(got)) {
			t.Errorf("BF16(NaN %#08x) = %#04x, not a NaN", bits, BF16(math.Float32frombits(bits)))
		}
	}
}

func TestBF16MatrixRound(t *testing.T) {
	x := []float32{1, 2, 3, -1, 1 + 0x1p-8, 1 + 3*0x1p-8, 7, 8}
	var m BF16Matrix
	m.Round(2, 2, x, 4)
	want := []float32{1, 2, 1, 1 + 0x1p-6}
	for i, w := range want {
		if got := FromBF16(m.data[i]); got != w {
			t.Errorf("entry %d = %g, want %g", i, got, w)
		}
	}
}

// BenchmarkRoundBF16 times rounding a 1024×3072 activation, which the bf16
// GEMMs do on every call.
func BenchmarkRoundBF16(b *testing.B) {
	const rows, cols = 1024, 3072
	x := randSlice(rand.New(rand.NewPCG(1, 2)), rows*cols)
	var m BF16Matrix
	for b.Loop() {
		m.Round(rows, cols, x, cols)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(rows*cols), "ns/element")
}
