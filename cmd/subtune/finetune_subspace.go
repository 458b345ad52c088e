package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/safetensors"
	"github.com/subtune/subtune/subspace"
	"github.com/subtune/subtune/trainer"
)

// subspaceOptions are the flags of subspace fine-tuning (the paper's
// Intrinsic, Random and Freeze rows) in `subtune finetune`.
type subspaceOptions struct {
	spec    subspace.Spec
	dtype   string
	initStd float64
}

func newSubspaceOptions() subspaceOptions {
	return subspaceOptions{spec: subspace.DefaultSpec(), initStd: subspace.DefaultOptions().InitStd}
}

func (o *subspaceOptions) addFlags(fs *pflag.FlagSet) {
	s := &o.spec
	fs.StringVar(&s.BasisFile, "subspace", "", "fine-tune the encoder inside this subspace (a file from 'subtune extract'): θ = θ0 + Vᵀ·(1/h)Σzᵢ")
	fs.StringVar(&s.Random, "random_subspace", "", "fine-tune inside a random subspace: dense, fastfood or said")
	fs.IntVar(&s.Dim, "subspace_dim", 0, "dimension per layer of a random subspace")
	fs.StringVar(&o.dtype, "subspace_dtype", "f32", "in-memory storage of the basis (--subspace or a dense --random_subspace): f32 or bf16, half the memory")
	fs.BoolVar(&s.FreezeEncoder, "freeze_encoder", false, "keep the encoder fixed (the paper's Freeze baseline)")
	fs.BoolVar(&s.FreezeEmbeddings, "freeze_embeddings", false, "also keep the embeddings fixed (only z and the head train)")
	fs.IntVar(&s.Ensemble, "ensemble", s.Ensemble, "copies h of the subspace coordinates z")
	fs.Float64Var(&s.LearningRate, "subspace_learning_rate", s.LearningRate, "learning rate of z (and of SAID's λ)")
	fs.Float64Var(&o.initStd, "subspace_init_std", o.initStd, "standard deviation of each copy's random start N(0, σ²); 0 starts z at zero (θ = θ0)")
}

// paramHook returns nil when the flags ask for no subspace; the hook says
// on log how many numbers train.
func (o *subspaceOptions) paramHook(a *trainer.Args, log io.Writer) (func(m *model.Model) (trainer.ParamHook, error), error) {
	s := o.spec
	s.Seed = uint64(a.Seed)
	initStd := o.initStd
	s.InitStd = &initStd
	s.RandomDType = safetensors.DType(strings.ToUpper(o.dtype))
	s.BasisDType = s.RandomDType
	// Checked before asking whether it is used: a bad value is
	// refused even where it would not matter.
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if !s.Active() {
		return nil, nil
	}
	return func(m *model.Model) (trainer.ParamHook, error) {
		h, n, err := s.NewHook(m)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(log, "subspace fine-tuning: %d numbers trained\n", n)
		return h, nil
	}, nil
}
