package reproduce

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/subtune/subtune/report"
)

func TestParseAnalyses(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  string
	}{
		{"", nil, ""},
		{"none", nil, ""},
		{"all", AnalysisNames, ""},
		{"rows, transfer,Rows", []string{AnalysisTransfer, AnalysisRows}, ""},
		{"dims,all", AnalysisNames, ""},
		{"outlier", nil, `analysis "outlier"`},
	} {
		got, err := ParseAnalyses(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: %v, want an error with %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%q: %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// TestAnalysesNeedTasks: transfer and unified compare tasks and are
// refused with one, before anything runs.
func TestAnalysesNeedTasks(t *testing.T) {
	for _, a := range []string{AnalysisTransfer, AnalysisUnified} {
		if _, err := lookupAnalyses([]string{a}, 1); err == nil || !strings.Contains(err.Error(), "at least 2") {
			t.Errorf("%s with one task: %v", a, err)
		}
	}
	if _, err := lookupAnalyses(AnalysisNames, 2); err != nil {
		t.Error(err)
	}
	if _, err := lookupAnalyses([]string{AnalysisDims, AnalysisRows, AnalysisTrajectory, AnalysisOutliers}, 1); err != nil {
		t.Error(err)
	}
}

// plantedRun is a finished run with a known score.
func plantedRun(task, method string, seed int, score float64) report.Run {
	return report.Run{Task: task, Method: method, Seed: seed, Score: score, Dir: fmt.Sprintf("%s/seed%d/%s", task, seed, dirName(method))}
}

// TestTransferTables plants per-run scores whose transfer drops are known,
// and checks the two matrices, the seed-by-seed pairing of the drop, and
// the per-source average that leaves the diagonal out.
func TestTransferTables(t *testing.T) {
	tasks := []string{"cola", "sst2", "mrpc"}
	seeds := []int{1, 2}
	own := map[string]float64{"cola": 0.40, "sst2": 0.90, "mrpc": 0.80}
	// drop[A][B], in score units, before the seed's share.
	drop := map[string]map[string]float64{
		"cola": {"sst2": 0.02, "mrpc": 0.04},
		"sst2": {"cola": 0.10, "mrpc": 0.06},
		"mrpc": {"cola": 0.20, "sst2": 0.08},
	}
	var runs []report.Run
	for _, b := range tasks {
		for _, s := range seeds {
			o := own[b] + 0.01*float64(s)
			runs = append(runs, plantedRun(b, report.Intrinsic, s, o), plantedRun(b, report.Random, s, o-0.30))
			for a, d := range drop {
				if a != b {
					// The drop grows by 0.01 per seed: mean d + 0.015, std 0.01/√2.
					runs = append(runs, plantedRun(b, report.Transfer(a), s, o-d[b]-0.01*float64(s)))
				}
			}
		}
	}
	runs = append(runs, plantedRun("cola", report.Transfer("sst2"), 3, 0)) // a seed not asked for
	scores, drops := transferTables(indexRuns(runs), tasks, seeds)

	if !slices.Equal(scores.Rows, []string{"cola", "sst2", "mrpc", randomRow}) || !slices.Equal(scores.Cols, tasks) ||
		!slices.Equal(drops.Cols, append(slices.Clone(tasks), "avg")) {
		t.Fatalf("rows %v, cols %v / %v", scores.Rows, scores.Cols, drops.Cols)
	}
	near := func(got, want float64) bool { return math.Abs(got-want) < 1e-9 }
	for i, a := range tasks {
		for j, b := range tasks {
			sc, dc := scores.Cells[i][j], drops.Cells[i][j]
			wantScore := 100 * (own[b] + 0.015)
			wantDrop, wantStd := 0.0, 0.0
			if a != b {
				wantScore -= 100 * (drop[a][b] + 0.015)
				wantDrop, wantStd = 100*(drop[a][b]+0.015), 100*0.01/math.Sqrt2
			} else if sc.Note != "own" {
				t.Errorf("[%s, %s] note %q, want own", a, b, sc.Note)
			}
			if sc.N != 2 || !near(sc.Mean, wantScore) {
				t.Errorf("score [%s, %s] = %v (n=%d), want %v", a, b, sc.Mean, sc.N, wantScore)
			}
			if dc.N != 2 || !near(dc.Mean, wantDrop) || !near(dc.Std, wantStd) {
				t.Errorf("drop [%s, %s] = %v ± %v, want %v ± %v", a, b, dc.Mean, dc.Std, wantDrop, wantStd)
			}
			if len(dc.Runs) != 4 {
				t.Errorf("drop [%s, %s] traced to %v, want 4 runs (own and transferred, two seeds)", a, b, dc.Runs)
			}
		}
		wantAvg := 0.0
		for _, d := range drop[a] {
			wantAvg += 100 * (d + 0.015) / 2
		}
		if avg := drops.Cells[i][len(tasks)]; avg.N != 2 || !near(avg.Mean, wantAvg) {
			t.Errorf("avg drop of %s's subspace = %v over %d tasks, want %v over 2", a, avg.Mean, avg.N, wantAvg)
		}
	}
	for j, b := range tasks {
		if c := scores.Cells[3][j]; !near(c.Mean, 100*(own[b]+0.015-0.30)) {
			t.Errorf("random on %s: %v", b, c.Mean)
		}
		if c := drops.Cells[3][j]; !near(c.Mean, 30) || !near(c.Std, 0) {
			t.Errorf("random drop on %s: %v ± %v, want 30 ± 0", b, c.Mean, c.Std)
		}
	}
	if c := scores.Cells[1][0]; !slices.Equal(c.Runs, []string{"cola/seed1/transfer_from_sst2", "cola/seed2/transfer_from_sst2"}) {
		t.Errorf("sst2 → cola traced to %v", c.Runs)
	}
}

// TestTransferTablesMissingRuns: a missing run leaves its cell empty (and
// its drop unpaired) rather than failing.
func TestTransferTablesMissingRuns(t *testing.T) {
	runs := []report.Run{
		plantedRun("a", report.Intrinsic, 1, 0.5), plantedRun("b", report.Intrinsic, 1, 0.6),
		plantedRun("a", report.Transfer("b"), 1, 0.4),
	}
	scores, drops := transferTables(indexRuns(runs), []string{"a", "b"}, []int{1})
	if c := scores.Cells[0][1]; c.N != 0 || !math.IsNaN(c.Mean) {
		t.Errorf("a → b has no run, cell %+v", c)
	}
	if c := drops.Cells[1][0]; c.N != 1 || math.Abs(c.Mean-10) > 1e-9 {
		t.Errorf("b → a drop %+v, want 10", c)
	}
	if md := scores.Markdown("x"); !strings.Contains(md, "—") {
		t.Errorf("an empty cell is not shown as —:\n%s", md)
	}
}

// TestUnifiedSources: the unified subspace takes every task's endpoint;
// the zero-shot one for a target all but the target's.
func TestUnifiedSources(t *testing.T) {
	tasks := []string{"cola", "sst2", "mrpc", "rte"}
	for _, tc := range []struct {
		target string
		want   []string
	}{
		{"", tasks},
		{"cola", []string{"sst2", "mrpc", "rte"}},
		{"mrpc", []string{"cola", "sst2", "rte"}},
		{"rte", []string{"cola", "sst2", "mrpc"}},
		{"qqp", tasks},
	} {
		if got := unifiedSources(tasks, tc.target); !slices.Equal(got, tc.want) {
			t.Errorf("target %q: %v, want %v", tc.target, got, tc.want)
		}
	}
	r := &reproduction{o: Options{OutputDir: "out"}}
	if a, b := r.unifiedPath(42, ""), r.unifiedPath(42, "rte"); a != filepath.Join("out", "unified", "seed42", "unified.safetensors") ||
		b != filepath.Join("out", "unified", "seed42", "zeroshot_rte.safetensors") {
		t.Errorf("paths %s, %s", a, b)
	}
}

// TestUnifiedTable: Table 2's rows from planted runs, with the dimensions
// in the labels.
func TestUnifiedTable(t *testing.T) {
	tasks := []string{"cola", "sst2", "mrpc"}
	var runs []report.Run
	for j, task := range tasks {
		for _, m := range []string{report.Unified, report.ZeroShot, unifiedRandom(3), report.Full} {
			runs = append(runs, plantedRun(task, m, 7, 0.1*float64(j+1)+map[string]float64{report.Unified: 0.3, report.ZeroShot: 0.2, report.Full: 0.4}[m]))
		}
	}
	tab := unifiedTable(indexRuns(runs), tasks, []int{7})
	if !slices.Equal(tab.Rows, []string{"Unified (d=3)", "Zero-shot (d=2)", "Random (d=3)", "Full"}) {
		t.Fatalf("rows %v", tab.Rows)
	}
	for i, want := range []float64{50, 40, 20, 60} { // the average over tasks of 100·(0.1(j+1) + offset)
		if c := tab.Cells[i][3]; math.Abs(c.Mean-want) > 1e-9 || c.N != 3 || len(c.Runs) != 3 {
			t.Errorf("%s avg %v over %d, want %v", tab.Rows[i], c.Mean, c.N, want)
		}
	}
}

// TestVariantSuffix: sweep values name their runs by what differs from
// Table 1's subspace, and values that equal it (after capping at t) reuse
// Table 1's run.
func TestVariantSuffix(t *testing.T) {
	main := variant{rows: "delta", dim: 32}
	for _, tc := range []struct {
		v    variant
		t    int
		want string
	}{
		{variant{rows: "delta", dim: 32}, 32, ""},
		{variant{rows: "delta", dim: 8}, 32, "d8"},
		{variant{rows: "delta", dim: 64}, 32, ""}, // capped at t = 32: Table 1's
		{variant{rows: "delta", dim: 16}, 10, ""}, // both capped at 10
		{variant{rows: "delta", dim: 8}, 10, "d8"},
		{variant{rows: "delta", dim: 0}, 32, ""},
		{variant{rows: "raw", dim: 32}, 32, "raw"},
		{variant{rows: "centered", dim: 8}, 32, "centered_d8"},
		{variant{rows: "delta", dim: 32, checkpoints: 4}, 32, "t4"}, // d follows t
		{variant{rows: "delta", dim: 32, checkpoints: 32}, 32, ""},
		{variant{rows: "delta", dim: 32, checkpoints: 64}, 25, ""},
		{variant{rows: "delta", dim: 2, checkpoints: 4}, 32, "t4_d2"},
		{variant{rows: "delta", dim: 32, checkpoints: 4, first: true}, 32, "first4"},
		{variant{rows: "delta", dim: 2, checkpoints: 4, first: true}, 32, "first4_d2"},
		{variant{rows: "delta", dim: 32, checkpoints: 40, first: true}, 32, ""}, // all of them: Table 1's
		{variant{rows: "delta", dim: 32, epoch: true}, 3, "epoch"},              // d follows the 3 epochs
		{variant{rows: "raw", dim: 2, epoch: true}, 3, "epoch_raw_d2"},
	} {
		if got := tc.v.suffix(main, tc.t); got != tc.want {
			t.Errorf("%+v on t=%d: %q, want %q", tc.v, tc.t, got, tc.want)
		}
	}
	// d = 0 in the profile keeps every direction: d = t is Table 1's.
	if got := (variant{rows: "delta", dim: 6}).suffix(variant{rows: "delta"}, 6); got != "" {
		t.Errorf("d=6 of t=6 with the profile keeping all: %q", got)
	}
}
