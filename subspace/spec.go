package subspace

import (
	"fmt"

	"github.com/subtune/subtune/internal/argcheck"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/safetensors"
)

// Spec is a choice of how a fine-tuning run trains the encoder, as the
// command line states it: in an extracted subspace (BasisFile), in a random
// one (Random with Dim), frozen, or — the zero Spec — not re-parameterised.
type Spec struct {
	BasisFile        string            // intrinsic subspace from `subtune extract`
	BasisDType       safetensors.DType // in-memory storage of that basis ("" keeps the file's; BF16 halves it)
	Random           string            // KindDense, KindFastfood or KindSAID
	Dim              int               // random subspace dimension per layer
	Dims             []int             // or one per layer (overrides Dim)
	RandomDType      safetensors.DType // storage of a dense random basis
	FreezeEncoder    bool              // the paper's Freeze baseline
	FreezeEmbeddings bool              // also keep the embeddings fixed
	Ensemble         int               // copies h of z, ≥ 1
	LearningRate     float64           // of z and λ
	InitStd          *float64          // std of each copy's N(0, σ²) start (nil: DefaultOptions' 1)
	Seed             uint64            // of the copies' initial values and of a random basis
}

// DefaultLearningRate is the learning rate of z when none is given: the
// paper's.
const DefaultLearningRate = 0.01

// DefaultSpec is the zero choice (no re-parameterisation) with the
// defaults of the numbers a choice needs: h = 16 copies of z learning at
// DefaultLearningRate.
func DefaultSpec() Spec {
	return Spec{Ensemble: DefaultOptions().Ensemble, LearningRate: DefaultLearningRate}
}

// Active reports whether the Spec re-parameterises anything.
func (s Spec) Active() bool {
	return s.BasisFile != "" || s.Random != "" || s.FreezeEncoder || s.FreezeEmbeddings
}

// Validate rejects contradictory choices and numbers out of range, naming
// them by their flags. The numbers are checked even when the choice does
// not use them: a bad value is a mistake either way.
func (s Spec) Validate() error {
	var e argcheck.Errors
	e.Int("--ensemble", s.Ensemble, argcheck.Positive)
	e.Float("--subspace_learning_rate", s.LearningRate, argcheck.LearningRate)
	if s.InitStd != nil {
		e.Float("--subspace_init_std", *s.InitStd, argcheck.NonNegative.With("0: z starts at zero"))
	}
	e.Int("--subspace_dim", s.Dim, argcheck.NonNegative)
	if err := s.validateChoice(); err != nil {
		e.Add(err)
	}
	return e.Err()
}

func (s Spec) validateChoice() error {
	n := 0
	for _, on := range []bool{s.BasisFile != "", s.Random != "", s.FreezeEncoder} {
		if on {
			n++
		}
	}
	if n > 1 {
		return fmt.Errorf("choose one of --subspace, --random_subspace and --freeze_encoder")
	}
	switch s.Random {
	case "", KindDense, KindFastfood, KindSAID:
	default:
		return fmt.Errorf("random subspace %q: want dense, fastfood or said", s.Random)
	}
	for l, d := range s.Dims {
		if d <= 0 {
			return fmt.Errorf("random subspace dimension %d of layer %d: want ≥ 1", d, l)
		}
	}
	if s.Random != "" && s.Dim <= 0 && len(s.Dims) == 0 {
		return fmt.Errorf("a random subspace needs its dimension (--subspace_dim)")
	}
	return nil
}

// InSubspace reports whether s trains the encoder in a subspace (an
// extracted or a random one) rather than leaving it as it is.
func (s Spec) InSubspace() bool { return s.BasisFile != "" || s.Random != "" }

// NewFreeze returns the Freeze baseline's hook, which is what an Active
// Spec that is not InSubspace trains, with the number of numbers it
// trains.
func (s Spec) NewFreeze(m *model.Model) (Freeze, int, error) {
	if err := s.Validate(); err != nil {
		return Freeze{}, 0, err
	}
	f := Freeze{Embeddings: s.FreezeEmbeddings}
	return f, s.countFullSpace(m), nil
}

// NewReparam re-parameterises m's encoder in the subspace s chooses (s must
// be InSubspace) and returns it with the number of numbers the run trains
// (full-space tensors plus z and λ).
func (s Spec) NewReparam(m *model.Model) (*Reparam, int, error) {
	if err := s.Validate(); err != nil {
		return nil, 0, err
	}
	if !s.InSubspace() {
		return nil, 0, fmt.Errorf("subspace: no subspace chosen (--subspace or --random_subspace)")
	}
	var b *Basis
	var err error
	if s.BasisFile != "" {
		b, err = LoadBasis(s.BasisFile, ExpectFor(m, s.BasisDType))
	} else {
		b, err = s.randomBasis(m.Config)
	}
	if err != nil {
		return nil, 0, err
	}
	opts := DefaultOptions()
	opts.Ensemble = s.Ensemble
	opts.Seed = s.Seed
	if s.InitStd != nil {
		opts.InitStd = *s.InitStd
	}
	opts.LearningRate, opts.FreezeEmbeddings = s.LearningRate, s.FreezeEmbeddings
	r, err := New(m, b, opts)
	if err != nil {
		return nil, 0, err
	}
	return r, s.countFullSpace(m) + r.NumTrainable(), nil
}

// randomBasis is the random basis s names for a model of c.
func (s Spec) randomBasis(c model.Config) (*Basis, error) {
	if len(s.Dims) == 0 {
		return NewRandomBasis(s.Random, c.NumHiddenLayers, c.LayerSize(), s.Dim, s.Seed, s.RandomDType)
	}
	if len(s.Dims) != c.NumHiddenLayers {
		return nil, fmt.Errorf("subspace: %d random subspace dimensions for %d layers", len(s.Dims), c.NumHiddenLayers)
	}
	return NewRandomBasisDims(s.Random, c.LayerSize(), s.Dims, s.Seed, s.RandomDType)
}

// countFullSpace counts the numbers of m trained in full space under s.
func (s Spec) countFullSpace(m *model.Model) int {
	n := 0
	for _, t := range m.Tensors {
		if trainedInFullSpace(t, s.FreezeEmbeddings) {
			n += t.Size
		}
	}
	return n
}
