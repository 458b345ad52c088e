package subspace

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/optim"
	"github.com/subtune/subtune/safetensors"
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
}

// DefaultOptions are the paper's settings: h = 16, N(0, 1) copies.
func DefaultOptions() Options { return Options{Ensemble: 16, Seed: 42, InitStd: 1} }

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
// optimiser over Groups. Neither allocates beyond a few closures.
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
	r := &Reparam{basis: b, opts: o, encOff: m.LayerOffset(0), encSize: L * D}
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

// Groups returns the trained numbers as AdamW groups at learning rate lr
// (the paper: 0.01) without weight decay.
func (r *Reparam) Groups(lr float64) []optim.Group {
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

// Coordinate files: what Save writes.
const (
	coordFormat  = "subtune-subspace-coordinates"
	zSuffix      = ".z"
	lambdaSuffix = ".lambda"
)

// Save writes the copies (and λ) to path as safetensors, one [h, d] tensor
// "<block>.z" per block (and "<block>.lambda", [1]), with the basis's
// identity in the metadata so Load and later analyses can rebuild Vᵀz̄.
func (r *Reparam) Save(path string) error {
	b := r.basis
	h := r.opts.Ensemble
	ts := map[string]safetensors.Tensor{}
	for bi, bl := range b.blocks {
		ts[bl.name+zSuffix] = safetensors.Tensor{DType: safetensors.F32, Shape: []int{h, bl.dim},
			F32: r.Z[r.zOff[bi] : r.zOff[bi]+h*bl.dim]}
		if r.Lambda != nil {
			ts[bl.name+lambdaSuffix] = safetensors.Tensor{DType: safetensors.F32, Shape: []int{1}, F32: r.Lambda[bi : bi+1]}
		}
	}
	dims := make([]int, len(b.blocks))
	for i, bl := range b.blocks {
		dims[i] = bl.dim
	}
	dj, _ := json.Marshal(dims)
	meta := map[string]string{
		metaFormat: coordFormat, metaVersion: strconv.Itoa(formatVersion),
		metaKind: b.Kind, metaScope: b.Scope, "basis": b.Source, "basis_id": b.ID(),
		"basis_seed": strconv.FormatUint(b.Seed, 10), metaTheta0: b.Theta0Hash,
		"ensemble": strconv.Itoa(h), "init_std": strconv.FormatFloat(r.opts.InitStd, 'g', -1, 64),
		"seed": strconv.FormatUint(r.opts.Seed, 10), "dims": string(dj),
		metaNumLayers: strconv.Itoa(b.NumLayers), metaLayerSize: strconv.Itoa(b.LayerSize),
	}
	if err := safetensors.Write(path, ts, meta); err != nil {
		return fmt.Errorf("subspace: %w", err)
	}
	return nil
}

// Load restores what Save wrote. The file must come from a Reparam over
// the same basis with the same ensemble size.
func (r *Reparam) Load(path string) error {
	f, err := safetensors.Open(path)
	if err != nil {
		return fmt.Errorf("subspace: %w", err)
	}
	defer f.Close()
	return r.load(path, f)
}

// load restores the coordinates in f; path names it. On error r's
// coordinates may be partly overwritten.
func (r *Reparam) load(path string, f *safetensors.File) error {
	meta := f.Metadata()
	fail := func(format string, args ...any) error {
		return fmt.Errorf("subspace: %s: %s", path, fmt.Sprintf(format, args...))
	}
	if meta[metaFormat] != coordFormat {
		return fail("not a subspace coordinates file (format %q)", meta[metaFormat])
	}
	b := r.basis
	if meta["basis_id"] != b.ID() {
		return fail("the coordinates belong to basis %s (%s), this run uses %s (%s)", meta["basis"], meta["basis_id"], b.Source, b.ID())
	}
	h := r.opts.Ensemble
	if meta["ensemble"] != strconv.Itoa(h) {
		return fail("the coordinates have %s copies per coordinate, this run %d (--ensemble)", meta["ensemble"], h)
	}
	for bi, bl := range b.blocks {
		if err := f.ReadFloat32Into(bl.name+zSuffix, r.Z[r.zOff[bi]:r.zOff[bi]+h*bl.dim]); err != nil {
			return fmt.Errorf("subspace: %w", err)
		}
		if r.Lambda != nil {
			if err := f.ReadFloat32Into(bl.name+lambdaSuffix, r.Lambda[bi:bi+1]); err != nil {
				return fmt.Errorf("subspace: %w", err)
			}
		}
	}
	// A NaN would train on silently and spread to every weight.
	if i := firstNonFinite(r.Z); i >= 0 {
		return fail("coordinate %d is not a finite number", i)
	}
	if i := firstNonFinite(r.Lambda); i >= 0 {
		return fail("λ of block %d is not a finite number", i)
	}
	return nil
}
