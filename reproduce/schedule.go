package reproduce

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/subtune/subtune/dirlock"
	"github.com/subtune/subtune/progress"
	"github.com/subtune/subtune/report"
)

// SchedulerSlurm submits every pending stage as a Slurm job.
const SchedulerSlurm = "slurm"

// stageLog is the log of a stage run by Jobs, in its directory.
const stageLog = "stage.log"

// schedule runs the pending stages as separate processes: up to o.Jobs at
// once on this machine, or as Slurm jobs. Once every stage has finished it
// writes the report as runAll does (finding every run done); a detached
// Slurm submission returns nil results.
func schedule(ctx context.Context, o Options) (*report.Results, error) {
	if o.Scheduler != "" && o.Scheduler != SchedulerSlurm {
		return nil, fmt.Errorf("--scheduler %q: want slurm, or none to run here", o.Scheduler)
	}
	if o.Executable == "" {
		return nil, errors.New("running stages as separate processes needs the subtune binary (Options.Executable)")
	}
	finished, err := scheduleLocked(ctx, o)
	if err != nil || !finished {
		return nil, err
	}
	return runAll(ctx, o)
}

// scheduleLocked runs the stages holding the output folder, so that two
// invocations never schedule the same reproduction.
func scheduleLocked(ctx context.Context, o Options) (bool, error) {
	lock, err := dirlock.Acquire(o.OutputDir)
	if err != nil {
		return false, err
	}
	defer lock.Release()
	r, err := newReproduction(o)
	if err != nil {
		return false, err
	}
	g, err := r.buildGraph()
	if err != nil {
		return false, err
	}
	if o.Scheduler == SchedulerSlurm {
		return r.runSlurm(ctx, g)
	}
	return true, r.runLocal(ctx, g)
}

// pending are the stages that have not finished, but for the report, which
// the scheduling process writes itself.
func (g *graph) pending() []*node {
	var out []*node
	for _, n := range g.nodes {
		if n.kind != kindReport && !n.done() {
			out = append(out, n)
		}
	}
	return out
}

// ready reports whether every stage n depends on has finished.
func (n *node) ready() bool {
	for _, d := range n.deps {
		if !d.done() {
			return false
		}
	}
	return true
}

type localResult struct {
	n   *node
	err error
	d   time.Duration
}

// runLocal runs up to o.Jobs pending stages at once as child processes, in
// the graph's order as their dependencies finish. After a failure it
// starts nothing more, waits for the running stages and returns the error
// with the failed stage's log tail and command.
func (r *reproduction) runLocal(ctx context.Context, g *graph) error {
	todo := g.pending()
	running := map[*node]bool{}
	results := make(chan localResult)
	var failed error
	finished, start := 0, time.Now()
	for len(todo) > 0 || len(running) > 0 {
		for i := 0; failed == nil && ctx.Err() == nil && len(running) < max(1, r.o.Jobs) && i < len(todo); {
			n := todo[i]
			if !n.ready() {
				i++
				continue
			}
			todo = append(todo[:i], todo[i+1:]...)
			running[n] = true
			fmt.Fprintf(r.o.Log, "== start %s (%d running, %d waiting)\n", n.id, len(running), len(todo))
			go func() {
				t := time.Now()
				err := r.runChild(ctx, n)
				results <- localResult{n, err, time.Since(t)}
			}()
		}
		if len(running) == 0 {
			break
		}
		res := <-results
		delete(running, res.n)
		if res.err != nil {
			failed = errors.Join(failed, res.err)
			continue
		}
		finished++
		fmt.Fprintf(r.o.Log, "== done %s in %s (%d left, %s)\n", res.n.id, res.d.Round(time.Second),
			len(todo)+len(running), etaText(finished, len(todo)+len(running), time.Since(start)))
	}
	if failed != nil {
		return failed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(todo) > 0 {
		return fmt.Errorf("stages %s cannot start: their dependencies have not finished", ids(todo))
	}
	return nil
}

// runChild runs one stage's command, its output into stage.log in the
// stage's directory.
func (r *reproduction) runChild(ctx context.Context, n *node) error {
	dir := n.dir(r.o)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	logPath := filepath.Join(dir, stageLog)
	f, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer f.Close()
	args := r.o.stageCommand(n.id)
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Run(); err != nil {
		return stageFailure(n.id, err, logPath, args)
	}
	return nil
}

// stageFailure is the error of a failed stage: what failed, the tail of
// its log and the command that reruns it alone.
func stageFailure(id string, err error, logPath string, args []string) error {
	return fmt.Errorf("stage %s failed (%v); the end of %s:\n%s\nrun it alone with:\n  %s",
		id, err, logPath, logTail(logPath, 15), shellJoin(args))
}

// logTail is the last n lines of a log file, indented.
func logTail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "  (" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(bytes.ToValidUTF8(data, []byte("?"))), "\n"), "\n")
	lines = lines[max(0, len(lines)-n):]
	return "  | " + strings.Join(lines, "\n  | ")
}

// etaText estimates the time left from the rate at which stages finished
// so far (they run side by side, so a rate rather than a mean duration).
func etaText(finished, left int, spent time.Duration) string {
	if finished == 0 || left == 0 {
		return "ETA unknown"
	}
	return "ETA " + progress.RoundETA(time.Duration(float64(spent)/float64(finished)*float64(left))).String()
}

func ids(ns []*node) string {
	var s []string
	for _, n := range ns {
		s = append(s, n.id)
	}
	return strings.Join(s, ", ")
}
