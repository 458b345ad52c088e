package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/subtune/subtune/adapter"
	"github.com/subtune/subtune/checkpoint"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/safetensors"
	"github.com/subtune/subtune/tokenizer"
)

func newMergeCmd() *cobra.Command {
	var src adapterSource
	var outDir string
	cmd := &cobra.Command{
		Use:   "merge --adapter DIR [--model_name_or_path BASE] --output_dir OUT",
		Short: "Rebuild an ordinary model folder from a subspace adapter and its base model",
		Long: `Applies the adapter a subspace run wrote (adapter_config.json and
adapter_model.safetensors, as 'subtune finetune --subspace' or
--random_subspace writes them) to its base model, θ = θ0 + Vᵀz̄ in the
encoder and the adapter's full-space modules (head, pooler, embeddings when
trained), and writes an ordinary HuggingFace model folder: config.json,
model.safetensors and the tokenizer (the adapter folder's, else the base
model's). Its weights are the run's merged model, bit for bit.

The base model is the adapter's base_model_name_or_path (a folder, or a hub
id fetched at the adapter's revision), unless --model_name_or_path names
another copy of it. A base whose encoder is not the adapter's θ0, or a
basis file other than the one the adapter was trained in, is refused with
both SHA-256 hashes. --basis gives the basis file of an intrinsic subspace
moved since the run.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if outDir == "" {
				return errors.New("--output_dir is required")
			}
			stderr := cmd.ErrOrStderr()
			m, a, err := src.load(cmd.Context(), stderr, checkpoint.Options{})
			if err != nil {
				return err
			}
			if same(outDir, a.baseDir) {
				return fmt.Errorf("--output_dir %s is the base model's folder: the merged model would replace the base", outDir)
			}
			if err := checkpoint.Save(outDir, m, safetensors.F32); err != nil {
				return err
			}
			if err := copyTokenizer(outDir, src.adapterDir, a.baseDir, stderr); err != nil {
				return err
			}
			st, err := os.Stat(filepath.Join(outDir, "model.safetensors"))
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "merged %s onto %s: %s (model.safetensors, %s)\n", src.adapterDir, a.baseDir, outDir, byteSize(st.Size()))
			return nil
		},
	}
	f := cmd.Flags()
	src.addFlags(f, "the base model (default: the adapter's base_model_name_or_path): "+modelNameHelp)
	f.StringVar(&outDir, "output_dir", "", "where the merged model folder goes")
	return cmd
}

// adapterSource is an adapter and where its base model comes from, as
// merge and predict take them.
type adapterSource struct {
	adapterDir, base, basis string
	models                  modelSource
}

// addFlags registers the flags on fs; baseHelp is --model_name_or_path's.
func (s *adapterSource) addFlags(fs *pflag.FlagSet, baseHelp string) {
	fs.StringVar(&s.adapterDir, "adapter", "", "adapter folder written by a subspace run (adapter_config.json, adapter_model.safetensors)")
	fs.StringVar(&s.base, "model_name_or_path", "", baseHelp)
	fs.StringVar(&s.basis, "basis", "", "the intrinsic subspace's basis file, if it moved since the run (default: the adapter's)")
	s.models.addFlags(fs)
}

// loadedAdapter is what load found besides the model.
type loadedAdapter struct {
	config  *adapter.Config
	baseDir string
}

// load resolves the adapter's base model and applies the adapter to it.
func (s *adapterSource) load(ctx context.Context, log io.Writer, co checkpoint.Options) (*model.Model, loadedAdapter, error) {
	if s.adapterDir == "" {
		return nil, loadedAdapter{}, errors.New("--adapter is required")
	}
	c, err := adapter.ReadConfig(s.adapterDir)
	if err != nil {
		return nil, loadedAdapter{}, err
	}
	base, models := s.base, s.models
	if base == "" {
		base = c.BaseModelNameOrPath
		if models.revision == "" && c.Revision != nil {
			models.revision = *c.Revision
		}
	}
	baseDir, err := models.resolve(ctx, base, log)
	if err != nil {
		return nil, loadedAdapter{}, fmt.Errorf("the adapter's base model: %w", err)
	}
	m, c, err := adapter.Load(s.adapterDir, baseDir, adapter.Options{Basis: s.basis, Checkpoint: co})
	if err != nil {
		return nil, loadedAdapter{}, err
	}
	return m, loadedAdapter{config: c, baseDir: baseDir}, nil
}

// tokenizerDir is the folder whose tokenizer goes with an adapter: the
// adapter's own (what its run used), else the base model's.
func tokenizerDir(adapterDir, baseDir string) string {
	if _, err := tokenizer.Load(adapterDir); err == nil {
		return adapterDir
	}
	return baseDir
}

// copyTokenizer writes the adapter's tokenizer into out, warning when
// neither the adapter nor the base has one.
func copyTokenizer(out, adapterDir, baseDir string, log io.Writer) error {
	dir := tokenizerDir(adapterDir, baseDir)
	tok, err := tokenizer.Load(dir)
	if err != nil {
		fmt.Fprintf(log, "warning: no tokenizer written: %v\n", err)
		return nil
	}
	return tok.Save(out)
}

// same reports whether two paths name the same existing folder.
func same(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}
