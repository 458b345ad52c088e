package trainer

import (
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/safetensors"
	"github.com/subtune/subtune/trainloop"
)

// trackBest compares an evaluation during training with the best so far,
// as Trainer._determine_best_metric: with --metric_for_best_model set, a
// strictly better value becomes best_metric at this global step. It
// reports whether the value is a new best, which the checkpoint saved at
// this step then records as best_model_checkpoint.
func (r *run) trackBest(st *State, met Metrics) (bool, error) {
	if r.a.MetricForBestModel == "" {
		return false, nil
	}
	key := r.a.bestMetricKey()
	v, ok := met[key]
	if !ok {
		return false, fmt.Errorf("--metric_for_best_model %s: the evaluation has no %s; it has %s",
			r.a.MetricForBestModel, key, strings.Join(slices.Sorted(maps.Keys(met)), ", "))
	}
	greater := r.a.GreaterIsBetter != nil && *r.a.GreaterIsBetter
	// The first best is compared with ∓Inf, as the Trainer does: a NaN
	// (numpy's greater and less are false for it) is never the best.
	best := math.Inf(1)
	if greater {
		best = math.Inf(-1)
	}
	if st.BestMetric != nil {
		best = *st.BestMetric
	}
	if !(greater && v > best) && !(!greater && v < best) {
		return false, nil
	}
	step := st.GlobalStep
	st.BestMetric, st.BestGlobalStep = &v, &step
	return true, nil
}

// rotateCheckpoints removes the oldest checkpoints of outputDir beyond
// keep, never the best one, as Trainer._rotate_checkpoints: the best is
// moved to the second newest place before the oldest are removed, and
// keep 1 becomes 2 while the best is not the newest (one to resume from,
// one to load at the end).
func rotateCheckpoints(outputDir string, keep int, best *string, loadBest bool) {
	if keep <= 0 {
		return
	}
	all := trainloop.Checkpoints(outputDir)
	if best != nil {
		if i := slices.Index(all, filepath.Clean(*best)); i >= 0 && i < len(all)-2 {
			b := all[i]
			all = slices.Insert(slices.Delete(all, i, i+1), len(all)-2, b)
		}
		if keep == 1 && loadBest && len(all) > 0 && all[len(all)-1] != filepath.Clean(*best) {
			keep = 2
		}
	}
	for len(all) > keep {
		trainloop.RemoveCheckpoint(all[0])
		all = all[1:]
	}
}

// loadBest ends a run with --load_best_model_at_end: the weights of the
// best checkpoint (checked against its checksums) replace the model's, and
// with save_total_limit 1 the other checkpoints go, as in the Trainer.
func (r *run) loadBest(m *model.Model, rp ParamHook, st *State) error {
	if !r.a.LoadBestModelAtEnd || st.BestModelCheckpoint == nil {
		return nil
	}
	dir := *st.BestModelCheckpoint
	fmt.Fprintf(r.log, "Loading best model from %s (score: %v).\n", dir, *st.BestMetric)
	if err := trainloop.VerifyCheckpoint(dir); err != nil {
		return fmt.Errorf("loading the best model: %w", err)
	}
	f, err := safetensors.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		return fmt.Errorf("loading the best model: %w", err)
	}
	defer f.Close()
	for _, t := range m.Tensors {
		if err := f.ReadFloat32Into(t.Name, m.Data[t.Offset:t.Offset+t.Size]); err != nil {
			return fmt.Errorf("loading the best model from %s: %w", dir, err)
		}
	}
	m.ParamsChanged()
	if rp != nil {
		if err := rp.Load(dir); err != nil {
			return fmt.Errorf("loading the best model from %s: %w", dir, err)
		}
		rp.BeforeForward()
	}
	if r.a.SaveTotalLimit == 1 {
		for _, c := range trainloop.Checkpoints(r.a.OutputDir) {
			if c != filepath.Clean(dir) {
				trainloop.RemoveCheckpoint(c)
			}
		}
	}
	return nil
}
