package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/subtune/subtune/outliers"
)

// outliersOptions are the flags of `subtune outliers`.
type outliersOptions struct {
	outliers.RunOptions
	Threads int
}

func newOutliersCmd() *cobra.Command {
	var o outliersOptions
	var src modelSource
	cmd := &cobra.Command{
		Use:   "outliers --run DIR [--sigma 3] [--output DIR]",
		Short: "Find the outlier dimensions of a subspace run's learned update (paper Sec. 4.5)",
		Long: `Rebuild each encoder layer's learned update Δℓ = Vℓᵀz̄ℓ of a subspace
fine-tuning run ('subtune finetune --subspace FILE' or '--random_subspace
KIND'), flag the entries at least --sigma standard deviations from their
layer's mean (the paper: 3σ, ≈0.3% of the encoder), and say where they sit
(Zhang, Liu & Shao, ACL 2023, Sec. 4.5, Tables 3–4, Fig. 4):

  - per parameter and layer (the paper's Table 4);
  - per hidden dimension: in how many layers each dimension concentrates
    outliers beyond chance (the paper's "O1", in almost every layer; prior
    work names 308/381 for BERT-base, 77/588 for RoBERTa-base).

The update is rebuilt from what the run recorded: the coordinates file
(subspace_coordinates.safetensors) names the basis (the extracted file, or
a random basis's kind, dimension and seed), and training_args.json the base
model θ0. The rebuilt update is checked against the run's saved weights
(θ_final − θ0); the coordinates record whether the run kept its basis in
bfloat16 (--subspace_dtype), and the basis file's SHA-256.

Written to --output (default: the run directory): outliers.json (the
analysis and every outlier's position per layer, the input of
'subtune finetune --disable_dims outliers:FILE'), outliers.md (the tables),
outliers.png/.svg (per layer, the largest |Δ| per hidden dimension with the
outlier dimensions marked: the paper's Fig. 4) and outlier_dims.png/.svg
(in how many layers each dimension recurs).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Model != "" {
				var err error
				if o.Model, err = src.resolve(cmd.Context(), o.Model, cmd.ErrOrStderr()); err != nil {
					return err
				}
			}
			_, err := runOutliers(o, cmd.OutOrStdout(), cmd.ErrOrStderr())
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Run, "run", "", "output directory of a subspace fine-tuning run (or one of its checkpoint-N folders)")
	f.Float64Var(&o.Sigma, "sigma", outliers.DefaultSigma, "flag entries at least this many standard deviations from their layer's mean")
	f.StringVar(&o.Output, "output", "", "directory for outliers.json, outliers.md and the plots (default: --run)")
	f.IntVar(&o.Top, "top", outliers.DefaultTop, "hidden dimensions to list")
	f.StringVar(&o.Model, "model", "", "base model θ0, a folder or hub model id (default: model_name_or_path from the run's training_args.json)")
	src.addFlags(f)
	f.StringVar(&o.Basis, "basis", "", "the subspace file (default: the path the coordinates file records)")
	f.StringVar(&o.DType, "subspace_dtype", "auto", "how the run held its basis (its --subspace_dtype), for coordinates that do not record it (written by an older subtune): f32 or bf16; auto uses the record")
	f.IntVar(&o.Threads, "threads", 0, "threads (0: all cores)")
	return cmd
}

// runOutliers does the work of `subtune outliers`: tables to stdout,
// progress to log, files to o.Output.
func runOutliers(o outliersOptions, stdout, log io.Writer) (*outliers.Result, error) {
	if err := checkThreads(o.Threads); err != nil {
		return nil, err
	}
	setThreads(o.Threads)
	return outliers.AnalyzeRun(o.RunOptions, stdout, log)
}
