package subspace

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/subtune/subtune/model"
)

// view is a trajectory made of checkpoints of other trajectories that share
// θ0 and the layer layout: checkpoint k of the view is checkpoint at[k].k of
// srcs[at[k].src]. SelectCheckpoints and Unified are both views, so that
// the subsets of the trajectory-length sweep and the one-checkpoint-per-task
// trajectory of the unified subspace go through Extract unchanged, reading
// only the checkpoints they use.
//
// A view always implements DeltaReader: a unified view may mix trajectories
// that store deltas (bfloat16) with ones that store θk, and must read the
// former's deltas without rounding them through θk; DeltasStored reports
// whether any source stores deltas, so that over sources that do not the
// extraction computes exactly what it computes on them directly. A view
// implements Forker only when every source does (see newView).
type view struct {
	srcs   []Trajectory
	at     []point
	source string
	meta   map[string]string
	owned  bool      // srcs are forks this view opened, which Close closes
	theta0 []float32 // scratch for deltas of sources that store θk
}

// point is one checkpoint of a view: checkpoint k of source src.
type point struct{ src, k int }

// forkView is a view whose sources can all fork.
type forkView struct{ *view }

// newView returns v as a Trajectory that is a Forker exactly when every
// source is one.
func newView(v *view) Trajectory {
	for _, s := range v.srcs {
		if _, ok := s.(Forker); !ok {
			return v
		}
	}
	return forkView{v}
}

func (v *view) NumCheckpoints() int             { return len(v.at) }
func (v *view) NumLayers() int                  { return v.srcs[0].NumLayers() }
func (v *view) LayerSize() int                  { return v.srcs[0].LayerSize() }
func (v *view) LayerTensors() model.LayerLayout { return v.srcs[0].LayerTensors() }
func (v *view) Theta0Hash() string              { return v.srcs[0].Theta0Hash() }
func (v *view) Source() string                  { return v.source }

// Metadata describes where the view's checkpoints come from, for the
// metadata of the extracted file.
func (v *view) Metadata() map[string]string { return v.meta }

func (v *view) checkK(k int) error {
	if k < 0 || k >= len(v.at) {
		return fmt.Errorf("%s: checkpoint %d out of range [0, %d)", v.source, k, len(v.at))
	}
	return nil
}

func (v *view) ReadTheta0(l int, dst []float32) error { return v.srcs[0].ReadTheta0(l, dst) }

func (v *view) ReadLayer(k, l int, dst []float32) error {
	if err := v.checkK(k); err != nil {
		return err
	}
	p := v.at[k]
	return v.srcs[p.src].ReadLayer(p.k, l, dst)
}

// DeltasStored reports whether any source stores deltas.
func (v *view) DeltasStored() bool {
	return slices.ContainsFunc(v.srcs, func(s Trajectory) bool {
		dr, ok := s.(DeltaReader)
		return ok && dr.DeltasStored()
	})
}

// ReadDelta reads θk − θ0 through the source's own ReadDelta when it has
// one, else as θk minus the source's θ0.
func (v *view) ReadDelta(k, l int, dst []float32) error {
	if err := v.checkK(k); err != nil {
		return err
	}
	p := v.at[k]
	s := v.srcs[p.src]
	if dr, ok := s.(DeltaReader); ok {
		return dr.ReadDelta(p.k, l, dst)
	}
	if err := s.ReadLayer(p.k, l, dst); err != nil {
		return err
	}
	if len(v.theta0) < len(dst) {
		v.theta0 = make([]float32, len(dst))
	}
	t0 := v.theta0[:len(dst)]
	if err := s.ReadTheta0(l, t0); err != nil {
		return err
	}
	for i := range dst {
		dst[i] -= t0[i]
	}
	return nil
}

// StoredBytes is the mean size on disk of one layer of one checkpoint,
// when every source reports its own (for the extraction's throughput).
func (v *view) StoredBytes() int64 {
	var sum int64
	for _, p := range v.at {
		sb, ok := v.srcs[p.src].(interface{ StoredBytes() int64 })
		if !ok {
			return 4 * int64(v.LayerSize())
		}
		sum += sb.StoredBytes()
	}
	return sum / int64(len(v.at))
}

// Close closes the sources a Fork opened; a view made by SelectCheckpoints
// or Unified leaves its sources to the caller.
func (v *view) Close() error {
	if !v.owned {
		return nil
	}
	var first error
	for _, s := range v.srcs {
		if c, ok := s.(io.Closer); ok {
			if err := c.Close(); err != nil && first == nil {
				first = err
			}
		}
	}
	v.owned = false
	return first
}

// Fork forks every source, so that the new view reads independently of
// this one. A source the view uses twice is forked twice: sources need not
// be comparable, and forks are cheap.
func (f forkView) Fork() (Trajectory, error) {
	nv := &view{at: f.at, source: f.source, meta: f.meta, owned: true}
	for _, s := range f.srcs {
		fs, err := s.(Forker).Fork()
		if err != nil {
			nv.Close()
			return nil, err
		}
		nv.srcs = append(nv.srcs, fs)
	}
	return forkView{nv}, nil
}

// metadataOf returns tr's own description of its run, if it has one.
func metadataOf(tr Trajectory) map[string]string {
	if md, ok := tr.(interface{ Metadata() map[string]string }); ok {
		return md.Metadata()
	}
	return nil
}

// stepsOf parses the steps a trajectory's metadata lists for its
// checkpoints ("[10,20,…]"); nil if it lists none.
func stepsOf(meta map[string]string) []int {
	var steps []int
	if s := meta["trajectory_steps"]; s != "" {
		if json.Unmarshal([]byte(s), &steps) != nil {
			return nil
		}
	}
	return steps
}

func intsJSON(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.Itoa(x)
	}
	return "[" + strings.Join(parts, ",") + "]"
}
