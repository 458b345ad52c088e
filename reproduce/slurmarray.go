package reproduce

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/subtune/subtune/atomicfile"
)

// Stages are submitted as Slurm job arrays, one per wave: the pending
// stages whose dependencies have all been submitted (or have finished),
// grouped by those dependencies and their memory request, so that one
// afterok edge and one sbatch serve them all. Each array task reads its
// stage from a list file and sends its output to the stage's directory
// (slurm-<array>_<task>.log): --output cannot name a folder per task, and
// a log beside the stage's outputs is where a user looks.

// slurmDir holds the arrays' stage lists and the output of their tasks
// before it turns to the stage's log (nothing, unless that fails).
const slurmDir = "slurm"

// maxArrayTasks keeps an array within Slurm's default MaxArraySize.
const maxArrayTasks = 1000

// waves splits todo, the stages to submit, into the arrays to submit in
// turn: each array's stages have the same unfinished dependencies, none of
// them still in todo at its turn, and the same memory request.
func (r *reproduction) waves(todo []*node) ([][]*node, error) {
	var out [][]*node
	for len(todo) > 0 {
		var ready, rest []*node
		for _, n := range todo {
			if slices.ContainsFunc(n.deps, func(d *node) bool { return slices.Contains(todo, d) }) {
				rest = append(rest, n)
			} else {
				ready = append(ready, n)
			}
		}
		if len(ready) == 0 {
			return nil, fmt.Errorf("stages %s depend on each other", ids(rest))
		}
		out = append(out, r.groupWave(ready)...)
		todo = rest
	}
	return out, nil
}

// groupWave groups stages by their unfinished dependencies and memory
// request, in the order they come, each group at most maxArrayTasks.
func (r *reproduction) groupWave(wave []*node) [][]*node {
	var keys []string
	groups := map[string][]*node{}
	for _, n := range wave {
		mem, _ := r.memoryOf(n)
		k := fmt.Sprintf("%s|%d", ids(unfinished(n.deps)), mem)
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], n)
	}
	var out [][]*node
	for _, k := range keys {
		for g := groups[k]; len(g) > 0; g = g[min(len(g), maxArrayTasks):] {
			out = append(out, g[:min(len(g), maxArrayTasks)])
		}
	}
	return out
}

func unfinished(ns []*node) []*node {
	var out []*node
	for _, n := range ns {
		if !n.done() {
			out = append(out, n)
		}
	}
	return out
}

// afterRefs are the jobs a stage waiting for deps depends on: a whole
// array (afterok:JOBID) where deps hold every task of it, else its tasks
// (afterok:JOBID_TASK).
func afterRefs(deps []*node, jobs map[string]slurmJob) []string {
	var arrays []string
	tasks, size := map[string][]string{}, map[string]int{}
	for _, d := range unfinished(deps) {
		j := jobs[d.id]
		a := j.Array
		if a == "" {
			a = j.JobID // a job of its own
		}
		if _, ok := tasks[a]; !ok {
			arrays = append(arrays, a)
		}
		tasks[a], size[a] = append(tasks[a], j.JobID), j.Tasks
	}
	var out []string
	for _, a := range arrays {
		if len(tasks[a]) == size[a] {
			out = append(out, a)
		} else {
			out = append(out, tasks[a]...)
		}
	}
	return out
}

// submitArray submits stages as one job array and records each stage's
// task.
func (r *reproduction) submitArray(ctx context.Context, sl slurm, stages []*node, jobs map[string]slurmJob) error {
	after := afterRefs(stages[0].deps, jobs)
	for _, n := range stages {
		if err := os.MkdirAll(n.dir(r.o), 0o755); err != nil { // for the task's log
			return err
		}
	}
	list, err := r.writeStageList(stages)
	if err != nil {
		return err
	}
	id, err := sl.submit(ctx, r.sbatchArgs(stages, after), r.arrayScript(list))
	if err != nil {
		return fmt.Errorf("stages %s: %w", ids(stages), err)
	}
	dep := ""
	if len(after) > 0 {
		dep = ", after " + strings.Join(after, ",")
	}
	fmt.Fprintf(r.o.Log, "slurm: array job %s of %d (%s)%s\n", id, len(stages), waveName(stages), dep)
	for i, n := range stages {
		task := fmt.Sprintf("%s_%d", id, i)
		jobs[n.id] = slurmJob{JobID: task, Array: id, Tasks: len(stages), Command: shellJoin(r.o.stageCommand(n.id))}
		fmt.Fprintf(r.o.Log, "slurm: submitted %s as job %s\n", n.id, task)
	}
	return r.saveSlurmJobs(jobs)
}

// writeStageList writes the stages' ids, one a line, into a new file of
// slurmDir: line i+1 is the stage of array task i.
func (r *reproduction) writeStageList(stages []*node) (string, error) {
	dir := filepath.Join(r.o.OutputDir, slurmDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%d\n%s\n", time.Now().UnixNano(), ids(stages))
	path := filepath.Join(absPath(dir), "stages-"+hex.EncodeToString(h.Sum(nil))[:12]+".txt")
	return path, atomicfile.WriteFile(path, func(w io.Writer) error {
		for _, n := range stages {
			if _, err := fmt.Fprintln(w, n.id); err != nil {
				return err
			}
		}
		return nil
	})
}

// arrayScript is the job script of an array: its task's stage from list,
// its output into the stage's directory, then the stage's command.
func (r *reproduction) arrayScript(list string) string {
	return fmt.Sprintf("stage=$(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" %s)\n"+
		"test -n \"$stage\" || { echo \"no stage for task $SLURM_ARRAY_TASK_ID in %s\"; exit 1; }\n"+
		"exec >%s/\"$stage\"/slurm-\"$SLURM_ARRAY_JOB_ID\"_\"$SLURM_ARRAY_TASK_ID\".log 2>&1\n"+
		"exec %s --stage \"$stage\" --threads %d\n",
		shellQuote(list), list, shellQuote(absPath(r.o.OutputDir)), shellJoin(r.o.stagePrefix()), r.o.stageThreads())
}

// waveName names an array's job by its one stage, else by the methods (or
// kinds) of its stages and their count.
func waveName(stages []*node) string {
	if len(stages) == 1 {
		return stages[0].id
	}
	var names []string
	for _, n := range stages {
		name := n.kind
		if n.kind == kindRun {
			name = n.job.spec.method
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	if len(names) > 3 {
		names = []string{stages[0].kind}
	}
	return fmt.Sprintf("%s[%d]", strings.Join(names, "+"), len(stages))
}
