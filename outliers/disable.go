package outliers

import (
	"fmt"

	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/optim"
	"github.com/subtune/subtune/trajectory"
)

// DisableMask is the ablation of the paper's Table 3 as a
// trainer.ParamHook: full fine-tuning with a set of encoder positions
// held at zero. The trainer's first BeforeForward, before any step (and
// after a resume has restored the weights), zeroes them; their gradient is
// zeroed before clipping and the optimiser step, so AdamW (whose moments
// then stay zero, and whose decoupled decay keeps a zero at zero) never
// moves them and they do not count in the gradient norm; and every later
// BeforeForward zeroes them again. θ0 as the run records it (its hash, the
// trajectory's first point) is the base model before the zeroing.
//
// It lives here, beside the positions it zeroes, so that `subtune finetune
// --disable_dims` and `subtune reproduce --analyses outliers` share it.
type DisableMask struct {
	m    *model.Model
	pos  []int // offsets into m.Data, ascending
	what string
	L, D int
}

// DisableOutliers holds the outliers of f at zero in m, once it has checked
// that f was found on m's encoder: the same shape and, when f records it,
// the same θ0.
func DisableOutliers(m *model.Model, f *File) (*DisableMask, error) {
	c := m.Config
	L, D := c.NumHiddenLayers, c.LayerSize()
	if f.NumLayers != L || f.LayerSize != D || f.HiddenSize != c.HiddenSize {
		return nil, fmt.Errorf("%s is for %d layers of %d parameters (hidden size %d), the model has %d of %d (%d)",
			f.Path(), f.NumLayers, f.LayerSize, f.HiddenSize, L, D, c.HiddenSize)
	}
	if want := f.Source.Theta0SHA256; want != "" {
		if got := trajectory.HashLayers(m); got != want {
			return nil, fmt.Errorf("%s was found on base model %s (θ0 %.12s…), but this model's encoder hashes to %.12s…: the outliers belong to another model",
				f.Path(), f.Source.Model, want, got)
		}
	}
	p, err := f.Positions()
	if err != nil {
		return nil, err
	}
	return NewDisableMask(m, p, fmt.Sprintf("the %gσ outliers of %s", f.Sigma, f.Path()))
}

// DisableRandom holds n positions of m's encoder drawn with seed at zero:
// the control of the ablation (RandomPositions).
func DisableRandom(m *model.Model, n int, seed uint64) (*DisableMask, error) {
	p, err := RandomPositions(n, m.Config.NumHiddenLayers, m.Config.LayerSize(), seed)
	if err != nil {
		return nil, err
	}
	return NewDisableMask(m, p, fmt.Sprintf("random positions, seed %d", seed))
}

// NewDisableMask holds the positions p of m's encoder at zero; what says
// where they come from, for the log.
func NewDisableMask(m *model.Model, p Positions, what string) (*DisableMask, error) {
	c := m.Config
	L, D := c.NumHiddenLayers, c.LayerSize()
	if p.NumLayers != L || p.LayerSize != D {
		return nil, fmt.Errorf("outliers: positions in %d layers of %d parameters, the model has %d of %d", p.NumLayers, p.LayerSize, L, D)
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("outliers: %w", err)
	}
	h := &DisableMask{m: m, what: what, L: L, D: D}
	for l, idx := range p.Layers {
		off := m.LayerOffset(l)
		for _, i := range idx {
			h.pos = append(h.pos, off+i)
		}
	}
	return h, nil
}

// Count is the number of disabled positions.
func (h *DisableMask) Count() int { return len(h.pos) }

// Offsets are the disabled positions as offsets into the model's Data,
// ascending.
func (h *DisableMask) Offsets() []int { return h.pos }

// What says where the positions come from.
func (h *DisableMask) What() string { return h.what }

// Trainable keeps every tensor in full-space training.
func (h *DisableMask) Trainable(model.Tensor) bool { return true }

// Groups: the hook trains nothing of its own.
func (h *DisableMask) Groups() []optim.Group { return nil }

// BeforeForward zeroes the disabled positions.
func (h *DisableMask) BeforeForward() {
	for _, i := range h.pos {
		h.m.Data[i] = 0
	}
	h.m.ParamsChanged()
}

// AfterBackward zeroes their gradient.
func (h *DisableMask) AfterBackward() {
	for _, i := range h.pos {
		h.m.Grad[i] = 0
	}
}

// Save: the positions follow from the options; the weights hold the zeros.
func (h *DisableMask) Save(string) error { return nil }

// Load: nothing beyond the checkpoint's weights.
func (h *DisableMask) Load(string) error { return nil }

// Describe says what is disabled, for the log.
func (h *DisableMask) Describe() string {
	return fmt.Sprintf("disable_dims: %d of %d encoder parameters (%.4f%%) held at zero — %s; full fine-tuning of everything else",
		len(h.pos), h.L*h.D, 100*float64(len(h.pos))/float64(h.L*h.D), h.what)
}
