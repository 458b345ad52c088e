package subspace

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Unified returns the trajectory of one checkpoint from each of trs: the
// input of the paper's unified subspace (Sec. 4.4), where the fine-tuned
// endpoints of several tasks span one subspace of as many dimensions, and
// of its zero-shot variant, which leaves the target task out. pick[i] is
// the checkpoint taken from trs[i] (negative counts from the end: −1 is
// the last); nil picks the last of each, the end of fine-tuning.
//
// The trajectories must start from the same θ0 (their hashes agree) and
// have the same layers and tensors, since every delta is taken against the
// one θ0 and the basis is bound to it; the error names both sources when
// they do not. The caller keeps trs open and closes them.
func Unified(trs []Trajectory, pick []int) (Trajectory, error) {
	if len(trs) == 0 {
		return nil, fmt.Errorf("unified subspace: no trajectories")
	}
	if pick != nil && len(pick) != len(trs) {
		return nil, fmt.Errorf("unified subspace: %d checkpoints picked from %d trajectories", len(pick), len(trs))
	}
	ref := trs[0]
	for _, tr := range trs[1:] {
		if err := sameStart(ref, tr); err != nil {
			return nil, err
		}
	}
	v := &view{srcs: trs, at: make([]point, len(trs))}
	type from struct {
		Source     string `json:"source"`
		Checkpoint int    `json:"checkpoint"`
		Task       string `json:"task,omitempty"`
		Step       *int   `json:"step,omitempty"`
	}
	var froms []from
	var names, tasks []string
	for i, tr := range trs {
		n := tr.NumCheckpoints()
		k := n - 1
		if pick != nil {
			k = pick[i]
			if k < 0 {
				k += n
			}
		}
		if k < 0 || k >= n {
			return nil, fmt.Errorf("unified subspace: %s: checkpoint %d picked, the trajectory has %d", tr.Source(), pick[i], n)
		}
		v.at[i] = point{src: i, k: k}
		f := from{Source: tr.Source(), Checkpoint: k}
		md := metadataOf(tr)
		f.Task = md["trajectory_task"]
		if steps := stepsOf(md); len(steps) == n {
			f.Step = &steps[k]
		}
		froms = append(froms, f)
		names = append(names, fmt.Sprintf("%s#%d", tr.Source(), k))
		tasks = append(tasks, f.Task)
	}
	v.source = "unified(" + strings.Join(names, ", ") + ")"
	data, err := json.Marshal(froms)
	if err != nil {
		return nil, err
	}
	v.meta = map[string]string{"trajectory_unified": string(data), "trajectory_task": strings.Join(tasks, ",")}
	if md := metadataOf(ref); md["trajectory_base_model"] != "" {
		v.meta["trajectory_base_model"] = md["trajectory_base_model"]
	}
	return newView(v), nil
}

// sameStart refuses b unless it starts from a's θ0 with a's layout.
func sameStart(a, b Trajectory) error {
	switch {
	case a.NumLayers() != b.NumLayers() || a.LayerSize() != b.LayerSize():
		return fmt.Errorf("unified subspace: %s has %d layers of %d numbers, %s %d of %d",
			a.Source(), a.NumLayers(), a.LayerSize(), b.Source(), b.NumLayers(), b.LayerSize())
	case !a.LayerTensors().Equal(b.LayerTensors()):
		return fmt.Errorf("unified subspace: %s and %s lay their layers out in different tensors", a.Source(), b.Source())
	case a.Theta0Hash() != b.Theta0Hash():
		return fmt.Errorf("unified subspace: %s and %s start from different θ0 (hashes %.12s… and %.12s…): fine-tune every task from the same model",
			a.Source(), b.Source(), a.Theta0Hash(), b.Theta0Hash())
	}
	return nil
}
