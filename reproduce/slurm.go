package reproduce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/subtune/subtune/atomicfile"
)

// slurmJobsFile maps each stage to the Slurm job that last ran it.
const slurmJobsFile = "slurm_jobs.json"

// slurmJob is a submitted stage: the array task that runs it
// (<array>_<task>), the array and its number of tasks.
type slurmJob struct {
	JobID   string `json:"job_id"`
	Array   string `json:"array,omitempty"`
	Tasks   int    `json:"array_tasks,omitempty"`
	Command string `json:"command"`
}

// stage states while a reproduction waits for its Slurm jobs.
const (
	statePending = "pending"
	stateRunning = "running"
	stateDone    = "done"
	stateFailed  = "failed"
)

// runSlurm submits every pending stage that has no live job (never
// submitted, failed, cancelled or vanished from Slurm), then, unless
// o.Detach, waits for the jobs, logging their counts when they change. It
// reports whether every stage has finished. A stage that fails while it
// waits is shown with its log tail and command and not resubmitted (it
// would fail again the same way); the next invocation resubmits it.
func (r *reproduction) runSlurm(ctx context.Context, g *graph) (bool, error) {
	jobs, err := r.loadSlurmJobs()
	if err != nil {
		return false, err
	}
	sl := slurm{log: r.o.Log}
	pending := g.pending()
	states, err := sl.states(ctx, liveIDs(jobs, pending))
	if err != nil {
		return false, err
	}
	if err := r.submitPending(ctx, sl, pending, jobs, states); err != nil {
		return false, err
	}
	if r.o.Detach || len(pending) == 0 {
		if len(pending) > 0 {
			fmt.Fprintf(r.o.Log, "submitted; run the same command again to collect the results and write the report\n")
		}
		return len(pending) == 0, nil
	}
	return r.waitSlurm(ctx, sl, pending, jobs)
}

// liveIDs are the job ids recorded for the pending stages.
func liveIDs(jobs map[string]slurmJob, pending []*node) []string {
	var out []string
	for _, n := range pending {
		if j, ok := jobs[n.id]; ok {
			out = append(out, j.JobID)
		}
	}
	return out
}

// submitPending submits the pending stages without a live job as job
// arrays, wave by wave, each depending on the live jobs of its unfinished
// dependencies.
func (r *reproduction) submitPending(ctx context.Context, sl slurm, pending []*node, jobs map[string]slurmJob, states map[string]string) error {
	var todo []*node
	for _, n := range pending {
		if j, ok := jobs[n.id]; ok {
			switch st := states[j.JobID]; {
			case st == statePending || st == stateRunning:
				fmt.Fprintf(r.o.Log, "slurm: %s is job %s (%s)\n", n.id, j.JobID, st)
				continue
			case st == "":
				fmt.Fprintf(r.o.Log, "slurm: job %s of %s has vanished; resubmitting\n", j.JobID, n.id)
			default:
				fmt.Fprintf(r.o.Log, "slurm: job %s of %s %s; resubmitting\n", j.JobID, n.id, st)
			}
		}
		todo = append(todo, n)
	}
	waves, err := r.waves(todo)
	if err != nil {
		return err
	}
	for _, w := range waves {
		if err := r.submitArray(ctx, sl, w, jobs); err != nil {
			return err
		}
	}
	return nil
}

// sbatchArgs are the options of the array running stages: its name,
// threads, memory, the output of its tasks before they turn to their
// stage's log, the edges to the jobs it waits for, and --slurm_args.
func (r *reproduction) sbatchArgs(stages []*node, after []string) []string {
	cwd, _ := os.Getwd()
	mem, _ := r.memoryOf(stages[0]) // 0: no request
	args := []string{"--job-name=subtune:" + waveName(stages), fmt.Sprintf("--array=0-%d", len(stages)-1),
		fmt.Sprintf("--cpus-per-task=%d", r.o.stageThreads()),
		"--output=" + filepath.Join(absPath(filepath.Join(r.o.OutputDir, slurmDir)), "%A_%a.log"), "--chdir=" + cwd}
	if mem > 0 {
		args = append(args, fmt.Sprintf("--mem=%dM", mem))
	}
	if len(after) > 0 {
		args = append(args, "--dependency=afterok:"+strings.Join(after, ":"), "--kill-on-invalid-dep=yes")
	}
	return append(args, r.o.SlurmArgs...)
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// waitSlurm polls the jobs of the pending stages until none is pending or
// running.
func (r *reproduction) waitSlurm(ctx context.Context, sl slurm, pending []*node, jobs map[string]slurmJob) (bool, error) {
	poll := r.o.Poll
	if poll <= 0 {
		poll = 10 * time.Second
	}
	start, last := time.Now(), ""
	reported := map[string]bool{}
	var failures []error
	for {
		states, err := sl.states(ctx, liveIDs(jobs, pending))
		if err != nil {
			return false, err
		}
		count := map[string]int{}
		for _, n := range pending {
			st := stageState(n, states[jobs[n.id].JobID])
			count[st]++
			if st == stateFailed && !reported[n.id] {
				reported[n.id] = true
				log := r.taskLog(n, jobs[n.id].JobID)
				err := stageFailure(n.id, fmt.Errorf("job %s %s", jobs[n.id].JobID, states[jobs[n.id].JobID]), log, r.o.stageCommand(n.id))
				fmt.Fprintln(r.o.Log, err)
				failures = append(failures, err)
			}
		}
		line := fmt.Sprintf("slurm: %d pending, %d running, %d done, %d failed", count[statePending], count[stateRunning], count[stateDone], count[stateFailed])
		if line != last {
			fmt.Fprintf(r.o.Log, "%s (%s)\n", line, etaText(count[stateDone], count[statePending]+count[stateRunning], time.Since(start)))
			last = line
		}
		if count[statePending]+count[stateRunning] == 0 {
			if len(failures) > 0 {
				return false, fmt.Errorf("%d stages failed (run the same command again to resubmit them and those cancelled after them): %w",
					count[stateFailed], errors.Join(failures...))
			}
			return true, nil
		}
		select {
		case <-ctx.Done():
			return false, fmt.Errorf("%w (the jobs keep running; run the same command again to collect them)", ctx.Err())
		case <-time.After(poll):
		}
	}
}

// taskLog is the log of the job that ran stage n: in its directory, or
// where the task's output went before it turned there, for a task that
// failed before (and a job of its own, submitted so by an earlier
// version, whose log is in the stage's directory too).
func (r *reproduction) taskLog(n *node, job string) string {
	log := filepath.Join(n.dir(r.o), "slurm-"+job+".log")
	if _, err := os.Stat(log); err != nil && strings.Contains(job, "_") {
		return filepath.Join(r.o.OutputDir, slurmDir, job+".log")
	}
	return log
}

// stageState is a pending stage's state from its job's: done once its
// outputs are there, failed once its job has ended without them.
func stageState(n *node, job string) string {
	switch {
	case n.done():
		return stateDone
	case job == statePending || job == stateRunning:
		return job
	}
	return stateFailed
}

func (r *reproduction) loadSlurmJobs() (map[string]slurmJob, error) {
	jobs := map[string]slurmJob{}
	path := filepath.Join(r.o.OutputDir, slurmJobsFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return jobs, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &jobs); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return jobs, nil
}

func (r *reproduction) saveSlurmJobs(jobs map[string]slurmJob) error {
	return atomicfile.WriteJSON(filepath.Join(r.o.OutputDir, slurmJobsFile), jobs)
}
