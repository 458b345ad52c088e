// Package argcheck checks numeric arguments against the ranges they may
// take, so that a bad value is refused before any work with a message that
// names it — a flag (--learning_rate) or a config key (layer_norm_eps) —
// rather than being replaced by a default or surfacing later as a NaN.
// Every options type validates its numbers through it, so the wording and
// the treatment of NaN and infinities are the same everywhere.
package argcheck

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// Range is an interval of allowed values. Ends are inclusive unless
// marked open; an infinite end means no bound on that side. NaN and the
// infinities are never allowed.
type Range struct {
	Lo, Hi         float64
	LoOpen, HiOpen bool
	// Note explains special values, e.g. "0: all"; it follows the range
	// in messages.
	Note string
}

var inf = math.Inf(1)

// Common ranges.
var (
	Positive    = Range{Lo: 0, LoOpen: true, Hi: inf}
	NonNegative = Range{Lo: 0, Hi: inf}
	// Fraction is [0, 1]: a ratio of a whole.
	Fraction = Range{Lo: 0, Hi: 1}
	// Probability is [0, 1): dropout, masking and Adam's betas, for which
	// 1 leaves nothing (or divides by zero).
	Probability = Range{Lo: 0, Hi: 1, HiOpen: true}
	// LearningRate bounds AdamW's step: each parameter moves by about the
	// learning rate per step, so rates above 10 only ever diverge; the
	// bound catches a mistyped exponent (1e10 for 1e-5).
	LearningRate = Range{Lo: 0, LoOpen: true, Hi: 10}
	// Threads counts threads; 0 asks for one per core.
	Threads = Range{Lo: 0, Hi: inf, Note: "0: all cores"}
)

// With returns r with a note on special values.
func (r Range) With(note string) Range { r.Note = note; return r }

// Contains reports whether v is finite and within r.
func (r Range) Contains(v float64) bool {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return false
	}
	if v < r.Lo || (r.LoOpen && v == r.Lo) {
		return false
	}
	return v < r.Hi || (!r.HiOpen && v == r.Hi)
}

// describe renders r for a message: "a finite number > 0", "an integer
// in [0, 10]"; for integers open ends become closed ones (> 0 is ≥ 1).
func (r Range) describe(integer bool) string {
	lo, hi, loOpen, hiOpen := r.Lo, r.Hi, r.LoOpen, r.HiOpen
	what := "a finite number"
	if integer {
		what = "an integer"
		if loOpen && !math.IsInf(lo, 0) {
			lo, loOpen = math.Floor(lo)+1, false
		}
		if hiOpen && !math.IsInf(hi, 0) {
			hi, hiOpen = math.Ceil(hi)-1, false
		}
	}
	num := func(v float64) string {
		if integer {
			return strconv.FormatInt(int64(v), 10)
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	var s string
	switch {
	case math.IsInf(hi, 1) && loOpen:
		s = what + " > " + num(lo)
	case math.IsInf(hi, 1):
		s = what + " ≥ " + num(lo)
	default:
		open, close := "[", "]"
		if loOpen {
			open = "("
		}
		if hiOpen {
			close = ")"
		}
		s = fmt.Sprintf("%s in %s%s, %s%s", what, open, num(lo), num(hi), close)
	}
	if r.Note != "" {
		s += " (" + r.Note + ")"
	}
	return s
}

// Errors collects the refusals of one validation, each naming its argument.
type Errors []error

// Float refuses v unless r contains it.
func (e *Errors) Float(name string, v float64, r Range) {
	if !r.Contains(v) {
		*e = append(*e, fmt.Errorf("%s %s: want %s", name, strconv.FormatFloat(v, 'g', -1, 64), r.describe(false)))
	}
}

// Int refuses v unless r contains it.
func (e *Errors) Int(name string, v int, r Range) {
	if !r.Contains(float64(v)) {
		*e = append(*e, fmt.Errorf("%s %d: want %s", name, v, r.describe(true)))
	}
}

// Add records an error that no range expresses; nil is ignored.
func (e *Errors) Add(err error) {
	if err != nil {
		*e = append(*e, err)
	}
}

// Addf records an error made from a format.
func (e *Errors) Addf(format string, args ...any) { *e = append(*e, fmt.Errorf(format, args...)) }

// WeightDecayStep refuses a learning rate and weight decay whose product
// exceeds 1: decoupled decay multiplies every weight by 1 − lr·wd per
// step, which would flip their signs.
func (e *Errors) WeightDecayStep(lr, wd float64) {
	if d := lr * wd; d > 1 {
		e.Addf("--learning_rate %g × --weight_decay %g = %g: each step would multiply the weights by %g", lr, wd, d, 1-d)
	}
}

// Err joins the errors, or is nil when there are none.
func (e Errors) Err() error { return errors.Join(e...) }
