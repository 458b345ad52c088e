package subspace

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/subtune/subtune/model"
)

// Point is checkpoint K (0-based) of run Run of a Points.
type Point struct{ Run, K int }

// Points is what extraction reads: checkpoints of runs that start from the
// same θ0 with the same layers, in the order the rows of W take them. All
// takes every checkpoint of one run; Select some of them (the subsets of
// the trajectory-length sweep); Unified one of each of several runs (the
// unified subspace). Nothing is copied: extraction reads the runs, which
// the caller keeps open and closes.
type Points struct {
	runs []*Run
	at   []Point
	name string            // in messages and as the file's "trajectory"
	meta map[string]string // where the points come from, for the file
}

// Len is the number of points, t.
func (p *Points) Len() int { return len(p.at) }

// Name describes the points in messages.
func (p *Points) Name() string { return p.name }

// All is every checkpoint of r, in training order.
func All(r *Run) *Points {
	at := make([]Point, r.NumCheckpoints())
	for k := range at {
		at[k] = Point{K: k}
	}
	return &Points{runs: []*Run{r}, at: at, name: r.Name, meta: r.metadata()}
}

// Select is r's checkpoints idx (0-based, distinct, in the order given):
// the subsets of the trajectory-length sweep, which asks how many of the t
// points the subspace really needs.
func Select(r *Run, idx []int) (*Points, error) {
	n := r.NumCheckpoints()
	if len(idx) == 0 {
		return nil, fmt.Errorf("%s: no checkpoints selected", r.Name)
	}
	at := make([]Point, len(idx))
	for i, k := range idx {
		if k < 0 || k >= n {
			return nil, fmt.Errorf("%s: checkpoint %d selected, the trajectory has %d (0 … %d)", r.Name, k, n, n-1)
		}
		if slices.Contains(idx[:i], k) {
			return nil, fmt.Errorf("%s: checkpoint %d selected twice", r.Name, k)
		}
		at[i] = Point{K: k}
	}
	p := &Points{runs: []*Run{r}, at: at,
		name: fmt.Sprintf("%s (checkpoints %s of %d)", r.Name, intsJSON(idx), n)}
	p.meta = maps.Clone(r.metadata())
	if p.meta == nil {
		p.meta = map[string]string{}
	}
	p.meta["trajectory_checkpoints"] = intsJSON(idx)
	p.meta["trajectory_length"] = strconv.Itoa(n)
	if steps := r.steps(); len(steps) == n {
		sel := make([]int, len(idx))
		for i, k := range idx {
			sel[i] = steps[k]
		}
		p.meta["trajectory_steps"] = intsJSON(sel)
	}
	return p, nil
}

// EvenlySpaced chooses t of n checkpoints (0 … n−1), evenly spaced and
// ending at the last: checkpoint ⌈(i+1)·n/t⌉ − 1 for i = 0 … t−1, so that
// t = 4 of 32 per-epoch checkpoints are those after epochs 8, 16, 24 and
// 32. The last checkpoint is always kept, since it is where fine-tuning
// arrived. t ≥ n keeps all n; t ≤ 0 none.
func EvenlySpaced(n, t int) []int {
	if t <= 0 || n <= 0 {
		return nil
	}
	t = min(t, n)
	idx := make([]int, t)
	for i := range idx {
		idx[i] = ((i+1)*n+t-1)/t - 1
	}
	return idx
}

// Unified is one checkpoint of each of runs: the input of the paper's
// unified subspace (Sec. 4.4), where one checkpoint sampled from each of
// several tasks' trajectories spans one subspace of as many dimensions
// (the paper does not say which checkpoint), and of its zero-shot variant,
// which leaves the target task out. pick[i] is the checkpoint taken from
// runs[i] (negative counts from the end: −1 is the last); nil picks the
// last of each, the end of fine-tuning.
//
// The runs must start from the same θ0 (their hashes agree) and have the
// same layers and tensors, since every delta is taken against the one θ0
// and the basis is bound to it; the error names both runs when they do not.
func Unified(runs []*Run, pick []int) (*Points, error) {
	if len(runs) == 0 {
		return nil, fmt.Errorf("unified subspace: no trajectories")
	}
	if pick != nil && len(pick) != len(runs) {
		return nil, fmt.Errorf("unified subspace: %d checkpoints picked from %d trajectories", len(pick), len(runs))
	}
	for _, r := range runs[1:] {
		if err := sameStart(runs[0], r); err != nil {
			return nil, err
		}
	}
	p := &Points{runs: runs, at: make([]Point, len(runs))}
	type from struct {
		Source     string `json:"source"`
		Checkpoint int    `json:"checkpoint"`
		Task       string `json:"task,omitempty"`
		Step       *int   `json:"step,omitempty"`
	}
	var froms []from
	var names, tasks []string
	for i, r := range runs {
		n := r.NumCheckpoints()
		k := n - 1
		if pick != nil {
			if k = pick[i]; k < 0 {
				k += n
			}
		}
		if k < 0 || k >= n {
			return nil, fmt.Errorf("unified subspace: %s: checkpoint %d picked, the trajectory has %d", r.Name, pick[i], n)
		}
		p.at[i] = Point{Run: i, K: k}
		f := from{Source: r.Name, Checkpoint: k, Task: r.metadata()["trajectory_task"]}
		if steps := r.steps(); len(steps) == n {
			f.Step = &steps[k]
		}
		froms = append(froms, f)
		names = append(names, fmt.Sprintf("%s#%d", r.Name, k))
		tasks = append(tasks, f.Task)
	}
	p.name = "unified(" + strings.Join(names, ", ") + ")"
	data, err := json.Marshal(froms)
	if err != nil {
		return nil, err
	}
	p.meta = map[string]string{"trajectory_unified": string(data), "trajectory_task": strings.Join(tasks, ",")}
	if base := runs[0].metadata()["trajectory_base_model"]; base != "" {
		p.meta["trajectory_base_model"] = base
	}
	return p, nil
}

// sameStart refuses b unless it starts from a's θ0 with a's layout.
func sameStart(a, b *Run) error {
	ma, mb := a.Manifest, b.Manifest
	switch {
	case ma.NumLayers != mb.NumLayers || ma.LayerSize != mb.LayerSize:
		return fmt.Errorf("unified subspace: %s has %d layers of %d numbers, %s %d of %d",
			a.Name, ma.NumLayers, ma.LayerSize, b.Name, mb.NumLayers, mb.LayerSize)
	case !ma.LayerTensors.Equal(mb.LayerTensors):
		return fmt.Errorf("unified subspace: %s and %s lay their layers out in different tensors", a.Name, b.Name)
	case ma.BaseModel.Theta0SHA256 != mb.BaseModel.Theta0SHA256:
		return fmt.Errorf("unified subspace: %s and %s start from different θ0 (hashes %.12s… and %.12s…): fine-tune every task from the same model",
			a.Name, b.Name, ma.BaseModel.Theta0SHA256, mb.BaseModel.Theta0SHA256)
	}
	return nil
}

// The shape of the points: that of their first run, which Unified has
// checked the others share.
func (p *Points) numLayers() int                  { return p.runs[0].Manifest.NumLayers }
func (p *Points) layerSize() int                  { return p.runs[0].Manifest.LayerSize }
func (p *Points) layerTensors() model.LayerLayout { return p.runs[0].Manifest.LayerTensors }
func (p *Points) theta0Hash() string              { return p.runs[0].Manifest.BaseModel.Theta0SHA256 }

// check validates the shape of the points.
func (p *Points) check() error {
	if len(p.runs) == 0 {
		return fmt.Errorf("no trajectory to extract from")
	}
	t, L, D := p.Len(), p.numLayers(), p.layerSize()
	if t < 1 || L < 1 || D < 1 {
		return fmt.Errorf("%s: %d checkpoints of %d layers of %d numbers: nothing to extract", p.name, t, L, D)
	}
	if err := p.layerTensors().Check(D); err != nil {
		return fmt.Errorf("%s: %w", p.name, err)
	}
	return nil
}

// storesDeltas reports whether any run stores deltas: the points are then
// read as deltas, so that a unified subspace mixing bfloat16 and float32
// trajectories reads the former's deltas without rounding them through θk,
// while over runs that store θk the extraction forms θk − θ0 itself.
func (p *Points) storesDeltas() bool { return slices.ContainsFunc(p.runs, (*Run).storesDeltas) }

// storedBytes is the mean size of one layer of one point as stored.
func (p *Points) storedBytes() int64 {
	var sum int64
	for _, pt := range p.at {
		sum += p.runs[pt.Run].storedBytes()
	}
	return sum / int64(len(p.at))
}
