package trainer

import "github.com/subtune/subtune/trainloop"

// ParamHook changes what a run trains. Full fine-tuning needs none; the
// subspace re-parameterisation (θℓ = θ0ℓ + Vℓ·z̄ℓ) and its baselines
// implement it, and so does the ablation that holds encoder positions at
// zero.
//
// The loop calls, per optimiser step:
//
//	m.ZeroGrad()
//	Forward + Backward on each micro-batch   (fills all of m.Grad)
//	AfterBackward()                          (m.Grad → the Grad of Groups())
//	clip + AdamW over ParamGroups(Trainable) ∪ Groups()
//	BeforeForward()                          (z → θ in m.Data)
//
// BeforeForward is also called once before the first step (after a resume
// has restored the state) so that m.Data always holds the θ the next
// forward pass, an evaluation or a checkpoint sees.
type ParamHook interface {
	// Trainable, Groups, AfterBackward and BeforeForward are what the loop
	// calls each step.
	trainloop.StepHook
	// Save writes what the run learned beyond the model's weights (z, λ)
	// into dir: the output directory, and every resumable checkpoint.
	Save(dir string) error
	// Load restores what Save wrote, when a run resumes from dir.
	Load(dir string) error
	// Describe is a line for the log saying what is trained, e.g.
	// "subspace: 12 layers × d=32 × h=16 coordinates".
	Describe() string
}
