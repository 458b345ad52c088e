package optim

import (
	"fmt"
	"math"

	"github.com/subtune/subtune/nn"
)

// Group is a set of parameters that share a learning rate and weight decay:
// views of a model's flat parameter and gradient buffers.
type Group struct {
	Name        string
	Data, Grad  []float32
	LR          float64 // base learning rate, scaled by the schedule
	WeightDecay float64
}

// AdamW is torch.optim.AdamW (amsgrad off, maximize off).
type AdamW struct {
	Beta1, Beta2, Eps float64
	Groups            []Group
	M, V              [][]float32 // first and second moments, one per group
	Steps             int         // optimiser steps taken
}

// NewAdamW allocates zeroed moments for groups, with PyTorch's defaults
// β = (0.9, 0.999), ε = 1e-8.
func NewAdamW(groups []Group) *AdamW {
	a := &AdamW{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Groups: groups}
	for _, g := range groups {
		a.M = append(a.M, make([]float32, len(g.Data)))
		a.V = append(a.V, make([]float32, len(g.Data)))
	}
	return a
}

// Step applies one update with every group's learning rate multiplied by
// lrFactor (the schedule's value for this step).
func (a *AdamW) Step(lrFactor float64) {
	a.Steps++
	t := float64(a.Steps)
	bc1 := 1 - math.Pow(a.Beta1, t)
	bc2Sqrt := math.Sqrt(1 - math.Pow(a.Beta2, t))
	b1, b2 := float32(a.Beta1), float32(a.Beta2)
	for gi, g := range a.Groups {
		lr := g.LR * lrFactor
		k := adamwConsts{
			decay: float32(1 - lr*g.WeightDecay),
			b1:    b1, c1: 1 - b1, b2: b2, c2: 1 - b2,
			stepSize: float32(lr / bc1),
			invBC2:   float32(1 / bc2Sqrt),
			eps:      float32(a.Eps),
		}
		m, v := a.M[gi], a.V[gi]
		nn.ParallelFor(len(g.Data), 8, func(lo, hi int) {
			adamwUpdate(g.Data[lo:hi], g.Grad[lo:hi], m[lo:hi], v[lo:hi], &k)
		})
	}
}

// adamwConsts are one group's numbers for one step, in float32 as the
// update computes: decay = 1 − lr·λ, c = 1 − β, stepSize = lr/(1 − β₁ᵗ),
// invBC2 = 1/√(1 − β₂ᵗ). The field order is the assembly's.
type adamwConsts struct {
	decay, b1, c1, b2, c2, stepSize, invBC2, eps float32
}

// adamwScalar is torch's AdamW update element by element, in float32. The
// conversions round every product before its sum, as PyTorch does and the
// vector kernel does: no fused multiply-add, so both agree bit for bit.
func adamwScalar(p, g, m, v []float32, k *adamwConsts) {
	for i := range p {
		p[i] *= k.decay
		m[i] = float32(k.b1*m[i]) + float32(k.c1*g[i])
		v[i] = float32(k.b2*v[i]) + float32(float32(k.c2*g[i])*g[i])
		denom := float32(float32(math.Sqrt(float64(v[i])))*k.invBC2) + k.eps
		p[i] -= float32(k.stepSize*m[i]) / denom
	}
}

// Reset zeroes the moments and the step count.
func (a *AdamW) Reset() {
	for i := range a.M {
		clear(a.M[i])
		clear(a.V[i])
	}
	a.Steps = 0
}

// CheckShapes reports whether saved moments fit the groups.
func (a *AdamW) CheckShapes(m, v [][]float32) error {
	if len(m) != len(a.Groups) || len(v) != len(a.Groups) {
		return fmt.Errorf("optimizer state has %d groups, want %d", len(m), len(a.Groups))
	}
	for i, g := range a.Groups {
		if len(m[i]) != len(g.Data) || len(v[i]) != len(g.Data) {
			return fmt.Errorf("optimizer group %s has %d values, want %d", g.Name, len(m[i]), len(g.Data))
		}
	}
	return nil
}

// GlobalNorm is the L2 norm of all the groups' gradients together, as
// clip_grad_norm_ computes it (accumulated here in float64).
func GlobalNorm(groups []Group) float64 {
	var total float64
	for _, g := range groups {
		parts := make([]float64, nn.Chunks(len(g.Grad), 2))
		nn.ParallelForIndexed(len(g.Grad), 2, func(c, lo, hi int) {
			parts[c] = nn.SumSquares(g.Grad[lo:hi])
		})
		for _, s := range parts {
			total += s
		}
	}
	return math.Sqrt(total)
}

// ClipGradNorm scales every gradient by maxNorm/(norm+1e-6) when the global
// norm exceeds maxNorm, and returns the norm before clipping, as
// torch.nn.utils.clip_grad_norm_. maxNorm <= 0 only measures.
func ClipGradNorm(groups []Group, maxNorm float64) float64 {
	norm := GlobalNorm(groups)
	if maxNorm <= 0 {
		return norm
	}
	coef := maxNorm / (norm + 1e-6)
	if coef >= 1 {
		return norm
	}
	c := float32(coef)
	for _, g := range groups {
		nn.ParallelFor(len(g.Grad), 1, func(lo, hi int) { nn.Scale(g.Grad[lo:hi], c) })
	}
	return norm
}

// LinearWarmup is get_linear_schedule_with_warmup's multiplier for the
// learning rate at a given (zero-based) optimiser step: rising linearly from
// 0 over warmup steps, then falling linearly to 0 at total.
func LinearWarmup(step, warmup, total int) float64 {
	if step < warmup {
		return float64(step) / float64(max(1, warmup))
	}
	return max(0, float64(total-step)/float64(max(1, total-warmup)))
}
