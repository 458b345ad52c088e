package optim

import (
	"fmt"
	"math"
	"strings"
)

// ScheduleTypes are the --lr_scheduler_type values implemented, named as
// transformers' SchedulerType.
var ScheduleTypes = []string{"linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup"}

// Polynomial decay's parameters: get_polynomial_decay_schedule_with_warmup's
// defaults, which the Trainer uses unless lr_scheduler_kwargs says otherwise.
const (
	PolynomialLREnd = 1e-7
	PolynomialPower = 1.0
)

// Schedule is a learning-rate schedule as transformers' get_scheduler
// builds it for the Trainer: a LambdaLR whose multiplier of the base
// learning rate is Factor(step), with each schedule's default parameters.
type Schedule struct {
	Type          string
	Warmup, Total int
	// LR is the optimiser's learning rate: polynomial decay ends at
	// PolynomialLREnd in absolute terms, so its factor depends on it.
	LR float64
}

// NewSchedule checks the type and the parameters as get_scheduler does.
func NewSchedule(typ string, warmup, total int, lr float64) (Schedule, error) {
	s := Schedule{Type: typ, Warmup: warmup, Total: total, LR: lr}
	return s, CheckSchedule(typ, lr)
}

// CheckSchedule reports whether the schedule typ can run with learning
// rate lr.
func CheckSchedule(typ string, lr float64) error {
	switch typ {
	case "linear", "cosine", "cosine_with_restarts", "constant", "constant_with_warmup":
		return nil
	case "polynomial":
		if !(lr > PolynomialLREnd) {
			// get_polynomial_decay_schedule_with_warmup raises the same.
			return fmt.Errorf("--lr_scheduler_type polynomial decays to %g: --learning_rate %g must be larger", PolynomialLREnd, lr)
		}
		return nil
	case "inverse_sqrt", "reduce_lr_on_plateau", "cosine_with_min_lr", "cosine_warmup_with_min_lr", "warmup_stable_decay":
		return fmt.Errorf("--lr_scheduler_type %s: not supported (it needs lr_scheduler_kwargs or evaluation-driven steps); want one of %s", typ, strings.Join(ScheduleTypes, ", "))
	}
	return fmt.Errorf("--lr_scheduler_type %q: want one of %s", typ, strings.Join(ScheduleTypes, ", "))
}

// Factor is the multiplier of the learning rate at a zero-based optimiser
// step: the lambda of transformers' get_scheduler for the schedule.
func (s Schedule) Factor(step int) float64 {
	if s.Type == "constant" {
		return 1 // get_constant_schedule ignores the warmup
	}
	if step < s.Warmup {
		return float64(step) / float64(max(1, s.Warmup))
	}
	progress := float64(step-s.Warmup) / float64(max(1, s.Total-s.Warmup))
	switch s.Type {
	case "constant_with_warmup":
		return 1
	case "cosine":
		// num_cycles 0.5: half a cosine wave, from 1 down to 0.
		return max(0, 0.5*(1+math.Cos(math.Pi*0.5*2*progress)))
	case "cosine_with_restarts":
		// num_cycles 1: one wave, so no restart within the run.
		if progress >= 1 {
			return 0
		}
		return max(0, 0.5*(1+math.Cos(math.Pi*math.Mod(1*progress, 1))))
	case "polynomial":
		return s.polynomial(step)
	}
	return LinearWarmup(step, s.Warmup, s.Total)
}

// polynomial decays from LR to PolynomialLREnd after the warmup.
func (s Schedule) polynomial(step int) float64 {
	decaySteps := s.Total - s.Warmup
	if step > s.Total || decaySteps <= 0 {
		// transformers divides by zero when the warmup fills the run; the
		// limit is the end value.
		return PolynomialLREnd / s.LR
	}
	remaining := 1 - float64(step-s.Warmup)/float64(decaySteps)
	return ((s.LR-PolynomialLREnd)*math.Pow(remaining, PolynomialPower) + PolynomialLREnd) / s.LR
}
