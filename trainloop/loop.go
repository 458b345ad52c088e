package trainloop

import (
	"errors"
	"fmt"
	"math"

	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/nn"
	"github.com/subtune/subtune/optim"
)

// ErrNonFinite is returned (wrapped) when a loss or gradient norm is NaN or
// infinite; the weights are left as they were before the step.
var ErrNonFinite = errors.New("training diverged")

// Config is the optimisation recipe of a Loop.
type Config struct {
	LearningRate, WeightDecay float64
	Beta1, Beta2, Epsilon     float64 // 0: PyTorch's 0.9, 0.999, 1e-8
	MaxGradNorm               float64 // <= 0: no clipping
	WarmupSteps, TotalSteps   int     // of the schedule
	LRSchedulerType           string  // one of optim.ScheduleTypes; "": linear
	// ScheduleStart is the step at which the schedule began: a run
	// continued from a model folder at step s warms up from s to
	// s+WarmupSteps and decays to TotalSteps.
	ScheduleStart int
	// Hook, when set, changes what is trained (see StepHook).
	Hook StepHook
}

// StepHook re-parameterises a model's training. Full training needs none.
type StepHook interface {
	// Trainable selects the model tensors that stay trained in full space
	// (e.g. embeddings and the head); the others get no optimiser state.
	Trainable(t model.Tensor) bool
	// Groups returns the optimiser groups of the hook's own parameters
	// (z, λ), each with its own learning rate and weight decay. Their Data
	// and Grad slices must stay valid for the whole run.
	Groups() []optim.Group
	// AfterBackward turns the model's accumulated gradient into the Grad
	// of Groups() (e.g. grad z = (1/h) Vᵀ ∇θ).
	AfterBackward()
	// BeforeForward writes θ, materialised from the hook's parameters,
	// into the model's weights: those the next forward pass uses.
	BeforeForward()
}

// Loop turns micro-batches into AdamW updates with the arithmetic of
// HuggingFace's Trainer: per optimiser step, gradients of the micro-batches'
// mean losses are averaged, clipped to a global norm, and applied with the
// learning-rate schedule (linear warmup and decay by default) evaluated at
// the step index. Step counts the optimiser steps taken.
type Loop struct {
	Model  *model.Model
	WS     *model.Workspace
	Opt    *optim.AdamW
	Hook   StepHook
	Config Config
	Step   int

	micro   int     // micro-batches accumulated into the current step
	lossSum float64 // their losses

	schedule    optim.Schedule
	scheduleErr error // a schedule that cannot run; Finish returns it
}

// StepStats reports one optimiser step.
type StepStats struct {
	Loss     float64 // mean of the micro-batches' losses
	GradNorm float64 // global gradient norm before clipping
	LR       float64 // the learning rate this step used (first group's)
}

// New builds the optimiser for m: the Trainer's two kinds of groups
// (decay, no decay) over the trainable tensors, plus the Hook's groups.
func New(m *model.Model, ws *model.Workspace, c Config) *Loop {
	var trainable func(model.Tensor) bool
	if c.Hook != nil {
		trainable = c.Hook.Trainable
	}
	groups := ParamGroups(m, c.LearningRate, c.WeightDecay, trainable)
	if c.Hook != nil {
		groups = append(groups, c.Hook.Groups()...)
	}
	opt := optim.NewAdamW(groups)
	if c.Beta1 != 0 || c.Beta2 != 0 || c.Epsilon != 0 {
		opt.Beta1, opt.Beta2, opt.Eps = c.Beta1, c.Beta2, c.Epsilon
	}
	typ := c.LRSchedulerType
	if typ == "" {
		typ = "linear"
	}
	sched, err := optim.NewSchedule(typ, c.WarmupSteps, c.TotalSteps, c.LearningRate)
	return &Loop{Model: m, WS: ws, Opt: opt, Hook: c.Hook, Config: c, schedule: sched, scheduleErr: err}
}

// TrainableParams counts the numbers the optimiser updates.
func (l *Loop) TrainableParams() int { return CountParams(l.Opt.Groups) }

// Begin starts an optimiser step.
func (l *Loop) Begin() {
	l.Model.ZeroGrad()
	l.micro, l.lossSum = 0, 0
}

// Accumulate runs forward (dropout on, masks from seed) and backward on one
// micro-batch, adding its gradient to the model's.
func (l *Loop) Accumulate(b *model.Batch, seed uint64) (float64, error) {
	loss, err := l.Model.Forward(l.WS, b, model.Pass{Train: true, Seed: seed})
	if err != nil {
		return 0, err
	}
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return 0, fmt.Errorf("%w: the loss is %v", ErrNonFinite, loss)
	}
	l.Model.Backward(l.WS, b)
	l.micro++
	l.lossSum += loss
	return loss, nil
}

// Finish averages the accumulated gradients, clips them, and takes the
// optimiser step. A non-finite gradient norm aborts before any weight moves.
func (l *Loop) Finish() (StepStats, error) {
	if l.micro == 0 {
		return StepStats{}, errors.New("trainloop: optimiser step without a micro-batch")
	}
	if l.scheduleErr != nil {
		return StepStats{}, l.scheduleErr
	}
	m := l.Model
	if l.micro > 1 {
		// The Trainer divides each micro-batch's loss by the number of
		// micro-batches; scaling the summed gradient once is the same.
		s := float32(1 / float64(l.micro))
		nn.ParallelFor(len(m.Grad), 1, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				m.Grad[i] *= s
			}
		})
	}
	if l.Hook != nil {
		l.Hook.AfterBackward()
	}
	norm := optim.ClipGradNorm(l.Opt.Groups, l.Config.MaxGradNorm)
	if math.IsNaN(norm) || math.IsInf(norm, 0) {
		return StepStats{}, fmt.Errorf("%w: the gradient norm is %v", ErrNonFinite, norm)
	}
	factor := l.factor()
	l.Opt.Step(factor)
	l.Step++
	if l.Hook != nil {
		l.Hook.BeforeForward()
	}
	l.Model.ParamsChanged()
	st := StepStats{Loss: l.lossSum / float64(l.micro), GradNorm: norm}
	if len(l.Opt.Groups) > 0 {
		st.LR = l.Opt.Groups[0].LR * factor
	}
	return st, nil
}

// TrainStep is Begin, Accumulate on each batch (seeds[i] for batches[i])
// and Finish.
func (l *Loop) TrainStep(batches []*model.Batch, seeds []uint64) (StepStats, error) {
	l.Begin()
	for i, b := range batches {
		if _, err := l.Accumulate(b, seeds[i]); err != nil {
			return StepStats{}, err
		}
	}
	return l.Finish()
}

// NextLR is the learning rate of the next step, which the Trainer logs as
// "learning_rate" (it reads the scheduler after stepping it).
func (l *Loop) NextLR() float64 {
	return l.Config.LearningRate * l.factor()
}

// factor is the schedule's multiplier of the learning rates at the
// current step. The schedule runs from Config.ScheduleStart to TotalSteps,
// both read here because a caller may set the start after New: a resumed
// run learns it from its checkpoint.
func (l *Loop) factor() float64 {
	s := l.schedule
	s.Total = l.Config.TotalSteps - l.Config.ScheduleStart
	return s.Factor(l.Step - l.Config.ScheduleStart)
}
