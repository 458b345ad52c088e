package subspace

import (
	"fmt"
	"maps"
	"strconv"
)

// SelectCheckpoints returns the trajectory of tr's checkpoints idx (0-based,
// distinct, in the order given): the subsets of the trajectory-length sweep,
// which asks how many of the t points the subspace really needs. Nothing is
// copied; the view reads tr, which the caller keeps open and closes.
func SelectCheckpoints(tr Trajectory, idx []int) (Trajectory, error) {
	n := tr.NumCheckpoints()
	if len(idx) == 0 {
		return nil, fmt.Errorf("%s: no checkpoints selected", tr.Source())
	}
	seen := map[int]bool{}
	at := make([]point, len(idx))
	for i, k := range idx {
		if k < 0 || k >= n {
			return nil, fmt.Errorf("%s: checkpoint %d selected, the trajectory has %d (0 … %d)", tr.Source(), k, n, n-1)
		}
		if seen[k] {
			return nil, fmt.Errorf("%s: checkpoint %d selected twice", tr.Source(), k)
		}
		seen[k] = true
		at[i] = point{src: 0, k: k}
	}
	v := &view{srcs: []Trajectory{tr}, at: at,
		source: fmt.Sprintf("%s (checkpoints %s of %d)", tr.Source(), intsJSON(idx), n)}
	v.meta = maps.Clone(metadataOf(tr))
	if v.meta == nil {
		v.meta = map[string]string{}
	}
	v.meta["trajectory_checkpoints"] = intsJSON(idx)
	v.meta["trajectory_length"] = strconv.Itoa(n)
	if steps := stepsOf(v.meta); len(steps) == n {
		sel := make([]int, len(idx))
		for i, k := range idx {
			sel[i] = steps[k]
		}
		v.meta["trajectory_steps"] = intsJSON(sel)
	}
	return newView(v), nil
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
