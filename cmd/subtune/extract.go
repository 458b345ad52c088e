package main

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/subtune/subtune/blas"
	"github.com/subtune/subtune/safetensors"
	"github.com/subtune/subtune/subspace"
)

func init() {
	var o subspace.ExtractOptions
	var dir, out, dtype string
	var threads int
	cmd := &cobra.Command{
		Use:   "extract --trajectory DIR --output FILE [--dim d] [--rows raw|delta|centered] [--scope layer|matrix|global] [--dtype f32|bf16]",
		Short: "Extract the intrinsic task-specific subspaces of a fine-tuning trajectory",
		Long: `Extract the subspaces a fine-tuning run moved in (Zhang, Liu & Shao, ACL 2023,
Sec. 3.2): per encoder layer, the t checkpoints of the trajectory recorded by
'subtune finetune --save_trajectory' are stacked into a t×D matrix W, and
its SVD W = UΣVᵀ is taken through the t×t Gram matrix in float64. The rows of
V are the subspace's directions; all t are kept unless --dim asks for fewer,
and numerically zero ones are dropped (and reported).

--rows chooses what is stacked: delta (θk − θ0, the default), raw (θk, the
paper's literal text) or centered (deltas minus their mean; rank ≤ t−1).
--scope chooses what one subspace covers: a layer (the paper), each weight
tensor of a layer (matrix), or the whole encoder (global).

The trajectory is streamed (one layer of every checkpoint in memory at a
time) and every layer read is checked against the manifest's SHA-256. The
output is one safetensors file: layer.<l>.basis [d, D] (row i = direction i),
layer.<l>.singular_values [d] and layer.<l>.spectrum [t], with the options,
the numerical ranks and θ0's hash in its metadata. The spectrum and the
variance explained per layer are printed, and the read throughput. Subspace
fine-tuning loads the file, checking that its θ0 is the model's.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir == "" || out == "" {
				return fmt.Errorf("--trajectory and --output are required")
			}
			switch strings.ToLower(dtype) {
			case "f32", "float32":
				o.DType = safetensors.F32
			case "bf16", "bfloat16":
				o.DType = safetensors.BF16
			default:
				return fmt.Errorf("--dtype %q: want f32 or bf16", dtype)
			}
			if threads <= 0 {
				threads = runtime.NumCPU()
			}
			// Threads read, hash and decode checkpoints; the GEMMs are
			// t×t×256 and gain nothing from OpenBLAS threads, which would
			// only spin.
			runtime.GOMAXPROCS(threads)
			blas.SetThreads(1)
			tr, err := subspace.OpenTrajectory(dir)
			if err != nil {
				return err
			}
			defer tr.Close()
			o.Log = cmd.ErrOrStderr()
			_, err = subspace.Extract(tr, out, o)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "trajectory", "", "trajectory directory written by 'subtune finetune --save_trajectory'")
	f.StringVar(&out, "output", "", "safetensors file to write")
	f.IntVar(&o.Dim, "dim", 0, "directions to keep per subspace (0: all t, less any numerically zero)")
	f.StringVar(&o.Rows, "rows", subspace.RowsDelta, "rows of W: raw, delta or centered")
	f.StringVar(&o.Scope, "scope", subspace.ScopeLayer, "one subspace per: layer, matrix (weight tensor) or global (whole encoder)")
	f.StringVar(&dtype, "dtype", "f32", "storage of the bases: f32 or bf16 (half the size; fine-tuning widens to f32)")
	f.IntVar(&threads, "threads", 0, "threads (0: all cores)")
	rootCmd.AddCommand(cmd)
}
