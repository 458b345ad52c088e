package subspace

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/nn"
	"github.com/subtune/subtune/optim"
	"github.com/subtune/subtune/safetensors"
	"github.com/subtune/subtune/trainer"
	"github.com/subtune/subtune/trainloop"
	"github.com/subtune/subtune/trajectory"
)

// A Reparam, or the Freeze baseline, is what `subtune finetune` plugs into
// the trainer.
var (
	_ trainer.ParamHook = (*Reparam)(nil)
	_ trainer.ParamHook = Freeze{}
)

// TestIdentityBasisEqualsFullTraining: when V is the identity restricted to
// a few coordinates per layer, training z with AdamW is training those
// coordinates of θ with AdamW, step for step — with one copy, and with h
// copies, which receive the same gradient g/h and so move in lockstep (from
// zero, or from h random starts whose mean the full run starts at). AdamW
// is invariant to the gradient's scale except through ε, so h copies are
// exactly full training with ε·h.
func TestIdentityBasisEqualsFullTraining(t *testing.T) {
	for _, tc := range []struct {
		name    string
		h       int
		initStd float64
		tol     float64
	}{
		{"h=1", 1, 0, 1e-6},
		{"h=4", 4, 0, 1e-5},
		{"h=4/random-start", 4, 0.05, 1e-5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m1 := tinyModel(t, 2, 1)
			m2 := tinyModel(t, 2, 1)
			c := m1.Config
			L, D := c.NumHiddenLayers, c.LayerSize()
			// A weight, a bias, a LayerNorm weight and the layer's last
			// number: coordinates of every kind.
			lts := c.LayerLayout()
			coords := []int{3, lts[1].Offset + 2, lts[8].Offset + 1, D - 1}
			rows := make([][]float32, L)
			for l := range rows {
				rows[l] = make([]float32, len(coords)*D)
				for i, j := range coords {
					rows[l][i*D+j] = 1
				}
			}
			b := explicitBasis(L, D, len(coords), rows)
			const lr = 1e-2
			r, err := New(m1, b, Options{Ensemble: tc.h, Seed: 9, InitStd: tc.initStd, LearningRate: lr})
			if err != nil {
				t.Fatal(err)
			}
			r.Materialize(m1)
			copy(m2.Data, m1.Data) // the full run starts where θ0 + Vᵀz̄ starts
			opt1 := optim.NewAdamW(r.Groups())
			var full []optim.Group
			for l := 0; l < L; l++ {
				for _, j := range coords {
					o := m2.LayerOffset(l) + j
					full = append(full, optim.Group{Data: m2.Data[o : o+1], Grad: m2.Grad[o : o+1], LR: lr})
				}
			}
			opt2 := optim.NewAdamW(full)
			opt2.Eps *= float64(tc.h)
			ws1, ws2 := m1.NewWorkspace(3, 6, 0), m2.NewWorkspace(3, 6, 0)
			for step := 0; step < 6; step++ {
				batch := tinyBatch(uint64(step))
				l1 := lossAndGrad(t, m1, ws1, batch)
				r.ProjectGrad(m1)
				opt1.Step(1)
				r.Materialize(m1)
				l2 := lossAndGrad(t, m2, ws2, batch)
				opt2.Step(1)
				if math.Abs(l1-l2) > tc.tol*(1+math.Abs(l2)) {
					t.Fatalf("step %d: loss %v (subspace) vs %v (full)", step, l1, l2)
				}
			}
			if d := maxAbsDiff(m1.Data, m2.Data); d > tc.tol {
				t.Fatalf("after 6 steps the weights differ by %v", d)
			}
			moved := maxAbsDiff(m1.Data, tinyModel(t, 2, 1).Data)
			if moved < 1e-2 {
				t.Fatalf("training moved the weights by only %v", moved)
			}
		})
	}
}

// TestGradMatchesFiniteDifferences: ∂loss/∂z (and ∂loss/∂λ) from
// ProjectGrad against central differences of the loss through
// Materialize, for each kind of basis and an ensemble of copies.
func TestGradMatchesFiniteDifferences(t *testing.T) {
	m := tinyModel(t, 2, 2)
	c := m.Config
	L, D := c.NumHiddenLayers, c.LayerSize()
	ext := extractedBasis(t, m, ScopeGlobal)
	for _, tc := range []struct {
		name  string
		basis func() (*Basis, error)
	}{
		{"dense", func() (*Basis, error) { return NewRandomBasis(KindDense, L, D, 3, 5, safetensors.F32) }},
		{"dense-bf16", func() (*Basis, error) { return NewRandomBasis(KindDense, L, D, 3, 5, safetensors.BF16) }},
		{"fastfood", func() (*Basis, error) { return NewRandomBasis(KindFastfood, L, D, 3, 5, "") }},
		{"said", func() (*Basis, error) { return NewRandomBasis(KindSAID, L, D, 3, 5, "") }},
		{"intrinsic-global", func() (*Basis, error) { return ext, nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.basis()
			if err != nil {
				t.Fatal(err)
			}
			mm := tinyModel(t, 2, 2)
			r, err := New(mm, b, Options{Ensemble: 3, Seed: 1, InitStd: 0.3})
			if err != nil {
				t.Fatal(err)
			}
			if r.Lambda != nil {
				r.Lambda[0], r.Lambda[1] = 1.3, 0.7
			}
			ws := mm.NewWorkspace(3, 6, 0)
			batch := tinyBatch(1)
			loss := func() float64 {
				r.Materialize(mm)
				l, err := mm.Forward(ws, batch, model.Pass{})
				if err != nil {
					t.Fatal(err)
				}
				return l
			}
			loss()
			lossAndGrad(t, mm, ws, batch)
			r.ProjectGrad(mm)
			params := [][]float32{r.Z, r.Lambda}
			grads := [][]float32{r.ZGrad, r.LambdaGrad}
			const eps = 3e-2 // the loss is float32: smaller steps drown in its rounding
			for p := range params {
				var num, diff float64
				for i := range params[p] {
					x := params[p][i]
					params[p][i] = x + eps
					up := loss()
					params[p][i] = x - eps
					down := loss()
					params[p][i] = x
					fd := (up - down) / (2 * eps)
					g := float64(grads[p][i])
					num += g * g
					diff += (fd - g) * (fd - g)
				}
				if len(params[p]) == 0 {
					continue
				}
				t.Logf("param set %d: ‖fd − grad‖/‖grad‖ = %.2g", p, math.Sqrt(diff/num))
				if math.Sqrt(diff) > 5e-3*math.Sqrt(num)+1e-8 {
					t.Errorf("param set %d: ‖fd − grad‖ = %.3g, ‖grad‖ = %.3g", p, math.Sqrt(diff), math.Sqrt(num))
				}
			}
		})
	}
}

// extractedBasis extracts a basis of the given scope from a short random
// trajectory around m's encoder.
func extractedBasis(t *testing.T, m *model.Model, scope string) *Basis {
	c := m.Config
	L, D := c.NumHiddenLayers, c.LayerSize()
	delta := randomDeltas(rand.New(rand.NewPCG(4, 4)), 4, L, D, 0.02)
	tr := newMemTrajectory(modelTheta0(m), delta, c.LayerLayout())
	path := filepath.Join(t.TempDir(), "basis.safetensors")
	if _, err := Extract(tr.all(), path, ExtractOptions{Scope: scope}); err != nil {
		t.Fatal(err)
	}
	b, err := LoadBasis(path, Expect{NumLayers: L, LayerSize: D, Theta0Hash: tr.Theta0Hash()})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDenseIsOrthonormal: the dense random basis has orthonormal rows in
// every layer, and the seed alone decides it, whatever the thread count.
func TestDenseIsOrthonormal(t *testing.T) {
	const L, D, d = 2, 5000, 8
	b, err := NewRandomBasis(KindDense, L, D, d, 7, safetensors.F32)
	if err != nil {
		t.Fatal(err)
	}
	for l := 0; l < L; l++ {
		checkOrthonormal(t, rowsOf(b, l), 1e-6)
	}
	prev := nn.Workers()
	nn.SetThreads(1)
	again, err := NewRandomBasis(KindDense, L, D, d, 7, safetensors.F32)
	nn.SetThreads(prev)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewRandomBasis(KindDense, L, D, d, 8, safetensors.F32)
	for l := 0; l < L; l++ {
		if d := maxAbsDiff(b.segs[l].f32, again.segs[l].f32); d != 0 {
			t.Errorf("layer %d: regenerating on one thread differs by %v", l, d)
		}
		if maxAbsDiff(b.segs[l].f32, other.segs[l].f32) == 0 {
			t.Errorf("layer %d: seeds 7 and 8 give the same basis", l)
		}
	}
	if b.segs[0].f32[0] == b.segs[1].f32[0] {
		t.Error("layers share their random numbers")
	}
}

// TestFastfood: the transform against its definition with a full
// permutation, its transpose against its adjoint (⟨Vz, g⟩ = ⟨z, Vᵀg⟩),
// columns of about unit length, and O(D) memory.
func TestFastfood(t *testing.T) {
	for _, tc := range []struct{ D, d int }{{1000, 5}, {1024, 1}, {3000, 32}, {70000, 7}} {
		rng := rand.New(rand.NewPCG(uint64(tc.D), 2))
		f := newFastfood(tc.D, tc.d, rng)
		w, y := make([]float32, f.l), make([]float32, f.dp)
		parts := make([]float64, 64*f.dp)
		// Adjoint.
		z := make([]float32, tc.d)
		for i := range z {
			z[i] = float32(rng.NormFloat64())
		}
		g := make([]float32, tc.D)
		for i := range g {
			g[i] = float32(rng.NormFloat64())
		}
		vz := make([]float32, tc.D)
		f.expand(vz, nil, z, w, y)
		vtg := make([]float64, tc.d)
		f.project(vtg, g, w, parts)
		var lhs, rhs, scale float64
		for i := range g {
			lhs += float64(vz[i]) * float64(g[i])
			scale += math.Abs(float64(vz[i]) * float64(g[i]))
		}
		for i := range z {
			rhs += float64(z[i]) * vtg[i]
		}
		if math.Abs(lhs-rhs) > 1e-5*scale {
			t.Errorf("D=%d d=%d: ⟨Vz,g⟩ = %v but ⟨z,Vᵀg⟩ = %v", tc.D, tc.d, lhs, rhs)
		}
		if tc.D > 5000 {
			continue
		}
		// Definition: c·S H G Π H B P with a full permutation Π that agrees
		// with the stored Π mod d'.
		perm := make([]int, f.l)
		next := make([]int, f.dp)
		for i, r := range f.perm {
			perm[i] = int(r) + f.dp*next[r]
			next[r]++
		}
		for col := 0; col < tc.d; col++ {
			x := make([]float64, f.l)
			x[col] = float64(f.sign[col])
			hadamard64(x)
			u := make([]float64, f.l)
			for i := range u {
				u[i] = float64(f.g[i]) * x[perm[i]]
			}
			hadamard64(u)
			e := make([]float32, tc.d)
			e[col] = 1
			got := make([]float32, tc.D)
			f.expand(got, nil, e, w, y)
			var n2 float64
			for j := 0; j < tc.D; j++ {
				want := float64(f.scale) * u[j]
				n2 += float64(got[j]) * float64(got[j])
				if math.Abs(float64(got[j])-want) > 1e-5 {
					t.Fatalf("D=%d d=%d: column %d row %d = %v, definition %v", tc.D, tc.d, col, j, got[j], want)
				}
			}
			if math.Abs(math.Sqrt(n2)-1) > 0.2 {
				t.Errorf("D=%d: column %d has length %v", tc.D, col, math.Sqrt(n2))
			}
		}
	}
	// Memory: a BERT-base-sized layer at d = 32.
	const D, d = 7087872, 32
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b, err := NewRandomBasis(KindFastfood, 1, D, d, 1, "")
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	L := 1 << 23
	if got := b.Bytes(); got > 6*int64(L)+1024 {
		t.Errorf("Fastfood keeps %d bytes for D=%d, want about 6 per padded parameter (%d)", got, D, 6*L)
	}
	if grew := after.HeapAlloc - before.HeapAlloc; grew > 8*uint64(L) {
		t.Errorf("building it grew the heap by %d bytes; a dense basis would be %d", grew, 4*d*D)
	}
	runtime.KeepAlive(b)
}

// hadamard64 is the textbook O(n²)-free but unblocked transform in float64.
func hadamard64(x []float64) {
	for h := 1; h < len(x); h *= 2 {
		for i := 0; i < len(x); i += 2 * h {
			for j := i; j < i+h; j++ {
				x[j], x[j+h] = x[j]+x[j+h], x[j]-x[j+h]
			}
		}
	}
}

// TestFWHT: the blocked, parallel transform equals the textbook one.
func TestFWHT(t *testing.T) {
	for _, n := range []int{1, 2, 4, 8, fwhtBlock, 2 * fwhtBlock, 8 * fwhtBlock, 32 * fwhtBlock} {
		rng := rand.New(rand.NewPCG(uint64(n), 1))
		x := make([]float32, n)
		ref := make([]float64, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
			ref[i] = float64(x[i])
		}
		fwht(x)
		hadamard64(ref)
		for i := range x {
			if math.Abs(float64(x[i])-ref[i]) > 1e-4*math.Sqrt(float64(n)) {
				t.Fatalf("n=%d: element %d = %v, want %v", n, i, x[i], ref[i])
			}
		}
	}
}

// TestBF16MatchesF32: a basis kept in bfloat16 gives the same update and
// gradient as in float32, to bfloat16's 8 bits.
func TestBF16MatchesF32(t *testing.T) {
	m := tinyModel(t, 2, 3)
	c := m.Config
	tr := trajectoryAround(t, m, 6)
	dir := t.TempDir()
	f32, bf := filepath.Join(dir, "f32.safetensors"), filepath.Join(dir, "bf16.safetensors")
	if _, err := Extract(tr.all(), f32, ExtractOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Extract(tr.all(), bf, ExtractOptions{DType: safetensors.BF16}); err != nil {
		t.Fatal(err)
	}
	want := Expect{NumLayers: c.NumHiddenLayers, LayerSize: c.LayerSize(), Theta0Hash: tr.Theta0Hash()}
	load := func(path string, dt safetensors.DType) *Basis {
		w := want
		w.DType = dt
		b, err := LoadBasis(path, w)
		if err != nil {
			t.Fatal(err)
		}
		if b.DType != dt {
			t.Fatalf("%s loaded as %s, want %s", path, b.DType, dt)
		}
		return b
	}
	ref := load(f32, safetensors.F32)
	run := func(b *Basis) (upd, grad []float32) {
		mm := tinyModel(t, 2, 3)
		r, err := New(mm, b, Options{Ensemble: 4, Seed: 2, InitStd: 1})
		if err != nil {
			t.Fatal(err)
		}
		r.Materialize(mm)
		upd = append(r.Update(0, nil), r.Update(1, nil)...)
		lossAndGrad(t, mm, mm.NewWorkspace(3, 6, 0), tinyBatch(2))
		r.ProjectGrad(mm)
		return upd, append([]float32(nil), r.ZGrad...)
	}
	u0, g0 := run(ref)
	for _, tc := range []struct {
		name string
		b    *Basis
	}{
		{"bf16 file as bf16", load(bf, safetensors.BF16)},
		{"f32 file as bf16", load(f32, safetensors.BF16)},
		{"bf16 file as f32", load(bf, safetensors.F32)},
	} {
		u, g := run(tc.b)
		for _, p := range []struct {
			what      string
			got, want []float32
		}{{"update", u, u0}, {"gradient", g, g0}} {
			var e, n float64
			for i := range p.got {
				e += (float64(p.got[i]) - float64(p.want[i])) * (float64(p.got[i]) - float64(p.want[i]))
				n += float64(p.want[i]) * float64(p.want[i])
			}
			// Zero would mean the bfloat16 path was not taken.
			rel := math.Sqrt(e / n)
			if rel > 1.0/256 || rel == 0 {
				t.Errorf("%s: %s differs from float32 by %.2g (relative)", tc.name, p.what, rel)
			}
			t.Logf("%s: %s relative difference %.2g", tc.name, p.what, rel)
		}
	}
}

// trajectoryAround is a random trajectory of t checkpoints around m's
// encoder.
func trajectoryAround(t *testing.T, m *model.Model, n int) *memTrajectory {
	c := m.Config
	theta0 := modelTheta0(m)
	// Each checkpoint a step further from θ0.
	delta := randomDeltas(rand.New(rand.NewPCG(6, 6)), n, c.NumHiddenLayers, c.LayerSize(), 0.01)
	for k := range delta {
		for _, layer := range delta[k] {
			for j := range layer {
				layer[j] *= float32(k + 1)
			}
		}
	}
	return newMemTrajectory(theta0, delta, c.LayerLayout())
}

// TestLoadBasisRejectsMismatch: a basis for another model, another
// architecture or another depth is refused, naming the file.
func TestLoadBasisRejectsMismatch(t *testing.T) {
	m := tinyModel(t, 2, 4)
	c := m.Config
	tr := trajectoryAround(t, m, 3)
	path := filepath.Join(t.TempDir(), "basis.safetensors")
	if _, err := Extract(tr.all(), path, ExtractOptions{}); err != nil {
		t.Fatal(err)
	}
	other := tinyModel(t, 2, 5)
	b, err := LoadBasis(path, Expect{})
	if err != nil {
		t.Fatal(err)
	}
	coords := filepath.Join(t.TempDir(), "coords.safetensors")
	r, err := New(m, b, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.SaveCoordinates(coords); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		path string
		want Expect
		msg  string
	}{
		{"other θ0", path, Expect{NumLayers: 2, LayerSize: c.LayerSize(), Theta0Hash: trajectory.HashLayers(other)}, "θ0"},
		{"other depth", path, Expect{NumLayers: 3, LayerSize: c.LayerSize()}, "2 encoder layers, the model 3"},
		{"other width", path, Expect{NumLayers: 2, LayerSize: c.LayerSize() + 1}, "parameters per layer"},
		{"other layout", path, Expect{LayerTensors: c.LayerLayout()[:3]}, "layout"},
		{"not a basis", coords, Expect{}, "not a subspace file"},
	} {
		_, err := LoadBasis(tc.path, tc.want)
		if err == nil || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), tc.path) {
			t.Errorf("%s: error %v, want one naming %s and saying %q", tc.name, err, tc.path, tc.msg)
		}
	}
	if _, err := LoadBasis(path, ExpectFor(m, safetensors.BF16)); err != nil {
		t.Errorf("ExpectFor the model the basis was extracted from: %v", err)
	}
	if _, err := LoadBasis(path, ExpectFor(other, "")); err == nil {
		t.Error("ExpectFor another model accepted the basis")
	}
	// New checks the model itself, too.
	if _, err := New(other, b, DefaultOptions()); err == nil || !strings.Contains(err.Error(), "θ0") {
		t.Errorf("New on another model: %v", err)
	}
	deeper := tinyModel(t, 3, 4)
	if _, err := New(deeper, b, DefaultOptions()); err == nil || !strings.Contains(err.Error(), "layers") {
		t.Errorf("New on a deeper model: %v", err)
	}
}

// TestSaveLoad: coordinates round-trip, and are refused by a run over
// another basis or another ensemble size.
func TestSaveLoad(t *testing.T) {
	m := tinyModel(t, 2, 6)
	c := m.Config
	b, _ := NewRandomBasis(KindSAID, 2, c.LayerSize(), 4, 1, "")
	r, err := New(m, b, Options{Ensemble: 3, Seed: 1, InitStd: 1})
	if err != nil {
		t.Fatal(err)
	}
	r.Lambda[1] = 2.5
	path := filepath.Join(t.TempDir(), "z.safetensors")
	if err := r.SaveCoordinates(path); err != nil {
		t.Fatal(err)
	}
	r2, _ := New(m, b, Options{Ensemble: 3, Seed: 99, InitStd: 1})
	if err := r2.LoadCoordinates(path); err != nil {
		t.Fatal(err)
	}
	if maxAbsDiff(r.Z, r2.Z) != 0 || maxAbsDiff(r.Lambda, r2.Lambda) != 0 {
		t.Fatal("coordinates changed in the round trip")
	}
	b3, _ := NewRandomBasis(KindSAID, 2, c.LayerSize(), 4, 2, "")
	r3, _ := New(m, b3, Options{Ensemble: 3, Seed: 1, InitStd: 1})
	if err := r3.LoadCoordinates(path); err == nil || !strings.Contains(err.Error(), "belong to basis") {
		t.Errorf("loading into another basis: %v", err)
	}
	r4, _ := New(m, b, Options{Ensemble: 2, Seed: 1, InitStd: 1})
	if err := r4.LoadCoordinates(path); err == nil || !strings.Contains(err.Error(), "copies") {
		t.Errorf("loading into another ensemble size: %v", err)
	}
}

// TestNoAllocationPerStep: Materialize and ProjectGrad allocate nothing
// but the closures and goroutines of the parallel loops.
func TestNoAllocationPerStep(t *testing.T) {
	m := tinyModel(t, 2, 7)
	c := m.Config
	for _, kind := range []string{KindDense, KindFastfood} {
		b, _ := NewRandomBasis(kind, 2, c.LayerSize(), 4, 1, safetensors.BF16)
		r, _ := New(m, b, DefaultOptions())
		r.Materialize(m)
		r.ProjectGrad(m)
		n := testing.AllocsPerRun(5, func() {
			r.Materialize(m)
			r.ProjectGrad(m)
		})
		if n > 40 {
			t.Errorf("%s: %v allocations per step", kind, n)
		}
	}
}

// TestHookInTrainer: through the trainer's loop, only z and the head move
// in the subspace run, the encoder is always θ0 + Vᵀz̄, and the Freeze
// baseline leaves the encoder at θ0.
func TestHookInTrainer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		freeze bool
	}{{"subspace", false}, {"freeze", true}} {
		t.Run(tc.name, func(t *testing.T) {
			m := tinyModel(t, 2, 8)
			c := m.Config
			theta0 := append([]float32(nil), m.Data...)
			var h trainer.ParamHook
			var r *Reparam
			if tc.freeze {
				h = Freeze{Embeddings: true}
			} else {
				b, _ := NewRandomBasis(KindDense, 2, c.LayerSize(), 4, 1, safetensors.F32)
				var err error
				if r, err = New(m, b, DefaultOptions()); err != nil {
					t.Fatal(err)
				}
				h = r
			}
			ws := m.NewWorkspace(3, 6, 0)
			loop := trainloop.New(m, ws, trainloop.Config{LearningRate: 1e-3, MaxGradNorm: 1, TotalSteps: 10, Hook: h})
			h.BeforeForward()
			for step := 0; step < 4; step++ {
				if _, err := loop.TrainStep([]*model.Batch{tinyBatch(uint64(step))}, []uint64{1}); err != nil {
					t.Fatal(err)
				}
			}
			enc := m.LayerOffset(0)
			encEnd := enc + c.NumHiddenLayers*c.LayerSize()
			head, _ := m.TensorInfo("classifier.weight")
			if maxAbsDiff(m.Data[head.Offset:head.Offset+head.Size], theta0[head.Offset:head.Offset+head.Size]) == 0 {
				t.Error("the head did not train")
			}
			emb, _ := m.TensorInfo("bert.embeddings.word_embeddings.weight")
			embMoved := maxAbsDiff(m.Data[emb.Offset:emb.Offset+emb.Size], theta0[emb.Offset:emb.Offset+emb.Size]) != 0
			if embMoved == tc.freeze {
				t.Errorf("embeddings moved: %v, want %v", embMoved, !tc.freeze)
			}
			if tc.freeze {
				if maxAbsDiff(m.Data[enc:encEnd], theta0[enc:encEnd]) != 0 {
					t.Error("Freeze moved the encoder")
				}
				return
			}
			want := make([]float32, encEnd-enc)
			r.basis.Expand(want, theta0[enc:encEnd], zbars(r))
			if d := maxAbsDiff(m.Data[enc:encEnd], want); d != 0 {
				t.Errorf("the encoder is not θ0 + Vᵀz̄ (off by %v)", d)
			}
			if maxAbsDiff(m.Data[enc:encEnd], theta0[enc:encEnd]) == 0 {
				t.Error("the encoder did not move")
			}
			if !strings.Contains(h.Describe(), "2 layers × d=4 × h=16 copies = 128 subspace coordinates") {
				t.Errorf("Describe: %s", h.Describe())
			}
			dir := t.TempDir()
			if err := h.Save(dir); err != nil {
				t.Fatal(err)
			}
			z := append([]float32(nil), r.Z...)
			r.Reset()
			if err := h.Load(dir); err != nil || maxAbsDiff(z, r.Z) != 0 {
				t.Errorf("Save/Load through the hook: %v", err)
			}
		})
	}
}

// zbars returns z̄ per block.
func zbars(r *Reparam) [][]float32 {
	r.meanCopies(true)
	var out [][]float32
	for bi := range r.basis.blocks {
		out = append(out, append([]float32(nil), r.block(bi)...))
	}
	return out
}

// TestExpandProjectAdjoint: for every kind and scope of basis, Project is
// the transpose of Expand (⟨Vᵀx, g⟩ = ⟨x, Vg⟩ over all blocks), and the
// trained-parameter count is h·Σd (+ one λ per layer for SAID).
func TestExpandProjectAdjoint(t *testing.T) {
	m := tinyModel(t, 2, 9)
	c := m.Config
	L, D := c.NumHiddenLayers, c.LayerSize()
	dense, _ := NewRandomBasis(KindDense, L, D, 5, 1, safetensors.BF16)
	ff, _ := NewRandomBasis(KindSAID, L, D, 5, 1, "")
	for _, tc := range []struct {
		name  string
		b     *Basis
		coord int // Σ dims
	}{
		{"dense-bf16", dense, 10},
		{"said", ff, 10},
		{"intrinsic-layer", extractedBasis(t, m, ScopeLayer), 8},
		{"intrinsic-matrix", extractedBasis(t, m, ScopeMatrix), 2 * 16 * 4},
		{"intrinsic-global", extractedBasis(t, m, ScopeGlobal), 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.b
			if b.NumCoords() != tc.coord {
				t.Fatalf("%d coordinates, want %d", b.NumCoords(), tc.coord)
			}
			rng := rand.New(rand.NewPCG(3, 3))
			var x, vg [][]float32
			for _, bl := range b.Blocks() {
				xi := make([]float32, bl.Dim)
				for i := range xi {
					xi[i] = float32(rng.NormFloat64())
				}
				x = append(x, xi)
				vg = append(vg, make([]float32, bl.Dim))
			}
			g := make([]float32, L*D)
			for i := range g {
				g[i] = float32(rng.NormFloat64())
			}
			vx := make([]float32, L*D)
			b.Expand(vx, nil, x)
			b.Project(vg, g)
			var lhs, rhs, scale float64
			for i := range g {
				lhs += float64(vx[i]) * float64(g[i])
				scale += math.Abs(float64(vx[i]) * float64(g[i]))
			}
			for bi := range x {
				for i := range x[bi] {
					rhs += float64(x[bi][i]) * float64(vg[bi][i])
				}
			}
			if math.Abs(lhs-rhs) > 1e-5*scale {
				t.Errorf("⟨Vᵀx, g⟩ = %v, ⟨x, Vg⟩ = %v", lhs, rhs)
			}
			r, err := New(m, b, Options{Ensemble: 3, InitStd: 1})
			if err != nil {
				t.Fatal(err)
			}
			want := 3 * tc.coord
			if b.Kind == KindSAID {
				want += L
			}
			if r.NumTrainable() != want || len(r.Groups()) != 1+len(r.Lambda)/L {
				t.Errorf("%d trainable in %d groups, want %d", r.NumTrainable(), len(r.Groups()), want)
			}
			if r.Basis() != b || r.Options().Ensemble != 3 {
				t.Error("accessors")
			}
		})
	}
}
