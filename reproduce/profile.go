package reproduce

import (
	"fmt"
	"maps"
)

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
	// TaskCheckpoints overrides Checkpoints for some tasks (the paper's
	// MNLI keeps 64), and Epochs too when there is one checkpoint per epoch.
	TaskCheckpoints map[string]int
	Dim             int     // subspace dimension d per layer (0: all t)
	Ensemble        int     // copies h of z
	SubspaceLR      float64 // learning rate of z
	Seeds           []int
	Rows            string // extraction rows: raw, delta, centered
}

// Profiles are the built-in settings. quick is the README's demo: with the
// shipped model it takes about 2.5 minutes of CPU time, a few minutes of
// wall time on two cores. paper is Zhang et al. (2023) as written: the
// trajectory matrix stacks the checkpoints themselves (raw rows, Sec. 3.2,
// Eq. 2), 32 epochs with one checkpoint each (Sec. 4.1, App. A.1), d = 32
// (Table 1's caption, App. A.1), h = 16 (Sec. 3.3, Eq. 4), z's learning
// rate 0.01 (Sec. 4.1, App. A.1), five seeds (Sec. 4.1), and otherwise the
// fine-tuning script's defaults, which App. A.1 keeps without giving their
// values: no warmup, and batch 32 and learning rate 2e-5 as run_glue's
// README command passes them (TrainingArguments' own are 8 and 5e-5). MNLI
// trains 64 epochs with one checkpoint each, so d = t = 64 (Sec. 4.1,
// Table 1's caption). paperSettings (REPORT.md's "Settings against the
// paper") says where each value comes from.
var Profiles = map[string]Profile{
	"quick": {Name: "quick", Epochs: 3, MaxTrainSamples: 2000, BatchSize: 32, LearningRate: 1e-4, WarmupRatio: 0.06,
		Checkpoints: 32, Dim: 32, Ensemble: 16, SubspaceLR: 0.01, Seeds: []int{42}, Rows: "delta"},
	"paper": {Name: "paper", Epochs: 32, BatchSize: 32, LearningRate: 2e-5,
		Checkpoints: 32, TaskCheckpoints: map[string]int{"mnli": 64},
		Dim: 0, Ensemble: 16, SubspaceLR: 0.01, Seeds: []int{42, 43, 44, 45, 46}, Rows: "raw"},
}

// LookupProfile returns a built-in profile.
func LookupProfile(name string) (Profile, error) {
	p, ok := Profiles[name]
	if !ok {
		return Profile{}, fmt.Errorf("unknown profile %q (known: quick, paper)", name)
	}
	p.TaskCheckpoints = maps.Clone(p.TaskCheckpoints)
	return p, nil
}

// forTask is the profile as one task's runs use it: Checkpoints is that
// task's t, and a profile that saves one checkpoint per epoch trains t
// epochs (the paper's MNLI: 64).
func (pr Profile) forTask(task string) Profile {
	if t, ok := pr.TaskCheckpoints[task]; ok {
		if pr.perEpoch() {
			pr.Epochs = float64(t)
		}
		pr.Checkpoints = t
	}
	return pr
}

// maxCheckpoints is the largest t any task uses.
func (pr Profile) maxCheckpoints() int {
	t := pr.Checkpoints
	for _, n := range pr.TaskCheckpoints {
		t = max(t, n)
	}
	return t
}
