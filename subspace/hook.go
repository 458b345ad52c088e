package subspace

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/optim"
)

// CoordinatesFile is the name a Reparam's Save gives the learned
// coordinates inside a run's output directory (and inside each resumable
// checkpoint).
const CoordinatesFile = "subspace_coordinates.safetensors"

// IsEncoderTensor reports whether a model tensor belongs to an encoder layer.
func IsEncoderTensor(name string) bool { return strings.Contains(name, ".encoder.layer.") }

func isEmbeddingTensor(name string) bool { return strings.Contains(name, ".embeddings.") }

// trainedInFullSpace is what both the subspace run and the Freeze baseline
// leave to the full-space optimiser: everything but the encoder, less the
// embeddings when they are frozen too.
func trainedInFullSpace(t model.Tensor, freezeEmbeddings bool) bool {
	if IsEncoderTensor(t.Name) {
		return false
	}
	return !freezeEmbeddings || !isEmbeddingTensor(t.Name)
}

func fullSpaceWords(freezeEmbeddings bool) string {
	if freezeEmbeddings {
		return "head only"
	}
	return "embeddings and head"
}

// A Reparam is a trainer.ParamHook: the encoder is fixed at θ0 + Vᵀz̄ and
// only z (and λ) are trained in it, at the learning rate of its Options,
// while the embeddings and the task head stay trained in full space at the
// run's learning rate, as in the paper.

// Trainable keeps the encoder (and frozen embeddings) out of the
// full-space optimiser.
func (r *Reparam) Trainable(t model.Tensor) bool {
	return trainedInFullSpace(t, r.opts.FreezeEmbeddings)
}

// BeforeForward materialises θ from z in the model r was built on.
func (r *Reparam) BeforeForward() { r.Materialize(r.m) }

// AfterBackward projects that model's ∇θ onto the coordinates.
func (r *Reparam) AfterBackward() { r.ProjectGrad(r.m) }

// Save writes the coordinates to dir/CoordinatesFile.
func (r *Reparam) Save(dir string) error {
	return r.SaveCoordinates(filepath.Join(dir, CoordinatesFile))
}

// Load reads them back from dir/CoordinatesFile.
func (r *Reparam) Load(dir string) error {
	return r.LoadCoordinates(filepath.Join(dir, CoordinatesFile))
}

// Describe says what is trained, for the log.
func (r *Reparam) Describe() string {
	b := r.basis
	dims := map[int]int{}
	for _, bl := range b.blocks {
		dims[bl.dim]++
	}
	shape := fmt.Sprintf("%d blocks", len(b.blocks))
	if len(dims) == 1 {
		for d, n := range dims {
			shape = fmt.Sprintf("%d %s × d=%d", n, blockWord(b.Scope, n), d)
		}
	}
	s := fmt.Sprintf("subspace (%s, %s scope): %s × h=%d copies = %d subspace coordinates",
		b.Kind, b.Scope, shape, r.opts.Ensemble, len(r.Z))
	if r.Lambda != nil {
		s += fmt.Sprintf(" + %d SAID scales", len(r.Lambda))
	}
	return s + fmt.Sprintf(" at lr %g; encoder = θ0 + Vᵀz̄ (%s); full-space training of the %s",
		r.opts.LearningRate, b.Source, fullSpaceWords(r.opts.FreezeEmbeddings))
}

func blockWord(scope string, n int) string {
	w := map[string]string{ScopeLayer: "layer", ScopeMatrix: "tensor", ScopeGlobal: "encoder"}[scope]
	if w == "" {
		w = "block"
	}
	if n != 1 {
		w += "s"
	}
	return w
}

// Freeze is the paper's Freeze baseline as a trainer.ParamHook: the encoder
// stays at θ0 and only the embeddings (unless Embeddings is set) and the
// head are trained.
type Freeze struct {
	Embeddings bool // also keep the embeddings at their initial values
}

// Trainable keeps the encoder (and frozen embeddings) out of the optimiser.
func (f Freeze) Trainable(t model.Tensor) bool { return trainedInFullSpace(t, f.Embeddings) }

// Groups is empty: nothing is trained beyond the full-space tensors.
func (Freeze) Groups() []optim.Group { return nil }

// BeforeForward does nothing: the encoder's weights are θ0 throughout.
func (Freeze) BeforeForward() {}

// AfterBackward does nothing: the encoder's gradient is not used.
func (Freeze) AfterBackward() {}

// Save writes nothing: the model's weights are all the run learned.
func (Freeze) Save(string) error { return nil }

// Load reads nothing.
func (Freeze) Load(string) error { return nil }

// Describe says what is trained, for the log.
func (f Freeze) Describe() string {
	return "freeze: encoder fixed at θ0; full-space training of the " + fullSpaceWords(f.Embeddings)
}
