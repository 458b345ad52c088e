package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/subtune/subtune/analysis"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/optim"
	"github.com/subtune/subtune/trainer"
	"github.com/subtune/subtune/trajectory"
)

// The ablation of the paper's Table 3 as a flag of `subtune finetune`:
// full fine-tuning with some encoder positions zeroed in θ0 and held at
// zero — the outliers `subtune outliers` found, or as many random ones.
func init() {
	var spec string
	registerFinetuneExtension(finetuneExtension{
		Name: "disable_dims",
		Flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&spec, "disable_dims", "", "zero these encoder positions in θ0 and hold them at zero during full fine-tuning (paper Table 3): outliers:FILE (outliers.json of 'subtune outliers', or its directory) or random:N (N positions drawn with --seed)")
		},
		Reparam: func(a *trainer.Args) (func(m *model.Model) (trainer.Reparam, error), error) {
			if spec == "" {
				return nil, nil
			}
			if err := disableConflicts(finetuneCmd.Flags()); err != nil {
				return nil, err
			}
			d, err := parseDisableDims(spec)
			if err != nil {
				return nil, err
			}
			seed := uint64(a.Seed)
			return func(m *model.Model) (trainer.Reparam, error) {
				h, err := newDisableHook(m, d, seed)
				if err != nil {
					return nil, err
				}
				fmt.Fprintf(os.Stderr, "disable_dims: %d encoder positions will be zeroed in θ0 and held at zero (%s)\n", h.Count(), h.what)
				return h, nil
			}, nil
		},
	})
}

// disableConflicts refuses --disable_dims with any flag of the subspace
// extension that re-parameterises the encoder: the ablation is full
// fine-tuning.
func disableConflicts(fs *pflag.FlagSet) error {
	for _, name := range []string{"subspace", "random_subspace", "freeze_encoder", "freeze_embeddings"} {
		f := fs.Lookup(name)
		if f != nil && f.Value.String() != f.DefValue {
			return fmt.Errorf("--disable_dims cannot be combined with --%s: the ablation is full fine-tuning of every parameter but the disabled ones", name)
		}
	}
	return nil
}

// disableSpec is a parsed --disable_dims.
type disableSpec struct {
	file   *analysis.File // outliers:FILE
	random int            // random:N
}

func parseDisableDims(s string) (disableSpec, error) {
	kind, arg, ok := strings.Cut(s, ":")
	switch {
	case ok && kind == "outliers" && arg != "":
		f, err := analysis.ReadFile(arg)
		if err != nil {
			return disableSpec{}, fmt.Errorf("--disable_dims %s: %w", s, err)
		}
		return disableSpec{file: f}, nil
	case ok && kind == "random":
		n, err := strconv.Atoi(arg)
		if err != nil || n <= 0 {
			return disableSpec{}, fmt.Errorf("--disable_dims %s: want random:N with N a positive number of positions", s)
		}
		return disableSpec{random: n}, nil
	}
	return disableSpec{}, fmt.Errorf("--disable_dims %q: want outliers:FILE or random:N", s)
}

// disableHook is full fine-tuning with a set of encoder positions held at
// zero: the trainer's first BeforeForward, before any step (and after a
// resume has restored the weights), zeroes them; their gradient is zeroed
// before clipping and the optimiser step, so AdamW (whose moments then stay
// zero, and whose decoupled decay keeps a zero at zero) never moves them and
// they do not count in the gradient norm; and every later BeforeForward
// zeroes them again. θ0 as the run records it (its hash, the trajectory's
// first point) is the base model before the zeroing.
type disableHook struct {
	m    *model.Model
	pos  []int // offsets into m.Data, ascending
	what string
	L, D int
}

func newDisableHook(m *model.Model, d disableSpec, seed uint64) (*disableHook, error) {
	c := m.Config
	L, D := c.NumHiddenLayers, c.LayerSize()
	var p analysis.Positions
	var what string
	switch {
	case d.file != nil:
		f := d.file
		if f.NumLayers != L || f.LayerSize != D || f.HiddenSize != c.HiddenSize {
			return nil, fmt.Errorf("--disable_dims: %s is for %d layers of %d parameters (hidden size %d), the model has %d of %d (%d)",
				f.Path(), f.NumLayers, f.LayerSize, f.HiddenSize, L, D, c.HiddenSize)
		}
		if want := f.Source.Theta0SHA256; want != "" {
			if got := trajectory.HashLayers(m); got != want {
				return nil, fmt.Errorf("--disable_dims: %s was found on base model %s (θ0 %.12s…), but this model's encoder hashes to %.12s…: the outliers belong to another model",
					f.Path(), f.Source.Model, want, got)
			}
		}
		var err error
		if p, err = f.Positions(); err != nil {
			return nil, fmt.Errorf("--disable_dims: %w", err)
		}
		what = fmt.Sprintf("the %gσ outliers of %s", f.Sigma, f.Path())
	default:
		var err error
		if p, err = analysis.RandomPositions(d.random, L, D, seed); err != nil {
			return nil, fmt.Errorf("--disable_dims random:%d: %w", d.random, err)
		}
		what = fmt.Sprintf("random positions, seed %d", seed)
	}
	h := &disableHook{m: m, what: what, L: L, D: D}
	for l, idx := range p.Layers {
		off := m.LayerOffset(l)
		for _, i := range idx {
			h.pos = append(h.pos, off+i)
		}
	}
	return h, nil
}

// Count is the number of disabled positions.
func (h *disableHook) Count() int { return len(h.pos) }

// Trainable keeps every tensor in full-space training.
func (h *disableHook) Trainable(model.Tensor) bool { return true }

// Groups: the hook trains nothing of its own.
func (h *disableHook) Groups() []optim.Group { return nil }

// BeforeForward zeroes the disabled positions.
func (h *disableHook) BeforeForward() {
	for _, i := range h.pos {
		h.m.Data[i] = 0
	}
}

// AfterBackward zeroes their gradient.
func (h *disableHook) AfterBackward() {
	for _, i := range h.pos {
		h.m.Grad[i] = 0
	}
}

// Save: the positions follow from the flags; the weights hold the zeros.
func (h *disableHook) Save(string) error { return nil }

// Load: nothing beyond the checkpoint's weights.
func (h *disableHook) Load(string) error { return nil }

// Describe says what is disabled, for the log.
func (h *disableHook) Describe() string {
	return fmt.Sprintf("disable_dims: %d of %d encoder parameters (%.4f%%) held at zero — %s; full fine-tuning of everything else",
		len(h.pos), h.L*h.D, 100*float64(len(h.pos))/float64(h.L*h.D), h.what)
}
