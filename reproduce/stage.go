package reproduce

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/subtune/subtune/dirlock"
)

// stageLockDir is the folder inside a stage's directory whose lock the
// stage holds while it runs: the run directory itself is the trainer's to
// lock.
const stageLockDir = ".stage"

// runStage runs the one stage o.Stage names, once the stages it depends on
// have finished, holding its directory's lock so that no other invocation
// runs it at the same time. A finished stage is left as it is.
func runStage(ctx context.Context, o Options) error {
	r, err := newReproduction(o)
	if err != nil {
		return err
	}
	g, err := r.buildGraph()
	if err != nil {
		return err
	}
	n, ok := g.byID[o.Stage]
	if !ok {
		return fmt.Errorf("--stage %q: no such stage (subtune reproduce --plan lists them)", o.Stage)
	}
	for _, d := range n.deps {
		if !d.done() {
			return fmt.Errorf("stage %s needs stage %s, which has not finished", n.id, d.id)
		}
	}
	if n.kind == kindReport {
		_, err := runAll(ctx, o)
		return err
	}
	lock, err := dirlock.Acquire(filepath.Join(n.dir(o), stageLockDir))
	if err != nil {
		return fmt.Errorf("stage %s: %w", n.id, err)
	}
	defer lock.Release()
	if !n.done() {
		fmt.Fprintf(o.Log, "== stage %s\n", n.id)
		if err := n.run(ctx, o); err != nil {
			return fmt.Errorf("stage %s: %w", n.id, err)
		}
	} else {
		fmt.Fprintf(o.Log, "== stage %s: already done\n", n.id)
	}
	return r.record(n)
}

// run does the stage's work.
func (n *node) run(ctx context.Context, o Options) error {
	if n.prep != nil {
		return o.whilePreparing(ctx, n.prep.make)
	}
	if n.kind == kindExtract {
		return o.whilePreparing(ctx, n.p.extract)
	}
	_, err := n.p.stage(ctx, n.job.spec)
	return err
}

// whilePreparing runs f holding the reproduction's preparation lock, waiting
// for it if another stage holds it. Preparations write files that several
// stages share (a subspace extracted once for the intrinsic run, the random
// baseline and the transfer runs; the outlier analysis of both ablation
// runs). Scheduled, each is a stage of its own that finishes before the
// runs that read it start; a run made alone makes what is missing, and
// taking turns keeps two such runs from building the same file at once.
func (o Options) whilePreparing(ctx context.Context, f func() error) error {
	dir := filepath.Join(o.OutputDir, ".prepare")
	for {
		lock, err := dirlock.Acquire(dir)
		if err == nil {
			defer lock.Release()
			return f()
		}
		if !errors.Is(err, dirlock.ErrBusy) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
