package subspace

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/optim"
)

// CoordinatesFile is the name Hook.Save gives the learned coordinates
// inside a run's output directory (and inside each resumable checkpoint).
const CoordinatesFile = "subspace_coordinates.safetensors"

// Hook adapts a Reparam to the trainer's re-parameterisation interface
// (trainer.ParamHook): the encoder is fixed at θ0 + Vᵀz̄ and only z (and λ)
// are trained in it, while the embeddings and the task head stay trained in
// full space at the run's learning rate, as in the paper. With a nil
// Reparam it is the paper's Freeze baseline: the encoder stays at θ0.
type Hook struct {
	r                *Reparam
	m                *model.Model
	lr               float64
	freezeEmbeddings bool
}

// Hook returns the trainer adapter for r on model m, with the subspace
// coordinates at learning rate lr (the paper: 0.01). freezeEmbeddings also
// keeps the embeddings at their initial values (the strict variant, where
// only z and the head are trained).
func (r *Reparam) Hook(m *model.Model, lr float64, freezeEmbeddings bool) *Hook {
	return &Hook{r: r, m: m, lr: lr, freezeEmbeddings: freezeEmbeddings}
}

// FreezeHook is the Freeze baseline: nothing of the encoder is trained.
func FreezeHook(freezeEmbeddings bool) *Hook { return &Hook{freezeEmbeddings: freezeEmbeddings} }

// IsEncoderTensor reports whether a model tensor belongs to an encoder layer.
func IsEncoderTensor(name string) bool { return strings.Contains(name, ".encoder.layer.") }

// Trainable keeps the encoder out of the full-space optimiser.
func (h *Hook) Trainable(t model.Tensor) bool {
	if IsEncoderTensor(t.Name) {
		return false
	}
	if isEmbeddingTensor(t.Name) {
		return !h.freezeEmbeddings
	}
	return true
}

// Groups are z (and λ).
func (h *Hook) Groups() []optim.Group {
	if h.r == nil {
		return nil
	}
	return h.r.Groups(h.lr)
}

// BeforeForward materialises θ from z.
func (h *Hook) BeforeForward() {
	if h.r != nil {
		h.r.Materialize(h.m)
	}
}

// AfterBackward projects ∇θ onto the coordinates.
func (h *Hook) AfterBackward() {
	if h.r != nil {
		h.r.ProjectGrad(h.m)
	}
}

// Save writes the coordinates to dir/CoordinatesFile.
func (h *Hook) Save(dir string) error {
	if h.r == nil {
		return nil
	}
	return h.r.Save(filepath.Join(dir, CoordinatesFile))
}

// Load reads them back from dir/CoordinatesFile.
func (h *Hook) Load(dir string) error {
	if h.r == nil {
		return nil
	}
	return h.r.Load(filepath.Join(dir, CoordinatesFile))
}

// Describe says what is trained, for the log.
func (h *Hook) Describe() string {
	emb := "embeddings and head"
	if h.freezeEmbeddings {
		emb = "head only"
	}
	if h.r == nil {
		return "freeze: encoder fixed at θ0; full-space training of the " + emb
	}
	b := h.r.basis
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
		b.Kind, b.Scope, shape, h.r.opts.Ensemble, len(h.r.Z))
	if h.r.Lambda != nil {
		s += fmt.Sprintf(" + %d SAID scales", len(h.r.Lambda))
	}
	return s + fmt.Sprintf(" at lr %g; encoder = θ0 + Vᵀz̄ (%s); full-space training of the %s", h.lr, b.Source, emb)
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

// Reparam is the re-parameterisation h trains, nil for the Freeze baseline.
func (h *Hook) Reparam() *Reparam { return h.r }
