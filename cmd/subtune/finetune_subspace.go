package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/safetensors"
	"github.com/subtune/subtune/subspace"
	"github.com/subtune/subtune/trainer"
)

// Subspace fine-tuning (the paper's Intrinsic, Random and Freeze rows) as
// flags of `subtune finetune`.
func init() {
	s := subspace.DefaultSpec()
	var dtype string
	initStd := subspace.DefaultOptions().InitStd
	registerFinetuneExtension(finetuneExtension{
		Name: "subspace",
		Flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&s.BasisFile, "subspace", "", "fine-tune the encoder inside this subspace (a file from 'subtune extract'): θ = θ0 + Vᵀ·(1/h)Σzᵢ")
			fs.StringVar(&s.Random, "random_subspace", "", "fine-tune inside a random subspace: dense, fastfood or said")
			fs.IntVar(&s.Dim, "subspace_dim", 0, "dimension per layer of a random subspace")
			fs.StringVar(&dtype, "subspace_dtype", "f32", "in-memory storage of the basis (--subspace or a dense --random_subspace): f32 or bf16, half the memory")
			fs.BoolVar(&s.FreezeEncoder, "freeze_encoder", false, "keep the encoder fixed (the paper's Freeze baseline)")
			fs.BoolVar(&s.FreezeEmbeddings, "freeze_embeddings", false, "also keep the embeddings fixed (only z and the head train)")
			fs.IntVar(&s.Ensemble, "ensemble", s.Ensemble, "copies h of the subspace coordinates z")
			fs.Float64Var(&s.LearningRate, "subspace_learning_rate", s.LearningRate, "learning rate of z (and of SAID's λ)")
			fs.Float64Var(&initStd, "subspace_init_std", initStd, "standard deviation of each copy's random start N(0, σ²); 0 starts z at zero (θ = θ0)")
		},
		ParamHook: func(a *trainer.Args) (func(m *model.Model) (trainer.ParamHook, error), error) {
			s.Seed = uint64(a.Seed)
			s.InitStd = &initStd
			s.RandomDType = safetensors.DType(strings.ToUpper(dtype))
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
				fmt.Fprintf(os.Stderr, "subspace fine-tuning: %d numbers trained\n", n)
				return h, nil
			}, nil
		},
	})
}
