package trainer

import "math"

// schedule is the step arithmetic of a run.
type schedule struct {
	n, batch, accum int
	batches         int // per epoch, the last one possibly short (drop_last false)
	updates         int // optimiser steps per epoch
	maxSteps        int
	epochs          int // epochs started
	warmup          int
}

func newSchedule(a *Args, n int) schedule {
	s := schedule{n: n, batch: a.PerDeviceTrainBatchSize, accum: a.GradientAccumulationSteps}
	s.batches = (n + s.batch - 1) / s.batch
	// Recent transformers ends every epoch with an optimiser step over the
	// remaining micro-batches, so an epoch has ceil(batches/accum) steps.
	s.updates = (s.batches + s.accum - 1) / s.accum
	if a.MaxSteps > 0 {
		s.maxSteps = a.MaxSteps
	} else {
		s.maxSteps = int(math.Ceil(a.NumTrainEpochs * float64(s.updates)))
	}
	s.epochs = (s.maxSteps + s.updates - 1) / s.updates
	s.warmup = a.warmup(s.maxSteps)
	return s
}

// micro returns the micro-batches [lo, hi) of the epoch that optimiser
// step `step` (0-based) consumes.
func (s schedule) micro(step int) (epoch, lo, hi int) {
	epoch, u := step/s.updates, step%s.updates
	lo = u * s.accum
	return epoch, lo, min(lo+s.accum, s.batches)
}

// epochAt is the epoch count (fractional) after the micro-batches of
// optimiser step `step` (0-based).
func (s schedule) epochAt(step int) float64 {
	epoch, _, hi := s.micro(step)
	return float64(epoch) + float64(hi)/float64(s.batches)
}

// trajectoryDue reports whether the trajectory records the weights after
// `step` steps: at every epoch's end, or every N steps, and at the end.
func (s schedule) trajectoryDue(step, every int) bool {
	if step == s.maxSteps {
		return true
	}
	if every > 0 {
		return step%every == 0
	}
	return step%s.updates == 0
}
