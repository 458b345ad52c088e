package report_test

import (
	"fmt"

	"github.com/subtune/subtune/report"
)

func ExampleTable1() {
	run := func(method string, seed int, score float64, trainable int) report.Run {
		return report.Run{
			Task: "sst2", Method: method, Seed: seed, Metric: "accuracy", Score: score,
			Dir: fmt.Sprintf("runs/sst2/%s/%d", method, seed), Trainable: trainable, Total: 4_386_178,
		}
	}
	r := report.Results{
		Tasks: []string{"sst2"},
		Seeds: []int{1, 2},
		Runs: []report.Run{
			run(report.Full, 1, 0.90, 4_386_178), run(report.Full, 2, 0.92, 4_386_178),
			run(report.Intrinsic, 1, 0.89, 546), run(report.Intrinsic, 2, 0.90, 546),
			run(report.Random, 1, 0.80, 546), run(report.Random, 2, 0.84, 546),
			run(report.Freeze, 1, 0.78, 514), run(report.Freeze, 2, 0.80, 514),
		},
	}
	fmt.Print(report.Table1(r))
	fmt.Println()
	fmt.Print(report.CheckOrdering(r))
	// Output:
	// Dev-set scores ×100, mean ± sample std over 2 seeds (1, 2); avg is the mean over tasks of the per-task means. Metrics: SST-2 accuracy.
	//
	// | Method    | SST-2 (Acc) | avg  | Trainable params |
	// |-----------|-------------|------|------------------|
	// | Full      | 91.0 ± 1.4  | 91.0 | 4.39M            |
	// | Freeze    | 79.0 ± 1.4  | 79.0 | 514              |
	// | Random    | 82.0 ± 2.8  | 82.0 | 546              |
	// | Intrinsic | 89.5 ± 0.7  | 89.5 | 546              |
	//
	// The paper's ordering Full ≈ Intrinsic > Random ≥ Freeze, decided from the seeds: of 3 relations, holds: 0; does not hold: 0; not resolved: 3; not checked: 0.
	//
	// - Full ≈ Intrinsic is not resolved: Full − Intrinsic = +1.5 points, 95% interval [−4.9, +7.9] over 2 seeds, not wholly within ±2.0 (the margin). Averaged over SST-2.
	// - Intrinsic > Random is not resolved: Intrinsic − Random = +7.5 points, 95% interval [−11.6, +26.6] over 2 seeds, which straddles 0. Averaged over SST-2.
	// - Random ≥ Freeze is not resolved: Random − Freeze = +3.0 points, 95% interval [−9.7, +15.7] over 2 seeds, which straddles −2.0 (the margin). Averaged over SST-2.
	//
	// How a claim is decided: for each seed, the difference of the two methods' scores (×100), averaged over the tasks; the 95% interval of the mean of those per-seed differences by Student's t with n − 1 degrees of freedom (paired by seed). ">" holds when the interval lies above 0; "≈" when it lies wholly within ±2.0 points (the equivalence margin); "≥" when it lies above −2.0 points; the opposite end decides "does not hold"; an interval that straddles, or a single seed, leaves the claim not resolved. A task where a method scores the same for every seed, or a correlation of 0 (a constant prediction), is no signal and is left out of that claim's average.
}

func ExampleMarkdownTable() {
	fmt.Print(report.MarkdownTable(
		[]string{"subspace from", "SST-2", "MRPC"},
		[][]string{{"SST-2", "89.5", "70.1"}, {"MRPC", "85.2", "71.0"}},
	))
	// Output:
	// | subspace from | SST-2 | MRPC |
	// |---------------|-------|------|
	// | SST-2         | 89.5  | 70.1 |
	// | MRPC          | 85.2  | 71.0 |
}
