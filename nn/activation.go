package nn

import "fmt"

// Activation is an encoder's feed-forward non-linearity, named as in
// HuggingFace configs (hidden_act).
type Activation int

const (
	// GELU is the exact GELU, x·Φ(x), which HuggingFace calls "gelu".
	GELU Activation = iota
	// GELUTanh is the tanh approximation of GELU ("gelu_new", "gelu_pytorch_tanh").
	GELUTanh
	// ReLU is max(0, x).
	ReLU
)

// ParseActivation maps a config's hidden_act to an Activation.
func ParseActivation(name string) (Activation, error) {
	switch name {
	case "gelu":
		return GELU, nil
	case "gelu_new", "gelu_pytorch_tanh", "gelu_fast":
		return GELUTanh, nil
	case "relu":
		return ReLU, nil
	}
	return 0, fmt.Errorf("unsupported hidden_act %q (supported: gelu, gelu_new, gelu_pytorch_tanh, relu)", name)
}

func (a Activation) String() string {
	switch a {
	case GELU:
		return "gelu"
	case GELUTanh:
		return "gelu_new"
	case ReLU:
		return "relu"
	}
	return fmt.Sprintf("Activation(%d)", int(a))
}

const (
	invSqrt2    = 0.70710678118654752440
	invSqrt2Pi  = 0.39894228040143267794
	sqrt2OverPi = 0.79788456080286535588
	geluCubic   = 0.044715
)

// ActivationForward applies a element-wise, out[i] = a(x[i]), and keeps in
// aux what the backward pass needs beyond x: Φ(x) for GELU, the tanh for
// GELUTanh, nothing for ReLU (aux may be nil there). Keeping aux rather than
// out lets a caller recompute out cheaply (ActivationRecompute) instead of
// storing it, and spares the backward pass a second erf per element.
func ActivationForward(a Activation, out, aux, x []float32) {
	ParallelFor(len(x), 24, func(lo, hi int) {
		xs, os := x[lo:hi], out[lo:hi]
		switch a {
		case GELU:
			if useAVX2 {
				geluForwardSIMD(os, aux[lo:hi], xs)
			} else {
				geluForward(os, aux[lo:hi], xs)
			}
		case GELUTanh:
			as := aux[lo:hi]
			for i, v := range xs {
				t := Tanh(sqrt2OverPi * (v + geluCubic*v*v*v))
				as[i] = t
				os[i] = 0.5 * v * (1 + t)
			}
		case ReLU:
			for i, v := range xs {
				os[i] = max(v, 0)
			}
		}
	})
}

// geluForward is the exact GELU in scalar Go, out = x·Φ(x) and aux = Φ(x):
// the reference for geluForwardSIMD and the code on machines without AVX2.
func geluForward(out, aux, x []float32) {
	out, aux = out[:len(x)], aux[:len(x)]
	for i, v := range x {
		cdf := 0.5 * (1 + Erf(v*invSqrt2))
		aux[i] = cdf
		out[i] = v * cdf
	}
}

// geluBackward is dx = dout·(Φ(x) + x·φ(x)) in scalar Go, with Φ(x) from
// aux; dx may alias dout.
func geluBackward(dx, dout, x, aux []float32) {
	dx, dout, aux = dx[:len(x)], dout[:len(x)], aux[:len(x)]
	for i, v := range x {
		pdf := invSqrt2Pi * Exp(-0.5*v*v)
		dx[i] = dout[i] * (aux[i] + v*pdf)
	}
}

// ActivationRecompute rebuilds out = a(x) from x and the aux that
// ActivationForward kept.
func ActivationRecompute(a Activation, out, aux, x []float32) {
	ParallelFor(len(x), 2, func(lo, hi int) {
		xs, os := x[lo:hi], out[lo:hi]
		switch a {
		case GELU:
			as := aux[lo:hi]
			for i, v := range xs {
				os[i] = v * as[i]
			}
		case GELUTanh:
			as := aux[lo:hi]
			for i, v := range xs {
				os[i] = 0.5 * v * (1 + as[i])
			}
		case ReLU:
			for i, v := range xs {
				os[i] = max(v, 0)
			}
		}
	})
}

// ActivationBackward computes dx = dout·a'(x), overwriting dx (which may
// alias dout), from x and ActivationForward's aux.
func ActivationBackward(a Activation, dx, dout, x, aux []float32) {
	ParallelFor(len(x), 16, func(lo, hi int) {
		xs, g, d := x[lo:hi], dout[lo:hi], dx[lo:hi]
		switch a {
		case GELU:
			if useAVX2 {
				geluBackwardSIMD(d, g, xs, aux[lo:hi])
			} else {
				geluBackward(d, g, xs, aux[lo:hi])
			}
		case GELUTanh:
			as := aux[lo:hi]
			for i, v := range xs {
				t := as[i]
				du := sqrt2OverPi * (1 + 3*geluCubic*v*v)
				d[i] = g[i] * (0.5*(1+t) + 0.5*v*(1-t*t)*du)
			}
		case ReLU:
			for i, v := range xs {
				if v > 0 {
					d[i] = g[i]
				} else {
					d[i] = 0
				}
			}
		}
	})
}

// TanhForward is the pooler's out = tanh(x).
func TanhForward(out, x []float32) {
	for i, v := range x {
		out[i] = Tanh(v)
	}
}

// TanhBackward computes dx = dout·(1−y²) from the forward output y.
func TanhBackward(dx, dout, y []float32) {
	for i, v := range y {
		dx[i] = dout[i] * (1 - v*v)
	}
}
