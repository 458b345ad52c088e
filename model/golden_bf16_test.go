package model_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/safetensors"
)

// goldenBF16 is testdata/<case>/golden_bf16.json, written by
// testdata/golden.py: the case's forward and backward in float64 with both
// inputs of every GEMM rounded to bfloat16, as SetBF16 computes them, and
// how far the unrounded float64 golden (golden.json) is from it.
type goldenBF16 struct {
	Logits          json.RawMessage `json:"logits"`
	LastHiddenState [][][]float32   `json:"last_hidden_state"`
	GradsFile       string          `json:"grads_file"`
	UnitRoundoff    float64         `json:"unit_roundoff"`
	F64VsBF16       struct {
		Logits          float64            `json:"logits"`
		LastHiddenState float64            `json:"last_hidden_state"`
		Grads           float64            `json:"grads"`
		PerGrad         map[string]float64 `json:"per_grad"`
	} `json:"f64_vs_bf16"`
	GradsZero []string `json:"grads_zero_in_exact_arithmetic"`
}

// Tolerances of the bf16 golden test.
//
// bfloat16 keeps 8 significant bits, so rounding to nearest moves a value
// by at most u = 2⁻⁸ of itself (torch.finfo(torch.bfloat16).eps = 2⁻⁷ is
// the spacing just above 1; u is half of it). The golden rounds both inputs
// of every GEMM as SetBF16 does and computes everything else exactly. What
// these roundings do to a quantity X (logits, hidden states, a gradient) is
// stored as D_X = ‖ref_f64 − ref_bf16‖/‖ref_bf16‖: 0.9–5.4 u here, 2.3–3.5 u
// for all gradients together (D_grads), and 0.03 u for the MLM's
// cls.predictions.bias, a softmax minus one-hot that the roundings barely
// move.
//
// A correct float32 implementation differs from the golden in two ways:
//
//  1. float32 arithmetic: accumulation over k ≤ 99 terms and float32
//     LayerNorm, softmax and GELU, ≲ 2e-6 relative (torch's float32 run
//     against the float64 golden, golden.json's torch_f32_vs_f64), ~10⁻⁴ D.
//  2. Rounding flips. A GEMM input whose float32 value x̃ differs from the
//     golden's float64 x by δ rounds to the other neighbour when x lies
//     within δ of the midpoint of two bfloat16 values: probability about
//     δ/(u·|x|) ≈ 2⁸·2⁻²⁴ = 2⁻¹⁶ per input at float32's δ, and some 3·10⁴
//     inputs are rounded in one forward and backward, so a flip is likely.
//     A flip moves its input by a whole bfloat16 spacing (up to 2u of it)
//     and the rows it reaches by ~u/√k, far more than δ, so their next
//     roundings flip with probability ~0.1–1: flips cascade, and a few GEMMs
//     later those rows have their bfloat16 roundings drawn anew. A correct
//     implementation may thus be as far from the golden as an independent
//     second set of roundings: ‖go − ref_bf16‖ up to about √2·D.
//
// golden.py measures this on float32 runs of the golden's own computation
// with every GEMM's input and result jittered by 2 float32 ulps (another
// engine's arithmetic): single gradients reach 1.5 D_X, and in 2, 4 and 14
// of 24 runs (tiny-bert, tiny-roberta, tiny-bert-mlm) some gradient is
// beyond D_X/4 (golden_bf16.json, "jittered_f32_vs_bf16"). So a per-tensor
// bound of D_X/4, which would tell "rounded as the golden" from "not
// rounded" (ref_f64, at D_X) directly, fails correct implementations. The
// test asks instead:
//
//   - spread: e_X = ‖go − ref_bf16‖/‖ref_bf16‖ ≤ 2·max(D_X, D_grads) for the
//     logits, the last hidden state and each gradient: √2 with margin (the
//     jittered runs reach 0.4 of it); the max with D_grads because a tensor
//     whose own D_X is small by cancellation still takes redrawn roundings
//     of the common size. Rounding more than the golden (GEMM results too,
//     as autocast's bfloat16 outputs) exceeds it.
//   - projection: c = ⟨go − ref_bf16, ref_f64 − ref_bf16⟩/‖ref_f64 −
//     ref_bf16‖² ≤ ½ for the logits and for all gradients together. c is
//     the share of the roundings' effect that go lacks: 1 when the GEMMs
//     silently stay in float32, the skipped GEMMs' share when some are not
//     rounded, near 0 for a correct implementation, whose redrawn roundings
//     are uncorrelated with the golden's. Only a flip correlates: it moves
//     its input past the unrounded value, along ref_f64 − ref_bf16, by
//     about twice the golden's rounding error there, so c ≤ ½ tolerates
//     flips carrying a quarter of the roundings' effect. The jittered runs
//     reach c = 0.18.
//   - the key biases' gradients are zero in exact arithmetic (softmax
//     ignores a constant added to a row of scores); in the golden they are
//     the residue of rounding dS (Σ_j round(dS_ij) ≠ 0), 0.14–0.43 u of the
//     key weight's largest gradient entry here, and a flip redraws them, so
//     they are compared absolutely: max |go − ref_bf16| ≤ 2u·max |d key.weight|.
//
// golden.py checks these criteria against its float32 runs (they pass)
// and against plausible mistakes: float32 GEMMs, only the weights rounded,
// dense layers or attention's products not rounded, GEMM results rounded
// too all fail; the backward's incoming gradient dY left unrounded (c 0.1–
// 0.4) cannot be told from flips by any bound that correct runs pass
// ("mutation_effects").
const (
	bf16Spread     = 2.0
	bf16Projection = 0.5
	bf16ZeroULPs   = 2.0
)

func TestGoldenBF16AgainstPyTorch(t *testing.T) {
	for _, name := range []string{"tiny-bert", "tiny-roberta", "tiny-bert-mlm"} {
		t.Run(name, func(t *testing.T) {
			g, m, b := loadGolden(t, name)
			dir := filepath.Join(goldenDir, name)
			raw, err := os.ReadFile(filepath.Join(dir, "golden_bf16.json"))
			if err != nil {
				t.Fatal(err)
			}
			var g16 goldenBF16
			must(t, json.Unmarshal(raw, &g16))
			if err := m.SetBF16(true); err != nil {
				t.Skip(err.Error())
			}
			D := g16.F64VsBF16
			u := g16.UnitRoundoff
			if u != 1.0/256 {
				t.Fatalf("unit roundoff %v in golden_bf16.json, want 2⁻⁸", u)
			}
			head, H, V := m.Head, m.Config.HiddenSize, m.Config.VocabSize
			logits16, logits64 := goldenLogits(t, g16.Logits, head), goldenLogits(t, g.Logits, head)
			hidden16, hidden64 := flatten3(g16.LastHiddenState), flatten3(g.LastHiddenState)
			ref16 := readGrads(t, filepath.Join(dir, g16.GradsFile))
			ref64 := readGrads(t, filepath.Join(dir, g.GradsFile))
			zero := map[string]bool{}
			for _, n := range g16.GradsZero {
				zero[n] = true
			}

			ws := m.NewWorkspace(b.B, b.T, 0)
			for _, keep := range []bool{true, false} {
				ws.KeepPadding = keep
				what := fmt.Sprintf(" (KeepPadding %v)", keep)
				b.Labels, b.Targets, b.MLMLabels = nil, nil, nil
				if _, err := m.Forward(ws, b, model.Pass{}); err != nil {
					t.Fatal(err)
				}
				want16 := forwardRows(ws, logits16, V, head == model.MaskedLM)
				want64 := forwardRows(ws, logits64, V, head == model.MaskedLM)
				got := ws.Logits[:len(want16)]
				e, c := bf16Errors(got, want16, want64)
				t.Logf("logits%s: e/D %.3f c %.3f", what, e/D.Logits, c)
				checkSpread(t, "logits"+what, e, D.Logits, D.Grads)
				if c > bf16Projection {
					t.Errorf("logits%s: c = %.3f > %g: the result lacks that share of the bfloat16 roundings' effect", what, c, bf16Projection)
				}
				e, _ = bf16Errors(ws.Hidden(m), forwardRows(ws, hidden16, H, true), forwardRows(ws, hidden64, H, true))
				checkSpread(t, "last_hidden_state"+what, e, D.LastHiddenState, D.Grads)

				setLabels(t, g, m, b)
				if _, err := m.Forward(ws, b, model.Pass{}); err != nil {
					t.Fatal(err)
				}
				m.ZeroGrad()
				m.Backward(ws, b)
				var all16, all64, allGo []float32
				compared := 0
				for _, n := range slices.Sorted(maps.Keys(ref16)) {
					ti, ok := m.TensorInfo(n)
					if !ok {
						t.Errorf("gradient for unknown tensor %s", n)
						continue
					}
					compared++
					got := m.Grad[ti.Offset : ti.Offset+ti.Size]
					if zero[n] {
						kw, ok := ref16[n[:len(n)-len("bias")]+"weight"]
						if !ok {
							t.Fatalf("%s: no weight beside it", n)
						}
						tol := bf16ZeroULPs * u * maxAbs(kw)
						if d := maxAbsDiff(got, ref16[n]); d > tol {
							t.Errorf("grad %s%s: max |go − bf16| = %.3g > 2u·max|d key.weight| = %.3g", n, what, d, tol)
						}
						continue
					}
					Dn, ok := D.PerGrad[n]
					if !ok {
						t.Fatalf("%s: no f64_vs_bf16 distance in golden_bf16.json", n)
					}
					e, _ := bf16Errors(got, ref16[n], ref64[n])
					checkSpread(t, "grad "+n+what, e, Dn, D.Grads)
					all16 = append(all16, ref16[n]...)
					all64 = append(all64, ref64[n]...)
					allGo = append(allGo, got...)
				}
				if compared != len(m.Tensors) {
					t.Errorf("compared gradients of %d tensors, model has %d", compared, len(m.Tensors))
				}
				e, c = bf16Errors(allGo, all16, all64)
				checkSpread(t, "all gradients"+what, e, D.Grads, D.Grads)
				if c > bf16Projection {
					t.Errorf("all gradients%s: c = %.3f > %g: they lack that share of the bfloat16 roundings' effect", what, c, bf16Projection)
				}
				t.Logf("all gradients%s: e/D %.3f c %.3f", what, e/D.Grads, c)
			}
		})
	}
}

// bf16Errors returns e = ‖got − ref‖/‖ref‖ and the projection
// c = ⟨got − ref, exact − ref⟩/‖exact − ref‖².
func bf16Errors(got, ref, exact []float32) (e, c float64) {
	if len(got) != len(ref) || len(ref) != len(exact) {
		panic(fmt.Sprintf("lengths %d, %d, %d", len(got), len(ref), len(exact)))
	}
	var dd, rr, dx, xx float64
	for i := range ref {
		d := float64(got[i]) - float64(ref[i])
		x := float64(exact[i]) - float64(ref[i])
		dd += d * d
		rr += float64(ref[i]) * float64(ref[i])
		dx += d * x
		xx += x * x
	}
	return math.Sqrt(dd / rr), dx / xx
}

// checkSpread checks e ≤ bf16Spread·max(d, dAll).
func checkSpread(t *testing.T, what string, e, d, dAll float64) {
	t.Helper()
	if bound := bf16Spread * max(d, dAll); e > bound {
		t.Errorf("%s: ‖go − bf16‖/‖bf16‖ = %.3g > %g·max(D %.3g, D_grads %.3g)", what, e, bf16Spread, d, dAll)
	}
}

// readGrads reads a gradients file into memory.
func readGrads(t *testing.T, path string) map[string][]float32 {
	t.Helper()
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]float32{}
	for _, n := range f.Names() {
		x, err := f.Float32(n)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = x
	}
	return out
}

func maxAbs(x []float32) float64 {
	var m float64
	for _, v := range x {
		m = max(m, math.Abs(float64(v)))
	}
	return m
}

func maxAbsDiff(x, y []float32) float64 {
	var m float64
	for i := range x {
		m = max(m, math.Abs(float64(x[i])-float64(y[i])))
	}
	return m
}
