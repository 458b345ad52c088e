package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// The SIMD kernels are checked against the scalar Go ones they replace, on
// the lengths that exercise every loop exit of the assembly (the 16-wide
// body, one 8-wide block, the masked or scalar tail) and on values at the
// edges of the range reductions.

var kernelLengths = []int{0, 1, 7, 8, 9, 15, 16, 17, 31, 768, 1000}

func requireAVX2(t testing.TB) {
	if !useAVX2 {
		t.Skip("no AVX2/FMA kernels in this build or on this CPU")
	}
}

// special holds the values the scalar code treats specially: signed zeros,
// the ends of erf's clamp and of exp's range, overflow, infinities, NaN.
var special = []float32{
	0, float32(math.Copysign(0, -1)), 1e-30, -1e-30, 1, -1,
	5.656854, -5.656854, 5.7, -5.7, 8, -8, 13.3, -13.3, 14, -14, 100, -100,
	1e30, -1e30, math.MaxFloat32, -math.MaxFloat32,
	float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()),
}

// kernelInput returns n values: normal(0, scale) with, when withSpecial,
// the special values scattered at random positions.
func kernelInput(rng *rand.Rand, n int, scale float64, withSpecial bool) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(scale * rng.NormFloat64())
	}
	if withSpecial {
		for i := range x {
			if rng.IntN(3) == 0 {
				x[i] = special[rng.IntN(len(special))]
			}
		}
	}
	return x
}

// diff is the largest |got−want|/max(1,|scale|) over elements where both are
// numbers; it fails the test if one is NaN and the other is not, or if they
// are infinities of different sign. scale may be nil.
func diff(t *testing.T, what string, got, want, scale []float32) float64 {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: length %d, want %d", what, len(got), len(want))
	}
	worst := 0.0
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(g) || math.IsNaN(w) {
			if math.IsNaN(g) != math.IsNaN(w) {
				t.Errorf("%s[%d] = %v, want %v", what, i, g, w)
			}
			continue
		}
		if math.IsInf(g, 0) || math.IsInf(w, 0) {
			if g != w {
				t.Errorf("%s[%d] = %v, want %v", what, i, g, w)
			}
			continue
		}
		d := math.Abs(g - w)
		if scale != nil {
			d /= max(1, math.Abs(float64(scale[i])))
		}
		worst = max(worst, d)
	}
	return worst
}

// relDiff is diff relative to |want|, counting values below 1e-30 (where
// the SIMD exp flushes what the scalar one leaves subnormal) as 1e-30.
func relDiff(t *testing.T, what string, got, want []float32) float64 {
	t.Helper()
	scale := make([]float32, len(want))
	for i, w := range want {
		scale[i] = max(float32(math.Abs(float64(w))), 1e-30) * 0x1p100
	}
	return diff(t, what, got, want, scale) * 0x1p100
}

func TestGELUSIMD(t *testing.T) {
	requireAVX2(t)
	rng := rand.New(rand.NewPCG(1, 1))
	for _, n := range kernelLengths {
		for _, withSpecial := range []bool{false, true} {
			for _, sc := range []float64{1, 6} {
				name := fmt.Sprintf("n=%d/scale=%g/special=%v", n, sc, withSpecial)
				t.Run(name, func(t *testing.T) {
					x := kernelInput(rng, n, sc, withSpecial)
					dout := kernelInput(rng, n, 1, false)
					out, aux := make([]float32, n), make([]float32, n)
					wantOut, wantAux := make([]float32, n), make([]float32, n)
					geluForwardSIMD(out, aux, x)
					geluForward(wantOut, wantAux, x)
					// Φ within 4 ulps of 1, out within that times |x| plus
					// its own rounding in each version.
					if e := diff(t, "aux", aux, wantAux, nil); e > 2.5e-7 {
						t.Errorf("aux differs by %.3g", e)
					}
					if e := diff(t, "out", out, wantOut, x); e > 4e-7 {
						t.Errorf("out differs by %.3g (relative to max(1,|x|))", e)
					}
					// Backward from the reference aux, in place as the encoder
					// calls it (dx aliases dout).
					dx := append([]float32(nil), dout...)
					wantDx := make([]float32, n)
					geluBackwardSIMD(dx, dx, x, wantAux)
					geluBackward(wantDx, dout, x, wantAux)
					if e := diff(t, "dx", dx, wantDx, dout); e > 5e-7 {
						t.Errorf("dx differs by %.3g (relative to max(1,|dout|))", e)
					}
				})
			}
		}
	}
}

// TestGELUSIMDChunking checks that an element's GELU does not depend on
// where ParallelFor cut the slice, thanks to the masked tail.
func TestGELUSIMDChunking(t *testing.T) {
	requireAVX2(t)
	rng := rand.New(rand.NewPCG(2, 2))
	const n = 1003
	x, dout := kernelInput(rng, n, 3, true), kernelInput(rng, n, 1, false)
	out, aux, dx := make([]float32, n), make([]float32, n), make([]float32, n)
	geluForwardSIMD(out, aux, x)
	geluBackwardSIMD(dx, dout, x, aux)
	for _, cut := range []int{1, 5, 8, 13, 500, 1001} {
		o2, a2, d2 := make([]float32, n), make([]float32, n), make([]float32, n)
		for _, r := range [][2]int{{0, cut}, {cut, n}} {
			geluForwardSIMD(o2[r[0]:r[1]], a2[r[0]:r[1]], x[r[0]:r[1]])
			geluBackwardSIMD(d2[r[0]:r[1]], dout[r[0]:r[1]], x[r[0]:r[1]], a2[r[0]:r[1]])
		}
		for i := range x {
			if math.Float32bits(o2[i]) != math.Float32bits(out[i]) ||
				math.Float32bits(a2[i]) != math.Float32bits(aux[i]) ||
				math.Float32bits(d2[i]) != math.Float32bits(dx[i]) {
				t.Fatalf("cut at %d: element %d differs", cut, i)
			}
		}
	}
}

// TestGELUAccuracy measures both GELUs against float64 math.Erf, which is
// what HuggingFace's "gelu" computes up to float32 rounding.
func TestGELUAccuracy(t *testing.T) {
	const n = 1 << 21
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(-10 + 20*float64(i)/n)
	}
	out, aux := make([]float32, n), make([]float32, n)
	dx, ones := make([]float32, n), make([]float32, n)
	for i := range ones {
		ones[i] = 1
	}
	kernels := []struct {
		name     string
		fwd      func(out, aux, x []float32)
		bwd      func(dx, dout, x, aux []float32)
		required bool
	}{
		{"scalar", geluForward, geluBackward, false},
		{"simd", geluForwardSIMD, geluBackwardSIMD, true},
	}
	for _, k := range kernels {
		t.Run(k.name, func(t *testing.T) {
			if k.required {
				requireAVX2(t)
			}
			k.fwd(out, aux, x)
			k.bwd(dx, ones, x, aux)
			var cdfErr, outErr, outRel, dErr float64
			for i, v := range x {
				xv := float64(v)
				cdf := 0.5 * (1 + math.Erf(xv/math.Sqrt2))
				pdf := math.Exp(-0.5*xv*xv) / math.Sqrt(2*math.Pi)
				cdfErr = max(cdfErr, math.Abs(float64(aux[i])-cdf))
				e := math.Abs(float64(out[i]) - xv*cdf)
				outErr = max(outErr, e)
				outRel = max(outRel, e/max(1, math.Abs(xv)))
				dErr = max(dErr, math.Abs(float64(dx[i])-(cdf+xv*pdf))/max(1, math.Abs(xv)))
			}
			t.Logf("x in [-10,10]: max |Φ err| %.3g, max |gelu err| %.3g (%.3g relative to max(1,|x|)), max gelu' err %.3g (relative to max(1,|x|))",
				cdfErr, outErr, outRel, dErr)
			// Erf is good to 1e-6, so Φ to 5e-7; float32 rounding of x·Φ adds
			// half an ulp of x.
			if cdfErr > 6e-7 || outRel > 1e-6 || dErr > 1e-6 {
				t.Errorf("GELU error above 1e-6")
			}
		})
	}
}

func TestExpSIMD(t *testing.T) {
	requireAVX2(t)
	const n = 1 << 21
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(-90 + 180*float64(i)/n)
	}
	x = append(x, special...)
	x = append(x, -87.33654, -87.3366, -87, 88.37, 88.38, 88.7, 88.71)
	got, want := make([]float32, len(x)), make([]float32, len(x))
	expSumSIMD(got, x, 0)
	expSum(want, x, 0)
	var worstScalar, worstRef float64
	for i, v := range x {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(g) != math.IsNaN(w) || (math.IsInf(g, 0) || math.IsInf(w, 0)) && g != w {
			t.Errorf("exp(%v) = %v, scalar %v", v, g, w)
			continue
		}
		if math.IsNaN(g) || math.IsInf(g, 0) {
			continue
		}
		if w < 0x1p-126 {
			// The scalar Exp returns subnormals down there, the SIMD one 0.
			if math.Abs(g-w) > 0x1p-126 {
				t.Errorf("exp(%v) = %v, scalar %v", v, g, w)
			}
			continue
		}
		worstScalar = max(worstScalar, math.Abs(g-w)/w)
		worstRef = max(worstRef, math.Abs(g-math.Exp(float64(v)))/math.Exp(float64(v)))
	}
	t.Logf("max relative error: %.3g vs scalar Exp, %.3g vs math.Exp", worstScalar, worstRef)
	if worstRef > 3e-7 || worstScalar > 3e-7 {
		t.Errorf("exp error above 3e-7")
	}
}

func TestSoftmaxSIMD(t *testing.T) {
	requireAVX2(t)
	rng := rand.New(rand.NewPCG(3, 3))
	masks := []struct {
		name string
		keep func(int) bool
	}{
		{"all", func(int) bool { return true }},
		{"random", func(int) bool { return rng.IntN(4) != 0 }},
		{"first", func(j int) bool { return j == 0 }},
		{"last9", func(j int) bool { return j%16 >= 7 }},
		{"none", func(int) bool { return false }},
	}
	for _, n := range kernelLengths {
		for _, mask := range masks {
			mname := mask.name
			for _, withSpecial := range []bool{false, true} {
				t.Run(fmt.Sprintf("n=%d/keep=%s/special=%v", n, mname, withSpecial), func(t *testing.T) {
					s := kernelInput(rng, n, 4, false)
					if withSpecial {
						// Scores overflowing or NaN: -Inf is a legal score,
						// NaN must poison the row in both versions.
						for i := range s {
							if rng.IntN(8) == 0 {
								s[i] = []float32{-1e30, 1e30, float32(math.Inf(-1)), -200, float32(math.NaN())}[rng.IntN(5)]
							}
						}
					}
					keep := make([]bool, n)
					for j := range keep {
						keep[j] = mask.keep(j)
					}
					got, want := make([]float32, n), make([]float32, n)
					softmaxRowSIMD(got, s, keep)
					softmaxRow(want, s, keep)
					// Against softmax in float64: exp's 3e-7, two roundings,
					// and the worst case of a float32 sum of n/8 terms per
					// lane plus three to fold the lanes. The scalar row, with
					// its left-to-right sum, has the same kind of error.
					ref := softmaxRef(s, keep)
					simdErr, scalarErr := relDiff(t, "p", got, ref), relDiff(t, "scalar p", want, ref)
					if simdErr > 3e-7+float64(n/8+5)*0x1p-24 {
						t.Errorf("probabilities off by %.3g (relative), scalar by %.3g", simdErr, scalarErr)
					}
					for j := range got {
						if !keep[j] && got[j] != 0 && !math.IsNaN(float64(got[j])) {
							t.Fatalf("masked key %d has probability %v", j, got[j])
						}
					}
					// In place, as the encoder calls it.
					inPlace := append([]float32(nil), s...)
					softmaxRowSIMD(inPlace, inPlace, keep)
					if e := diff(t, "in place", inPlace, got, nil); e != 0 {
						t.Errorf("in place differs by %.3g", e)
					}

					dp := kernelInput(rng, n, 1, false)
					gotD, wantD := append([]float32(nil), dp...), make([]float32, n)
					softmaxBackwardRowSIMD(gotD, gotD, want)
					softmaxBackwardRow(wantD, dp, want)
					if e := diff(t, "ds", gotD, wantD, nil); e > 1e-6 {
						t.Errorf("softmax gradient differs by %.3g", e)
					}
				})
			}
		}
	}
}

// softmaxRef is softmaxRow in float64, rounded at the end, from the same
// float32 differences v−max as the kernels: rounding them costs up to
// ulp(v−max)/2 of relative error in e^(v−max), a property of the inputs
// rather than of the kernels.
func softmaxRef(s []float32, keep []bool) []float32 {
	m := float32(math.Inf(-1))
	for j, v := range s {
		if keep[j] && v > m {
			m = v
		}
	}
	e := make([]float64, len(s))
	var sum float64
	for j, v := range s {
		if keep[j] {
			e[j] = math.Exp(float64(v - m))
			sum += e[j]
		}
	}
	p := make([]float32, len(s))
	for j := range p {
		p[j] = float32(e[j] * (1 / sum))
	}
	return p
}

func TestCrossEntropySIMD(t *testing.T) {
	requireAVX2(t)
	rng := rand.New(rand.NewPCG(4, 4))
	for _, n := range append(kernelLengths[1:], 30522) {
		for _, withSpecial := range []bool{false, true} {
			t.Run(fmt.Sprintf("n=%d/special=%v", n, withSpecial), func(t *testing.T) {
				x := kernelInput(rng, n, 5, false)
				if withSpecial {
					x[rng.IntN(n)] = []float32{-1e30, float32(math.Inf(-1)), float32(math.NaN())}[rng.IntN(3)]
				}
				// As CrossEntropyForward: a NaN logit makes every term NaN
				// once scaled by 1/sum, though the max may skip it.
				m, wantM := rowMaxSIMD(x), rowMax(x)
				if !math.IsNaN(float64(wantM)) && m != wantM {
					t.Fatalf("max %v, want %v", m, wantM)
				}
				got, want := make([]float32, n), make([]float32, n)
				sum, wantSum := expSumSIMD(got, x, m), expSum(want, x, wantM)
				sumNil := expSumSIMD(nil, x, m)
				if math.IsNaN(sum) != math.IsNaN(wantSum) || math.Abs(sum-wantSum) > 1e-7*wantSum ||
					math.IsNaN(sumNil) != math.IsNaN(sum) || math.Abs(sumNil-sum) > 1e-12*sum {
					t.Fatalf("sum %v (nil out: %v), want %v", sum, sumNil, wantSum)
				}
				lse, wantLSE := float64(m)+math.Log(sum), float64(wantM)+math.Log(wantSum)
				if math.IsNaN(lse) != math.IsNaN(wantLSE) || math.Abs(lse-wantLSE) > 1e-6*max(1, math.Abs(wantLSE)) {
					t.Errorf("log-sum-exp %v, want %v", lse, wantLSE)
				}
				scaleSIMD(got, float32(1/sum))
				scaleRow(want, float32(1/wantSum))
				if e := relDiff(t, "softmax", got, want); e > 4e-7 {
					t.Errorf("softmax differs by %.3g (relative)", e)
				}
			})
		}
	}
}

func TestLayerNormSIMD(t *testing.T) {
	requireAVX2(t)
	rng := rand.New(rand.NewPCG(5, 5))
	for _, dim := range kernelLengths[1:] {
		for _, c := range []struct {
			name        string
			offset, std float64
		}{{"unit", 0, 1}, {"offset", 1000, 0.01}, {"large", 0, 1e4}} {
			t.Run(fmt.Sprintf("dim=%d/%s", dim, c.name), func(t *testing.T) {
				x := kernelInput(rng, dim, c.std, false)
				for i := range x {
					x[i] += float32(c.offset)
				}
				w, b := kernelInput(rng, dim, 1, false), kernelInput(rng, dim, 1, false)
				out, want := make([]float32, dim), make([]float32, dim)
				m, r := layerNormRowSIMD(out, x, w, b, 1e-12)
				wm, wr := layerNormRow(want, x, w, b, 1e-12)
				if math.Abs(float64(m-wm)) > 1e-7*math.Abs(float64(wm)) || math.Abs(float64(r-wr)) > 1e-7*float64(wr) {
					t.Errorf("mean, rstd = %v, %v, want %v, %v", m, r, wm, wr)
				}
				if e := diff(t, "out", out, want, nil); e > 1e-5 {
					t.Errorf("out differs by %.3g", e)
				}

				g := kernelInput(rng, dim, 1, false)
				pw, pb := kernelInput(rng, dim, 1, false), kernelInput(rng, dim, 1, false)
				wantPw, wantPb := append([]float32(nil), pw...), append([]float32(nil), pb...)
				dx, wantDx := make([]float32, dim), make([]float32, dim)
				layerNormBackwardRowSIMD(dx, pw, pb, g, x, w, wm, wr)
				layerNormBackwardRow(wantDx, wantPw, wantPb, g, x, w, wm, wr)
				scale := max(1, float32(wr))
				if e := diff(t, "pw", pw, wantPw, nil); e > 1e-6 {
					t.Errorf("dw differs by %.3g", e)
				}
				if e := diff(t, "pb", pb, wantPb, nil); e != 0 {
					t.Errorf("db differs by %.3g", e)
				}
				if e := diff(t, "dx", dx, wantDx, nil); e > 2e-5*float64(scale) {
					t.Errorf("dx differs by %.3g", e)
				}
			})
		}
	}
}

// TestSumSquaresAndScale checks the optimiser's vector passes against their
// one-lane definitions at every tail length: Scale bit for bit, SumSquares
// to float64 summation error.
func TestSumSquaresAndScale(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for n := range 40 {
		x := make([]float32, n)
		var want float64
		for i := range x {
			x[i] = float32(rng.NormFloat64() * 1e3)
			want += float64(x[i]) * float64(x[i])
		}
		if got := SumSquares(x); math.Abs(got-want) > 1e-15*want {
			t.Errorf("n=%d: SumSquares = %v, want %v", n, got, want)
		}
		got, ref := slices.Clone(x), slices.Clone(x)
		Scale(got, 0.37)
		scaleRow(ref, 0.37)
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(ref[i]) {
				t.Fatalf("n=%d: Scale [%d] = %v, want %v", n, i, got[i], ref[i])
			}
		}
	}
}
