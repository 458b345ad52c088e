package reproduce

import (
	"slices"
	"strings"
	"testing"

	"github.com/subtune/subtune/report"
)

// plantScores adds runs of method on every task, seed i scoring
// base + step[i] (score units, wrapping around step). Scores equal on
// every seed would be no signal: the claims' helpers below add jit.
func plantScores(res *report.Results, tasks []string, seeds []int, method, metric string, base float64, step ...float64) {
	for _, task := range tasks {
		for i, s := range seeds {
			r := plantedRun(task, method, s, base)
			if len(step) > 0 {
				r.Score += step[i%len(step)]
			}
			r.Metric = metric
			res.Runs = append(res.Runs, r)
		}
	}
}

// TestAnalysisClaims: transfer beats random, unified ≈ full, zero-shot
// beats random, outliers matter, each decided from planted per-seed
// scores: a clear difference holds, one seed or a straddling interval is
// not resolved, a task without signal is left out.
func TestAnalysisClaims(t *testing.T) {
	tasks := []string{"sst2", "mrpc"}
	three := []int{1, 2, 3}
	jit := []float64{0.01, 0.03, 0.02}
	// with adds step to jit: the other side's scores.
	with := func(step []float64) []float64 {
		out := slices.Clone(jit)
		for i := range step {
			out[i] += step[i]
		}
		return out
	}
	transfer := func(seeds []int, over float64, step ...float64) *report.Results {
		res := &report.Results{}
		plantScores(res, tasks, seeds, report.Random, "accuracy", 0.6, jit...)
		for _, b := range tasks {
			for _, a := range tasks {
				if a != b {
					plantScores(res, []string{b}, seeds, report.Transfer(a), "accuracy", 0.6+over, with(step)...)
				}
			}
		}
		// B's own subspace is not a transfer: planted low, it must not count.
		plantScores(res, []string{"sst2"}, seeds, report.Transfer("sst2"), "accuracy", 0, jit...)
		return res
	}
	unified := func(seeds []int, gap float64, step ...float64) *report.Results {
		res := &report.Results{}
		plantScores(res, tasks, seeds, report.Full, "accuracy", 0.8, jit...)
		plantScores(res, tasks, seeds, report.Unified, "accuracy", 0.8-gap, with(step)...)
		return res
	}
	ablation := func(seeds []int, cost float64, step ...float64) *report.Results {
		res := &report.Results{}
		plantScores(res, tasks, seeds, report.DisableRandom, "accuracy", 0.8, jit...)
		plantScores(res, tasks, seeds, report.DisableOutliers, "accuracy", 0.8-cost, with(step)...)
		return res
	}
	for _, tc := range []struct {
		name   string
		claim  report.Claim
		want   report.Verdict
		pairs  int
		prefix string // the sentence's start
		more   string // and something it says
	}{
		{"transfer beats random", transferClaim(transfer(three, 0.05, 0.001, 0.002, 0.003), tasks), report.Holds, 2,
			"Transferred > Random holds: Transferred − Random = +5.2 points", "over 3 seeds"},
		{"transfer, one seed", transferClaim(transfer([]int{1}, 0.05), tasks), report.NotResolved, 2,
			"Transferred > Random is not resolved: one seed only (seed 1), a difference of +5.0 points", "Averaged over SST-2, MRPC."},
		{"transfer straddles", transferClaim(transfer(three, 0, -0.03, 0.01, 0.05), tasks), report.NotResolved, 2,
			"Transferred > Random is not resolved", "which straddles 0"},
		{"transfer loses", transferClaim(transfer(three, -0.1, 0.001, 0, 0.002), tasks), report.Fails, 2,
			"Transferred > Random does not hold", ""},
		{"unified ≈ full", unifiedClaims(unified(three, 0.001, 0.002, -0.003, 0.001), tasks)[0], report.Holds, 2,
			"Unified ≈ Full holds", "within ±2.0 (the margin)"},
		{"unified far below full", unifiedClaims(unified(three, 0.1, 0.01, 0, -0.01), tasks)[0], report.Fails, 2,
			"Unified ≈ Full does not hold: Unified − Full = −10.0 points", "wholly outside ±2.0"},
		{"unified, no zero-shot runs", unifiedClaims(unified(three, 0), tasks)[1], report.NotChecked, 2,
			"Zero-shot > Random (d=2) is not checked", ""},
		{"outliers matter", outlierClaim(ablation(three, 0.3), tasks), report.Holds, 2,
			"Random positions disabled > Outliers disabled holds", ""},
		{"outliers cost nothing", outlierClaim(ablation(three, 0, 0.03, -0.01, -0.02), tasks), report.NotResolved, 2,
			"Random positions disabled > Outliers disabled is not resolved", "straddles 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.claim
			s := c.String()
			if c.Verdict != tc.want || len(c.Pairs) != tc.pairs {
				t.Errorf("verdict %v over %d pairs, want %v over %d: %s", c.Verdict, len(c.Pairs), tc.want, tc.pairs, s)
			}
			if !strings.HasPrefix(s, tc.prefix) || !strings.Contains(s, tc.more) {
				t.Errorf("sentence %q, want it to start %q and say %q", s, tc.prefix, tc.more)
			}
		})
	}
}

// TestOutlierClaimNoSignal: a task where disabling the outliers leaves a
// constant prediction (MCC 0 on every seed) is left out of the claim, and
// the sentence says so.
func TestOutlierClaimNoSignal(t *testing.T) {
	res := &report.Results{}
	seeds := []int{1, 2, 3}
	plantScores(res, []string{"sst2"}, seeds, report.DisableRandom, "accuracy", 0.8, 0.01, 0.02, 0.03)
	plantScores(res, []string{"sst2"}, seeds, report.DisableOutliers, "accuracy", 0.5, 0.02, 0.01, 0.03)
	plantScores(res, []string{"cola"}, seeds, report.DisableRandom, "matthews_correlation", 0.3, 0.01, 0.02, 0.03)
	plantScores(res, []string{"cola"}, seeds, report.DisableOutliers, "matthews_correlation", 0)
	c := outlierClaim(res, []string{"sst2", "cola"})
	if c.Verdict != report.Holds || len(c.Pairs) != 1 || c.Pairs[0].Task != "sst2" {
		t.Errorf("verdict %v over %v, want holds over SST-2 alone", c.Verdict, c.Pairs)
	}
	if s := c.String(); !strings.Contains(s, "Left out as no signal (a constant prediction): CoLA (disable_outliers).") {
		t.Errorf("sentence %q does not name the task left out", s)
	}
}
