package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/subtune/subtune/dirlock"
	"github.com/subtune/subtune/internal/argcheck"
	"github.com/subtune/subtune/safetensors"
	"github.com/subtune/subtune/subspace"
	"github.com/subtune/subtune/trajectory"
)

// extractOptions are the flags of `subtune extract`.
type extractOptions struct {
	subspace.ExtractOptions
	Trajectory  string // a trajectory directory, or a run directory holding trajectory/
	Unified     string // comma-separated trajectory or run directories: one checkpoint each
	UnifiedPick string // which checkpoint of each: last, first or an index K (see unifiedPick)
	Checkpoints int    // keep this many evenly spaced checkpoints (0: all)
	Output      string
	Overwrite   bool   // replace an --output that extract did not write
	DTypeName   string // f32 or bf16
	Threads     int
}

func newExtractCmd() *cobra.Command {
	var o extractOptions
	cmd := &cobra.Command{
		Use:   "extract (--trajectory DIR | --unified DIR1,DIR2,... [--unified_pick last|first|K]) --output FILE [--dim d] [--checkpoints N] [--rows raw|delta|centered] [--scope layer|matrix|global] [--dtype f32|bf16]",
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

--checkpoints N keeps only N of the t checkpoints, evenly spaced and ending
at the last (N = 4 of 32 per-epoch checkpoints: epochs 8, 16, 24, 32): how
many points does the subspace need?

--unified DIR1,DIR2,... builds the paper's unified subspace (Sec. 4.4,
Table 2) instead: one subspace from the last checkpoint of each trajectory
(8 tasks give 8 dimensions). Every trajectory must start from the same θ0.
--unified_pick takes another checkpoint of each: first, or an index K
(0-based; negative counts from the end, −1 being the last), for example to
span where the tasks were early in fine-tuning; a comma-separated list
gives one per trajectory, in the order of --unified.
Leaving the target task's trajectory out of the list gives the zero-shot
variant. --trajectory and --unified take a trajectory directory or the
output directory of the run that holds one in trajectory/.

The trajectory is streamed (one layer of every checkpoint in memory at a
time) and every layer read is checked against the manifest's SHA-256. The
output is one safetensors file: layer.<l>.basis [d, D] (row i = direction i),
layer.<l>.singular_values [d] and layer.<l>.spectrum [t], with the options,
the numerical ranks and θ0's hash in its metadata. The spectrum and the
variance explained per layer are printed, and the read throughput. Subspace
fine-tuning loads the file, checking that its θ0 is the model's.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := runExtract(o, cmd.ErrOrStderr())
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Trajectory, "trajectory", "", "trajectory directory written by 'subtune finetune --save_trajectory' (or the run's output directory)")
	f.StringVar(&o.Unified, "unified", "", "comma-separated trajectories (or run directories): one subspace from the last checkpoint of each (paper Sec. 4.4)")
	f.StringVar(&o.UnifiedPick, "unified_pick", "last", "with --unified: the checkpoint of each trajectory, last, first or an index K (negative counts from the end); comma-separated, one per trajectory")
	f.IntVar(&o.Checkpoints, "checkpoints", 0, "keep this many of the trajectory's checkpoints, evenly spaced and ending at the last (0: all)")
	f.StringVar(&o.Output, "output", "", "safetensors file to write (an existing file is replaced only if extract wrote it, or with --overwrite)")
	f.BoolVar(&o.Overwrite, "overwrite", false, "replace --output even if it is not a subspace file")
	f.IntVar(&o.Dim, "dim", 0, "directions to keep per subspace (0: all t, less any numerically zero)")
	f.StringVar(&o.Rows, "rows", subspace.RowsDelta, "rows of W: raw, delta or centered")
	f.StringVar(&o.Scope, "scope", subspace.ScopeLayer, "one subspace per: layer, matrix (weight tensor) or global (whole encoder)")
	f.StringVar(&o.DTypeName, "dtype", "f32", "storage of the bases: f32 or bf16 (half the size; fine-tuning widens to f32)")
	f.IntVar(&o.Threads, "threads", 0, "threads (0: all cores)")
	return cmd
}

// runExtract does the work of `subtune extract`, logging to log.
func runExtract(o extractOptions, log io.Writer) (*subspace.ExtractStats, error) {
	if (o.Trajectory == "") == (o.Unified == "") || o.Output == "" {
		return nil, fmt.Errorf("give --output and one of --trajectory and --unified")
	}
	switch strings.ToLower(o.DTypeName) {
	case "", "f32", "float32":
		o.DType = safetensors.F32
	case "bf16", "bfloat16":
		o.DType = safetensors.BF16
	default:
		return nil, fmt.Errorf("--dtype %q: want f32 or bf16", o.DTypeName)
	}
	var e argcheck.Errors
	e.Int("--checkpoints", o.Checkpoints, argcheck.NonNegative.With("0: all"))
	e.Int("--dim", o.Dim, argcheck.NonNegative.With("0: all t"))
	e.Int("--threads", o.Threads, argcheck.Threads)
	if err := e.Err(); err != nil {
		return nil, err
	}
	if o.Checkpoints > 0 && o.Unified != "" {
		return nil, fmt.Errorf("--checkpoints selects checkpoints of one --trajectory; --unified takes one of each (--unified_pick)")
	}
	if p := strings.TrimSpace(o.UnifiedPick); p != "" && !strings.EqualFold(p, "last") && o.Unified == "" {
		return nil, fmt.Errorf("--unified_pick %s picks a checkpoint of each --unified trajectory; give --unified", o.UnifiedPick)
	}
	if err := checkOutput(o.Output, o.Overwrite); err != nil {
		return nil, err
	}
	// Threads read, hash and decode checkpoints and split the Gram
	// matrices; the float64 GEMMs in between are not split.
	setThreads(o.Threads)

	var opened []*subspace.Run
	defer func() {
		for _, r := range opened {
			r.Close()
		}
	}()
	open := func(dir string) (*subspace.Run, error) {
		r, err := subspace.OpenRun(trajectoryDir(dir))
		if err != nil {
			return nil, err
		}
		opened = append(opened, r)
		return r, nil
	}
	var points *subspace.Points
	if o.Unified != "" {
		dirs := splitList(o.Unified)
		pick, err := unifiedPick(o.UnifiedPick, len(dirs))
		if err != nil {
			return nil, err
		}
		var runs []*subspace.Run
		for _, dir := range dirs {
			r, err := open(dir)
			if err != nil {
				return nil, err
			}
			runs = append(runs, r)
		}
		u, err := subspace.Unified(runs, pick)
		if err != nil {
			return nil, err
		}
		if pick == nil {
			fmt.Fprintf(log, "unified subspace: the last checkpoint of each of %d trajectories\n", len(runs))
		} else {
			fmt.Fprintf(log, "unified subspace: checkpoints %v of %d trajectories (--unified_pick %s)\n", pick, len(runs), o.UnifiedPick)
		}
		points = u
	} else {
		r, err := open(o.Trajectory)
		if err != nil {
			return nil, err
		}
		points = subspace.All(r)
		if n := r.NumCheckpoints(); o.Checkpoints > 0 && o.Checkpoints < n {
			idx := subspace.EvenlySpaced(n, o.Checkpoints)
			if points, err = subspace.Select(r, idx); err != nil {
				return nil, err
			}
			fmt.Fprintf(log, "keeping %d of %d checkpoints: %v\n", len(idx), n, idx)
		} else if o.Checkpoints > 0 {
			fmt.Fprintf(log, "--checkpoints %d: the trajectory has %d, keeping them all\n", o.Checkpoints, n)
		}
	}
	o.Log = log
	return subspace.Extract(points, o.Output, o.ExtractOptions)
}

// checkOutput refuses, before any work, an --output whose folder cannot be
// written, or that would replace a file extract did not write (a model's
// weights, say) unless overwrite is set.
func checkOutput(path string, overwrite bool) error {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("--output: %w", err)
	case st.IsDir():
		return fmt.Errorf("--output %s is a folder; give the name of the file to write", path)
	case !overwrite && !subspace.IsBasisFile(path):
		return fmt.Errorf("--output %s exists and is not a subspace file written by subtune extract; give --overwrite to replace it", path)
	}
	if err := dirlock.CheckWritable(filepath.Dir(path)); err != nil {
		return fmt.Errorf("--output folder %w", err)
	}
	return nil
}

// unifiedPick reads --unified_pick for n trajectories into subspace.Unified's
// pick: "last" (or "") is nil, the end of every run; "first" is checkpoint
// 0; an integer K is that checkpoint, negative counting from the end. One
// value applies to every trajectory; a comma-separated list gives one per
// trajectory. Whether K exists is Unified's to check, since it knows each
// trajectory's length.
func unifiedPick(s string, n int) ([]int, error) {
	items := splitList(s)
	if len(items) == 0 || (len(items) == 1 && strings.EqualFold(items[0], "last")) {
		return nil, nil
	}
	if len(items) != 1 && len(items) != n {
		return nil, fmt.Errorf("--unified_pick %s: %d checkpoints for %d trajectories; give one for all or one each", s, len(items), n)
	}
	pick := make([]int, n)
	for i := range pick {
		item := items[min(i, len(items)-1)]
		switch strings.ToLower(item) {
		case "last":
			pick[i] = -1
		case "first":
			pick[i] = 0
		default:
			k, err := strconv.Atoi(item)
			if err != nil {
				return nil, fmt.Errorf("--unified_pick %s: %q is not last, first or a checkpoint index", s, item)
			}
			pick[i] = k
		}
	}
	return pick, nil
}

// trajectoryDir is dir itself when it holds a trajectory, else the
// trajectory/ folder of the run whose output directory dir is (where
// 'subtune finetune --save_trajectory' puts it).
func trajectoryDir(dir string) string {
	if sub := filepath.Join(dir, "trajectory"); !trajectory.Exists(dir) && trajectory.Exists(sub) {
		return sub
	}
	return dir
}

// splitList splits a comma-separated list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}
