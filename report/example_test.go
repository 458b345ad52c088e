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
	// On the average over 1 task (SST-2), the paper's ordering Full ≈ Intrinsic > Random ≥ Freeze holds.
	//
	// - Full ≈ Intrinsic holds: Full 91.0 is 1.5 points above Intrinsic 89.5, within 2 points.
	// - Intrinsic > Random holds: Intrinsic 89.5 is 7.5 points above Random 82.0.
	// - Random ≥ Freeze holds: Random 82.0 is 3.0 points above Freeze 79.0.
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
