package report

import (
	"strings"

	"github.com/subtune/subtune/glue"
)

// Methods, as stored in [Run.Method]: the paper's Table 1 first, then the
// runs its analyses add. Sweeps name their variants after these, e.g.
// "intrinsic_d4".
const (
	Full      = "full"      // full fine-tuning of all parameters
	Freeze    = "freeze"    // encoder frozen, classifier head trained
	Random    = "random"    // fine-tuning in a random subspace
	Intrinsic = "intrinsic" // fine-tuning in the subspace extracted from the trajectory

	// The unified-subspace analysis (paper Sec. 4.4, Table 2).
	Unified  = "unified"  // the subspace of every task's endpoint
	ZeroShot = "zeroshot" // the same without the target task's

	// The outlier ablation (paper Table 3): full fine-tuning with the
	// intrinsic run's outlier positions held at zero, and with as many
	// random positions.
	DisableOutliers = "disable_outliers"
	DisableRandom   = "disable_random"

	// FullEpoch is full fine-tuning that records its trajectory per epoch:
	// the trajectory analysis's spacing comparison.
	FullEpoch = "full_epoch"
)

const transferPrefix = "transfer:"

// Transfer is the method of fine-tuning in the intrinsic subspace of task
// from: "transfer:sst2".
func Transfer(from string) string { return transferPrefix + from }

var methodLabels = map[string]string{
	Full: "Full", Freeze: "Freeze", Random: "Random", Intrinsic: "Intrinsic",
	Unified: "Unified", ZeroShot: "Zero-shot",
}

// MethodLabel returns the display name of a method: "full" → "Full",
// "transfer:sst2" → "Transfer from SST-2"; unknown methods are returned
// as they are.
func MethodLabel(method string) string {
	if l, ok := methodLabels[method]; ok {
		return l
	}
	if from, ok := strings.CutPrefix(method, transferPrefix); ok {
		return "Transfer from " + glue.DisplayName(from)
	}
	return method
}
