package reproduce

import "fmt"

// Profile fixes the settings of a reproduction.
type Profile struct {
	Name string
	// Full fine-tuning and every subspace run use the same schedule.
	Epochs          float64
	MaxTrainSamples int // 0: the whole training set
	MaxEvalSamples  int
	BatchSize       int
	LearningRate    float64 // full-space parameters
	WarmupRatio     float64
	// Checkpoints is the trajectory length t: one checkpoint per epoch when
	// it equals Epochs, else evenly spaced steps.
	Checkpoints int
	Dim         int     // subspace dimension d per layer (0: all t)
	Ensemble    int     // copies h of z
	SubspaceLR  float64 // learning rate of z
	Seeds       []int
	Rows        string // extraction rows: raw, delta, centered
}

// Profiles are the built-in settings. quick is the README's demo: with the
// shipped model it takes about 2.5 minutes of CPU time, a few minutes of
// wall time on two cores. paper is Zhang et al. (2023): 32 epochs with one checkpoint each,
// d = 32, h = 16, five seeds, the learning rates of their Table 7.
var Profiles = map[string]Profile{
	"quick": {Name: "quick", Epochs: 3, MaxTrainSamples: 2000, BatchSize: 32, LearningRate: 1e-4, WarmupRatio: 0.06,
		Checkpoints: 32, Dim: 32, Ensemble: 16, SubspaceLR: 0.01, Seeds: []int{42}, Rows: "delta"},
	"paper": {Name: "paper", Epochs: 32, BatchSize: 32, LearningRate: 2e-5, WarmupRatio: 0.06,
		Checkpoints: 32, Dim: 32, Ensemble: 16, SubspaceLR: 0.01, Seeds: []int{42, 43, 44, 45, 46}, Rows: "delta"},
}

// LookupProfile returns a built-in profile.
func LookupProfile(name string) (Profile, error) {
	p, ok := Profiles[name]
	if !ok {
		return Profile{}, fmt.Errorf("unknown profile %q (known: quick, paper)", name)
	}
	return p, nil
}
