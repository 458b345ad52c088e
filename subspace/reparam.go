package subspace

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/optim"
	"github.com/subtune/subtune/trajectory"
)

// Options configure a Reparam.
type Options struct {
	// Ensemble is h, the number of coordinate copies averaged (paper Eq. 4;
	// 16 in the paper).
	Ensemble int
	// Seed draws the copies' initial values.
	Seed uint64
	// InitStd is the standard deviation of each copy's N(0, InitStd²)
	// initial coordinates. The paper says only that the copies have
	// "different initialization"; 1 is torch.randn's scale. 0 starts every
	// copy at zero (θ = θ0, Aghajanyan et al.'s convention), which makes
	// the copies identical.
	InitStd float64
	// LearningRate is that of z (and λ) in Groups (the paper: 0.01).
	LearningRate float64
	// FreezeEmbeddings keeps the embeddings at their initial values too
	// (the strict variant, where only z and the head are trained).
	FreezeEmbeddings bool
}

// DefaultOptions are the paper's settings: h = 16, N(0, 1) copies, z
// learning at DefaultLearningRate.
func DefaultOptions() Options {
	return Options{Ensemble: 16, Seed: 42, InitStd: 1, LearningRate: DefaultLearningRate}
}

// Reparam re-parameterises a model's encoder in a Basis (paper Eq. 4):
//
//	θ_b = θ0_b + V_bᵀ z̄_b,   z̄_b = (1/h) Σᵢ z_b,i
//
// for every block b of the basis (every layer, for the layer scope), with
// θ0 and V frozen and only the copies z_b,i trained (and, for SAID, one
// scale λ_b per layer: θ_b = θ0_b + λ_b V_bᵀ z̄_b).
//
// Each step the caller runs Materialize (z → θ into the model's weights),
// the forward and backward passes, then ProjectGrad (∇θ → ∇z), then the
// optimiser over Groups. Neither allocates beyond a few closures. As a
// trainer.ParamHook (hook.go) it does so on the model it was built on.
//
// Every copy receives the same gradient, (1/h)V∇θ, so from their different
// starting points the copies move in lockstep under AdamW without weight
// decay: the ensemble is one coordinate vector started at the mean of h
// draws (the variance of one divided by h) and trained with AdamW's ε
// multiplied by h (TestIdentityBasisEqualsFullTraining). It is implemented
// literally all the same, so that it stays the paper's method under any
// optimiser.
type Reparam struct {
	basis *Basis
	opts  Options
	m     *model.Model // the model it was built on

	// Z holds every block's copies, block after block, each block as h rows
	// of its dimension; ZGrad its gradient. Lambda and LambdaGrad hold the
	// SAID scales, one per block (nil otherwise).
	Z, ZGrad           []float32
	Lambda, LambdaGrad []float32

	zOff    []int     // start of block b in Z
	xOff    []int     // start of block b in zbar and gv
	zbar    []float32 // z̄ (times λ for SAID), per block
	gv      []float64 // V_b ∇θ_b, per block
	theta0  []float32 // the encoder at construction
	encOff  int       // where the encoder starts in model.Data
	encSize int

	basisSHA256 string // of an intrinsic basis's file, hashed at the first SaveCoordinates
}

// New re-parameterises m's encoder in b, taking m's current encoder
// weights as θ0. An intrinsic basis must have been extracted around those
// very weights (its θ0 hash is checked).
func New(m *model.Model, b *Basis, o Options) (*Reparam, error) {
	c := m.Config
	if b.NumLayers != c.NumHiddenLayers || b.LayerSize != c.LayerSize() {
		return nil, fmt.Errorf("subspace: %s is for %d layers of %d parameters, the model has %d of %d",
			b.Source, b.NumLayers, b.LayerSize, c.NumHiddenLayers, c.LayerSize())
	}
	if o.Ensemble < 1 {
		return nil, fmt.Errorf("subspace: ensemble %d: want at least 1 copy", o.Ensemble)
	}
	if o.InitStd < 0 || math.IsNaN(o.InitStd) {
		return nil, fmt.Errorf("subspace: initial standard deviation %v: want ≥ 0", o.InitStd)
	}
	if b.Theta0Hash != "" {
		if got := trajectory.HashLayers(m); got != b.Theta0Hash {
			return nil, fmt.Errorf("subspace: %s was extracted around θ0 %.12s…, but the model's encoder hashes to %.12s… (a different base model, or weights changed before the subspace was attached)",
				b.Source, b.Theta0Hash, got)
		}
	}
	L, D := c.NumHiddenLayers, c.LayerSize()
	r := &Reparam{basis: b, opts: o, m: m, encOff: m.LayerOffset(0), encSize: L * D}
	for l := 1; l < L; l++ {
		if m.LayerOffset(l) != r.encOff+l*D {
			return nil, fmt.Errorf("subspace: encoder layer %d is not contiguous with layer 0 in the model's buffer", l)
		}
	}
	r.theta0 = append([]float32(nil), m.Data[r.encOff:r.encOff+r.encSize]...)
	h := o.Ensemble
	nz, nx := 0, 0
	for _, bl := range b.blocks {
		r.zOff = append(r.zOff, nz)
		r.xOff = append(r.xOff, nx)
		nz += h * bl.dim
		nx += bl.dim
	}
	r.Z, r.ZGrad = make([]float32, nz), make([]float32, nz)
	r.zbar, r.gv = make([]float32, nx), make([]float64, nx)
	if b.Kind == KindSAID {
		r.Lambda, r.LambdaGrad = make([]float32, len(b.blocks)), make([]float32, len(b.blocks))
	}
	r.Reset()
	return r, nil
}

// Reset draws the copies' initial values again (and sets λ to 1).
func (r *Reparam) Reset() {
	h := r.opts.Ensemble
	for bi, bl := range r.basis.blocks {
		for i := 0; i < h; i++ {
			rng := rand.New(rand.NewPCG(r.opts.Seed, streamKey(tagInit, uint64(bi), uint64(i))))
			z := r.Z[r.zOff[bi]+i*bl.dim : r.zOff[bi]+(i+1)*bl.dim]
			for k := range z {
				z[k] = float32(r.opts.InitStd * rng.NormFloat64())
			}
		}
	}
	for i := range r.Lambda {
		r.Lambda[i] = 1
	}
}

// Basis is the basis the encoder lives in.
func (r *Reparam) Basis() *Basis { return r.basis }

// Options returns the options r was built with.
func (r *Reparam) Options() Options { return r.opts }

// NumTrainable counts the trained numbers: h copies of every coordinate,
// plus the SAID scales.
func (r *Reparam) NumTrainable() int { return len(r.Z) + len(r.Lambda) }

// meanCopies fills zbar with z̄_b for every block, times λ_b when scaled.
func (r *Reparam) meanCopies(scaled bool) {
	h := r.opts.Ensemble
	inv := 1 / float32(h)
	for bi, bl := range r.basis.blocks {
		x := r.zbar[r.xOff[bi] : r.xOff[bi]+bl.dim]
		z := r.Z[r.zOff[bi] : r.zOff[bi]+h*bl.dim]
		clear(x)
		for i := 0; i < h; i++ {
			for k, v := range z[i*bl.dim : (i+1)*bl.dim] {
				x[k] += v
			}
		}
		s := inv
		if scaled && r.Lambda != nil {
			s *= r.Lambda[bi]
		}
		for k := range x {
			x[k] *= s
		}
	}
}

func (r *Reparam) block(bi int) []float32 {
	return r.zbar[r.xOff[bi] : r.xOff[bi]+r.basis.blocks[bi].dim]
}

// Materialize writes θ = θ0 + Vᵀz̄ (λVᵀz̄ for SAID) into the encoder
// weights of m, in place: one parallel pass over each block's directions.
func (r *Reparam) Materialize(m *model.Model) {
	r.meanCopies(true)
	enc := m.Data[r.encOff : r.encOff+r.encSize]
	b := r.basis
	for i := range b.segs {
		s := &b.segs[i]
		b.expandSeg(s, enc[s.off:s.off+s.n], r.theta0[s.off:s.off+s.n], r.block(s.block))
	}
	m.ParamsChanged()
}

// ProjectGrad turns the encoder part of m.Grad (∂loss/∂θ, as Backward left
// it) into ZGrad: ∂loss/∂z_b,i = (1/h) V_b ∇θ_b for every copy i (times λ_b
// for SAID), and LambdaGrad: ∂loss/∂λ_b = ⟨V_bᵀ z̄_b, ∇θ_b⟩ = z̄_b · V_b∇θ_b,
// which needs no second pass over the directions.
func (r *Reparam) ProjectGrad(m *model.Model) {
	g := m.Grad[r.encOff : r.encOff+r.encSize]
	b := r.basis
	clear(r.gv)
	for i := range b.segs {
		s := &b.segs[i]
		bl := b.blocks[s.block]
		b.projectSeg(s, r.gv[r.xOff[s.block]:r.xOff[s.block]+bl.dim], g[s.off:s.off+s.n])
	}
	r.meanCopies(false)
	h := r.opts.Ensemble
	for bi, bl := range b.blocks {
		gv := r.gv[r.xOff[bi] : r.xOff[bi]+bl.dim]
		scale := 1 / float64(h)
		if r.Lambda != nil {
			var dot float64
			for k, v := range r.block(bi) {
				dot += float64(v) * gv[k]
			}
			r.LambdaGrad[bi] = float32(dot)
			scale *= float64(r.Lambda[bi])
		}
		zg := r.ZGrad[r.zOff[bi] : r.zOff[bi]+h*bl.dim]
		for i := 0; i < h; i++ {
			for k, v := range gv {
				zg[i*bl.dim+k] = float32(scale * v)
			}
		}
	}
}

// Groups returns the trained numbers as AdamW groups at the learning rate
// of r's Options, without weight decay.
func (r *Reparam) Groups() []optim.Group {
	lr := r.opts.LearningRate
	gs := []optim.Group{{Name: "subspace.z", Data: r.Z, Grad: r.ZGrad, LR: lr}}
	if r.Lambda != nil {
		gs = append(gs, optim.Group{Name: "subspace.lambda", Data: r.Lambda, Grad: r.LambdaGrad, LR: lr})
	}
	return gs
}

// Update returns layer l's learned update Δ = Vᵀz̄ (λVᵀz̄ for SAID), the
// vector the outlier analysis inspects, in dst (allocated when nil).
func (r *Reparam) Update(l int, dst []float32) []float32 {
	D := r.basis.LayerSize
	if dst == nil {
		dst = make([]float32, D)
	}
	r.meanCopies(true)
	b := r.basis
	for i := range b.segs {
		s := &b.segs[i]
		if s.off < l*D || s.off >= (l+1)*D {
			continue
		}
		o := s.off - l*D
		b.expandSeg(s, dst[o:o+s.n], nil, r.block(s.block))
	}
	return dst
}
