package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/subtune/subtune/adapter"
	"github.com/subtune/subtune/checkpoint"
	"github.com/subtune/subtune/hfhub"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/safetensors"
	"github.com/subtune/subtune/subspace"
	"github.com/subtune/subtune/trainer"
)

// subspaceOptions are the flags of subspace fine-tuning (the paper's
// Intrinsic, Random and Freeze rows) in `subtune finetune`.
type subspaceOptions struct {
	spec       subspace.Spec
	dtype      string
	initStd    float64
	saveMerged bool
	out        savedAdapter // what a subspace run writes as its final model
}

func newSubspaceOptions() subspaceOptions {
	return subspaceOptions{spec: subspace.DefaultSpec(), initStd: subspace.DefaultOptions().InitStd, saveMerged: true}
}

// selected reports whether the flags ask for a subspace run.
func (o *subspaceOptions) selected() bool { return o.spec.Active() }

func (o *subspaceOptions) addFlags(fs *pflag.FlagSet) {
	s := &o.spec
	fs.StringVar(&s.BasisFile, "subspace", "", "fine-tune the encoder inside this subspace (a file from 'subtune extract'): θ = θ0 + Vᵀ·(1/h)Σzᵢ")
	fs.StringVar(&s.Random, "random_subspace", "", "fine-tune inside a random subspace: dense, fastfood or said")
	fs.IntVar(&s.Dim, "subspace_dim", 0, "dimension per layer of a random subspace")
	fs.StringVar(&o.dtype, "subspace_dtype", "f32", "in-memory storage of the basis (--subspace or a dense --random_subspace): f32 or bf16, half the memory")
	fs.BoolVar(&s.FreezeEncoder, "freeze_encoder", false, "keep the encoder fixed (the paper's Freeze baseline)")
	fs.BoolVar(&s.FreezeEmbeddings, "freeze_embeddings", false, "also keep the embeddings fixed (only z and the head train; the adapter is then z and the head)")
	fs.IntVar(&s.Ensemble, "ensemble", s.Ensemble, "copies h of the subspace coordinates z")
	fs.Float64Var(&s.LearningRate, "subspace_learning_rate", s.LearningRate, "learning rate of z (and of SAID's λ)")
	fs.Float64Var(&o.initStd, "subspace_init_std", o.initStd, "standard deviation of each copy's random start N(0, σ²); 0 starts z at zero (θ = θ0)")
	fs.BoolVar(&o.saveMerged, "save_merged_model", true, "with --subspace or --random_subspace, also write the merged model (false: the adapter alone; 'subtune merge' rebuilds the model)")
	_ = fs.SetAnnotation("save_merged_model", resumeFree, []string{"true"})
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
	if !o.saveMerged && s.BasisFile == "" && s.Random == "" {
		return nil, errors.New("--save_merged_model=false needs --subspace or --random_subspace: only a subspace run has an adapter to save instead")
	}
	if !s.Active() {
		return nil, nil
	}
	o.out = savedAdapter{base: runBase(a), merged: o.saveMerged}
	return func(m *model.Model) (trainer.ParamHook, error) {
		var h trainer.ParamHook
		var n int
		if s.InSubspace() {
			r, nr, err := s.NewReparam(m)
			if err != nil {
				return nil, err
			}
			h, n, o.out.reparam = r, nr, r
		} else {
			f, nf, err := s.NewFreeze(m)
			if err != nil {
				return nil, err
			}
			h, n = f, nf
		}
		fmt.Fprintf(log, "subspace fine-tuning: %d numbers trained\n", n)
		return h, nil
	}, nil
}

// runBase is the base model of a run as the command line gave it (before a
// hub id is resolved to its cache folder), for the adapter's config.
func runBase(a *trainer.Args) adapter.Base {
	b := adapter.Base{NameOrPath: a.ModelNameOrPath, Revision: a.ModelRevision, Task: a.TaskName}
	if st, err := os.Stat(b.NameOrPath); err == nil && st.IsDir() {
		return b
	}
	if repo, rev, err := hfhub.ParseModelName(b.NameOrPath); err == nil && rev != "" {
		b.NameOrPath, b.Revision = repo, rev
	}
	return b
}

// savedAdapter writes a subspace run's final model: its adapter, and the
// merged model unless --save_merged_model=false.
type savedAdapter struct {
	base    adapter.Base
	merged  bool
	reparam *subspace.Reparam // nil for the Freeze baseline
	dir     string
	size    int64 // of the adapter's weights, once written
}

func (o *savedAdapter) save(dir string, m *model.Model) error {
	if o.merged || o.reparam == nil {
		if err := checkpoint.Save(dir, m, safetensors.F32); err != nil {
			return err
		}
	}
	if o.reparam == nil {
		return nil // the Freeze baseline: nothing trained in a subspace
	}
	size, err := adapter.Write(dir, m, o.reparam, o.base)
	if err != nil {
		return err
	}
	o.dir, o.size = dir, size
	return nil
}

func (o *savedAdapter) report(w io.Writer) {
	if o.dir == "" {
		return
	}
	fmt.Fprintf(w, "adapter: %s (%s, %s: %d bytes)\n", o.dir, adapter.ConfigFile, adapter.WeightsFile, o.size)
	fmt.Fprintf(w, "adapter size: %s\n", byteSize(o.size))
	if !o.merged {
		fmt.Fprintf(w, "no merged model written (--save_merged_model=false): subtune merge --adapter %s --output_dir DIR rebuilds it\n", o.dir)
	}
}

// byteSize is n in kB or MB (powers of 1000, as file managers and the hub
// show sizes).
func byteSize(n int64) string {
	switch {
	case n < 1e3:
		return fmt.Sprintf("%d bytes", n)
	case n < 1e6:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	case n < 1e9:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.2f GB", float64(n)/1e9)
}
