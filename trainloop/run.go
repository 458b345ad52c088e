package trainloop

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/subtune/subtune/model"
)

// ErrInterrupted is returned (wrapped, with the context's error) when the
// context is cancelled during training; a checkpoint of the last finished
// step has been saved.
var ErrInterrupted = errors.New("interrupted")

// Task is one kind of training run by Run: fine-tuning on a task's
// examples, or masked-LM pre-training on a corpus. Run takes the steps;
// the task says what each step trains on and what follows it.
type Task interface {
	// Batches yields the micro-batches of the optimiser step after `step`
	// steps, each with the seed of its dropout masks. A batch may be
	// reused for the next one once yield returns; yield returning false
	// means the step failed and no more are wanted.
	Batches(step int) iter.Seq2[*model.Batch, uint64]
	// Stepped records the step just taken (its losses, the progress shown,
	// the logged lines) and evaluates when an evaluation is due. save
	// reports whether a checkpoint is due.
	Stepped(st StepStats) (save bool, err error)
	// Checkpoint saves a checkpoint of the current step (once: a second
	// call at the same step does nothing) and returns its folder.
	Checkpoint() (dir string, err error)
	// Stopped wraps the error that stopped the step after `step` steps,
	// saying where the run can continue from.
	Stopped(step int, err error) error
}

// Run takes optimiser steps on l until it has taken maxSteps, or until ctx
// is cancelled, in which case the task first saves a checkpoint of the
// last finished step.
func Run(ctx context.Context, l *Loop, maxSteps int, t Task) error {
	for l.Step < maxSteps {
		if err := ctx.Err(); err != nil {
			return interrupted(l.Step, t, err)
		}
		st, err := step(l, t)
		if err != nil {
			return t.Stopped(l.Step, err)
		}
		save, err := t.Stepped(st)
		if err != nil {
			return err
		}
		if save {
			if _, err := t.Checkpoint(); err != nil {
				return err
			}
		}
	}
	return nil
}

// step takes one optimiser step over the task's micro-batches.
func step(l *Loop, t Task) (StepStats, error) {
	l.Begin()
	var err error
	for b, seed := range t.Batches(l.Step) {
		if _, err = l.Accumulate(b, seed); err != nil {
			return StepStats{}, err
		}
	}
	return l.Finish()
}

func interrupted(step int, t Task, cause error) error {
	dir, err := t.Checkpoint()
	if err != nil {
		return err
	}
	return fmt.Errorf("%w at step %d: checkpoint saved in %s; run the same command with --resume to continue (%w)",
		ErrInterrupted, step, dir, cause)
}
