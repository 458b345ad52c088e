package subspace

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/trajectory"
)

// memTrajectory is a trajectory held in memory: θ0 and the deltas θk − θ0,
// per layer, in float32.
type memTrajectory struct {
	theta0  [][]float32   // [layer][D]
	delta   [][][]float32 // [k][layer][D]
	tensors model.LayerLayout
	stored  bool // serve deltas through DeltaReader
	hash    string
	name    string // Source(); "memory" if empty
}

func newMemTrajectory(theta0 [][]float32, delta [][][]float32, tensors model.LayerLayout) *memTrajectory {
	tr := &memTrajectory{theta0: theta0, delta: delta, tensors: tensors, stored: true}
	if tr.tensors == nil {
		tr.tensors = model.LayerLayout{{Name: "all", Shape: []int{len(theta0[0])}, Size: len(theta0[0])}}
	}
	h := trajectory.NewLayerHasher()
	for _, l := range theta0 {
		h.Add(l)
	}
	tr.hash = h.Sum()
	return tr
}

func (m *memTrajectory) NumCheckpoints() int             { return len(m.delta) }
func (m *memTrajectory) NumLayers() int                  { return len(m.theta0) }
func (m *memTrajectory) LayerSize() int                  { return len(m.theta0[0]) }
func (m *memTrajectory) LayerTensors() model.LayerLayout { return m.tensors }
func (m *memTrajectory) Theta0Hash() string              { return m.hash }
func (m *memTrajectory) Source() string {
	if m.name == "" {
		return "memory"
	}
	return m.name
}
func (m *memTrajectory) DeltasStored() bool { return m.stored }
func (m *memTrajectory) ReadTheta0(l int, dst []float32) error {
	copy(dst, m.theta0[l])
	return nil
}
func (m *memTrajectory) ReadLayer(k, l int, dst []float32) error {
	for j := range dst {
		dst[j] = m.theta0[l][j] + m.delta[k][l][j]
	}
	return nil
}
func (m *memTrajectory) ReadDelta(k, l int, dst []float32) error {
	copy(dst, m.delta[k][l])
	return nil
}

// rows returns the matrix W (t×n, float64) of a layer's column range that
// the given rows option stacks, formed explicitly: the reference the
// Gram-matrix route must agree with.
func (m *memTrajectory) rows(rows string, l, off, n int) *mat.Dense {
	t := len(m.delta)
	w := mat.NewDense(t, n, nil)
	for k := 0; k < t; k++ {
		for j := 0; j < n; j++ {
			v := float64(m.delta[k][l][off+j])
			if rows == RowsRaw {
				// What ReadLayer returns, θ0 + Δ in float32, which is what
				// raw rows are.
				v = float64(m.theta0[l][off+j] + m.delta[k][l][off+j])
			}
			w.Set(k, j, v)
		}
	}
	if rows == RowsCentered {
		for j := 0; j < n; j++ {
			var s float64
			for k := 0; k < t; k++ {
				s += w.At(k, j)
			}
			for k := 0; k < t; k++ {
				w.Set(k, j, w.At(k, j)-s/float64(t))
			}
		}
	}
	return w
}

// refSVD is gonum's SVD of w: singular values and right singular vectors
// as rows (r×n).
func refSVD(t testing.TB, w *mat.Dense) ([]float64, *mat.Dense) {
	var svd mat.SVD
	if !svd.Factorize(w, mat.SVDThin) {
		t.Fatal("reference SVD failed")
	}
	var v mat.Dense
	svd.VTo(&v)
	return svd.Values(nil), mat.DenseCopyOf(v.T())
}

// cosines returns the cosines of the principal angles between the row
// spaces of a and b (both with orthonormal rows), smallest last.
func cosines(t testing.TB, a, b *mat.Dense) []float64 {
	var p mat.Dense
	p.Mul(a, b.T())
	var svd mat.SVD
	if !svd.Factorize(&p, mat.SVDNone) {
		t.Fatal("SVD of the cross product failed")
	}
	return svd.Values(nil)
}

// orthonormalRows returns r random orthonormal rows of length n (float64).
func orthonormalRows(rng *rand.Rand, r, n int) *mat.Dense {
	g := mat.NewDense(n, r, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < r; j++ {
			g.Set(i, j, rng.NormFloat64())
		}
	}
	var qr mat.QR
	qr.Factorize(g)
	var q mat.Dense
	qr.QTo(&q)
	return mat.DenseCopyOf(q.Slice(0, n, 0, r).T())
}

// planted builds a trajectory whose deltas in every layer are U·diag(σ)·Q
// with U (t×k) and Q (k×D) random with orthonormal columns/rows: its delta
// rows have exactly the singular values σ and the row space of Q.
func planted(L, D, t int, sigma []float64, seed uint64) (*memTrajectory, []*mat.Dense) {
	rng := rand.New(rand.NewPCG(seed, 1))
	k := len(sigma)
	theta0 := make([][]float32, L)
	delta := make([][][]float32, t)
	for i := range delta {
		delta[i] = make([][]float32, L)
	}
	var qs []*mat.Dense
	for l := 0; l < L; l++ {
		theta0[l] = make([]float32, D)
		for j := range theta0[l] {
			theta0[l][j] = float32(0.05 * rng.NormFloat64())
		}
		u := orthonormalRows(rng, k, t) // k×t: row i is column i of U
		q := orthonormalRows(rng, k, D)
		qs = append(qs, q)
		for kk := 0; kk < t; kk++ {
			delta[kk][l] = make([]float32, D)
			for j := 0; j < D; j++ {
				var s float64
				for i := 0; i < k; i++ {
					s += u.At(i, kk) * sigma[i] * q.At(i, j)
				}
				delta[kk][l][j] = float32(s)
			}
		}
	}
	return newMemTrajectory(theta0, delta, nil), qs
}

// randomDeltas are t checkpoints of L layers of D numbers, each sigma
// times a standard normal drawn from rng (checkpoint, then layer, then
// position): the deltas of a random trajectory, or with t = 1 a random θ0.
func randomDeltas(rng *rand.Rand, t, L, D int, sigma float64) [][][]float32 {
	delta := make([][][]float32, t)
	for k := range delta {
		delta[k] = make([][]float32, L)
		for l := range delta[k] {
			delta[k][l] = make([]float32, D)
			for j := range delta[k][l] {
				delta[k][l][j] = float32(sigma * rng.NormFloat64())
			}
		}
	}
	return delta
}

// modelTheta0 copies m's encoder layers, the θ0 of a trajectory around m.
func modelTheta0(m *model.Model) [][]float32 {
	theta0 := make([][]float32, m.Config.NumHiddenLayers)
	for l := range theta0 {
		theta0[l] = append([]float32(nil), m.Layer(l)...)
	}
	return theta0
}

// rowsOf returns a loaded basis block's directions as a float64 matrix.
func rowsOf(b *Basis, bi int) *mat.Dense {
	bl := b.blocks[bi]
	n := 0
	for _, si := range bl.segs {
		n += b.segs[si].n
	}
	out := mat.NewDense(bl.dim, n, nil)
	col := 0
	for _, si := range bl.segs {
		s := b.segs[si]
		for i := 0; i < bl.dim; i++ {
			for j := 0; j < s.n; j++ {
				var v float32
				if s.b16 != nil {
					v = bf16(s.b16[i*s.n+j])
				} else {
					v = s.f32[i*s.n+j]
				}
				out.Set(i, col+j, float64(v))
			}
		}
		col += s.n
	}
	return out
}

// tinyConfig is a two-class BERT small enough for finite differences, with
// dropout off so that a gradient check sees one function; testmodel.Tiny
// (the real vocabulary, dropout on) is too large and noisy for that.
func tinyConfig(layers int) model.Config {
	c := model.DefaultConfig("bert")
	c.VocabSize, c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.IntermediateSize = 23, 8, layers, 2, 12
	c.MaxPositionEmbeddings = 16
	c.HiddenDropoutProb, c.AttentionDropoutProb = 0, 0
	c.ID2Label = map[int]string{0: "no", 1: "yes"}
	return c
}

// tinyModel is an initialised tinyConfig model with its weights perturbed so
// no gradient is trivially zero or symmetric.
func tinyModel(t testing.TB, layers int, seed uint64) *model.Model {
	m, err := model.New(tinyConfig(layers), model.SequenceClassification)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(seed)
	rng := rand.New(rand.NewPCG(seed, 3))
	for i := range m.Data {
		m.Data[i] += float32(0.1 * rng.NormFloat64())
	}
	return m
}

func tinyBatch(seed uint64) *model.Batch {
	rng := rand.New(rand.NewPCG(seed, 5))
	const B, T = 3, 6
	b := &model.Batch{B: B, T: T, InputIDs: make([]int32, B*T), AttentionMask: make([]int32, B*T)}
	for s := 0; s < B; s++ {
		for i := 0; i < T; i++ {
			if i < T-s {
				b.InputIDs[s*T+i] = int32(2 + rng.IntN(20))
				b.AttentionMask[s*T+i] = 1
			}
		}
		b.Labels = append(b.Labels, int32(rng.IntN(2)))
	}
	return b
}

// lossAndGrad runs forward and backward, leaving ∇ in m.Grad.
func lossAndGrad(t testing.TB, m *model.Model, ws *model.Workspace, b *model.Batch) float64 {
	m.ZeroGrad()
	loss, err := m.Forward(ws, b, model.Pass{})
	if err != nil {
		t.Fatal(err)
	}
	m.Backward(ws, b)
	return loss
}

// explicitBasis is a layer-scope basis with the given rows per layer
// (dim×D, row-major).
func explicitBasis(L, D, dim int, rows [][]float32) *Basis {
	b := &Basis{Kind: KindIntrinsic, Scope: ScopeLayer, NumLayers: L, LayerSize: D, Source: "test basis", DType: "F32", id: "test"}
	for l := 0; l < L; l++ {
		b.blocks = append(b.blocks, block{name: layerName(l), layer: l, dim: dim, segs: []int{l}})
		b.segs = append(b.segs, segment{block: l, off: l * D, n: D, f32: rows[l]})
	}
	return b
}

func maxAbsDiff(a, b []float32) float64 {
	var m float64
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

func norm(a []float32) float64 {
	var s float64
	for _, v := range a {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s)
}
