package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/outliers"
	"github.com/subtune/subtune/trainer"
)

// disableOptions are the flag of the ablation of the paper's Table 3 in
// `subtune finetune`: full fine-tuning with some encoder positions zeroed
// in θ0 and held at zero — the outliers `subtune outliers` found, or as
// many random ones.
type disableOptions struct {
	spec string
}

func (o *disableOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.spec, "disable_dims", "", "zero these encoder positions in θ0 and hold them at zero during full fine-tuning (paper Table 3): outliers:FILE (outliers.json of 'subtune outliers', or its directory) or random:N (N positions drawn with --seed)")
}

// paramHook returns nil without --disable_dims; fs holds the other flags
// of the command, which must not re-parameterise the encoder too; the hook
// says on log what it disables.
func (o *disableOptions) paramHook(fs *pflag.FlagSet, a *trainer.Args, log io.Writer) (func(m *model.Model) (trainer.ParamHook, error), error) {
	if o.spec == "" {
		return nil, nil
	}
	if err := disableConflicts(fs); err != nil {
		return nil, err
	}
	d, err := parseDisableDims(o.spec)
	if err != nil {
		return nil, err
	}
	seed := uint64(a.Seed)
	return func(m *model.Model) (trainer.ParamHook, error) {
		h, err := newDisableMask(m, d, seed)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(log, "disable_dims: %d encoder positions will be zeroed in θ0 and held at zero (%s)\n", h.Count(), h.What())
		return h, nil
	}, nil
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
	file   *outliers.File // outliers:FILE
	random int            // random:N
}

func parseDisableDims(s string) (disableSpec, error) {
	kind, arg, ok := strings.Cut(s, ":")
	switch {
	case ok && kind == "outliers" && arg != "":
		f, err := outliers.ReadFile(arg)
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

// newDisableMask builds the hook of d (see outliers.DisableMask); seed
// draws random positions.
func newDisableMask(m *model.Model, d disableSpec, seed uint64) (*outliers.DisableMask, error) {
	if d.file != nil {
		h, err := outliers.DisableOutliers(m, d.file)
		if err != nil {
			return nil, fmt.Errorf("--disable_dims: %w", err)
		}
		return h, nil
	}
	h, err := outliers.DisableRandom(m, d.random, seed)
	if err != nil {
		return nil, fmt.Errorf("--disable_dims random:%d: %w", d.random, err)
	}
	return h, nil
}
