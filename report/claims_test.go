package report

import (
	"math"
	"strings"
	"testing"
)

func TestDecide(t *testing.T) {
	for _, tc := range []struct {
		name  string
		op    string
		diffs []float64
		want  Verdict
	}{
		{"no seed", ">", nil, NotChecked},
		{"one seed, however large", ">", []float64{30}, NotResolved},
		{"one seed, equal", "≈", []float64{0}, NotResolved},
		{"clear difference, 3 seeds", ">", []float64{5, 6, 7}, Holds},
		{"clear reverse difference", ">", []float64{-5, -6, -7}, Fails},
		{"straddles 0", ">", []float64{-3, 1, 5}, NotResolved},
		{"equivalent within the margin", "≈", []float64{0.5, -0.3, 0.1}, Holds},
		{"straddles the margin", "≈", []float64{0, 1.5, 3}, NotResolved},
		{"wholly outside the margin", "≈", []float64{9, 10, 11}, Fails},
		{"no worse than the margin", "≥", []float64{-0.5, 0, 0.5}, Holds},
		{"worse beyond the margin", "≥", []float64{-10, -9, -11}, Fails},
		{"≥ straddles the margin", "≥", []float64{-4, -1, 2}, NotResolved},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mean, lo, hi, v := Decide(tc.op, tc.diffs)
			if v != tc.want {
				t.Errorf("Decide(%s, %v) = %v [%g, %g], want %v", tc.op, tc.diffs, v, lo, hi, tc.want)
			}
			if len(tc.diffs) >= 2 && !(lo < mean && mean < hi) && lo != hi {
				t.Errorf("interval [%g, %g] does not hold the mean %g", lo, hi, mean)
			}
		})
	}
}

// TestDecideInterval checks the interval against a hand computation:
// diffs 1, 2, 3 have mean 2, s = 1, t(0.975, 2) = 4.302653.
func TestDecideInterval(t *testing.T) {
	_, lo, hi, _ := Decide(">", []float64{1, 2, 3})
	half := 4.302653 / math.Sqrt(3)
	if math.Abs(lo-(2-half)) > 1e-5 || math.Abs(hi-(2+half)) > 1e-5 {
		t.Errorf("interval [%g, %g], want [%g, %g]", lo, hi, 2-half, 2+half)
	}
}

func claimRuns() Results {
	var r Results
	add := func(task, metric, method string, scores ...float64) {
		for i, s := range scores {
			r.Runs = append(r.Runs, Run{Task: task, Method: method, Seed: 42 + i, Metric: metric, Score: s})
		}
	}
	add("sst2", "accuracy", Intrinsic, 0.80, 0.81, 0.82)
	add("sst2", "accuracy", Random, 0.70, 0.72, 0.71)
	add("cola", "matthews_correlation", Intrinsic, 0.20, 0.25, 0.22)
	add("cola", "matthews_correlation", Random, 0, 0, 0)
	add("mrpc", "f1", Intrinsic, 0.81, 0.80, 0.82)
	add("mrpc", "f1", Random, 0.8122, 0.8122, 0.8122)
	return r
}

func TestCheckClaim(t *testing.T) {
	r := claimRuns()
	for _, tc := range []struct {
		name     string
		tasks    []string
		seeds    int // keep the first seeds only
		want     Verdict
		noSignal int
	}{
		{"clear with three seeds", []string{"sst2"}, 3, Holds, 0},
		{"one seed", []string{"sst2"}, 1, NotResolved, 0},
		{"no-signal tasks left out", []string{"sst2", "cola", "mrpc"}, 3, Holds, 2},
		{"only no-signal tasks", []string{"cola"}, 3, NotChecked, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rr := r
			rr.Runs = nil
			for _, run := range r.Runs {
				if run.Seed < 42+tc.seeds {
					rr.Runs = append(rr.Runs, run)
				}
			}
			c := CheckClaim(rr, "Intrinsic", ">", "Random", SameTaskPairs(tc.tasks, Intrinsic, Random))
			if c.Verdict != tc.want || len(c.NoSignal) != tc.noSignal {
				t.Errorf("verdict %v, no signal %v; want %v and %d tasks\n%s", c.Verdict, c.NoSignal, tc.want, tc.noSignal, c)
			}
			if len(c.Pairs) > 0 && c.Verdict != NotChecked && math.Abs(c.Mean-10) > 0.01 {
				t.Errorf("mean difference %g, want 10 (SST-2 alone)", c.Mean)
			}
			s := c.String()
			if !strings.Contains(s, c.Verdict.String()) {
				t.Errorf("sentence %q does not say %q", s, c.Verdict)
			}
			if tc.noSignal > 0 && !strings.Contains(s, "no signal") {
				t.Errorf("sentence %q does not name the no-signal tasks", s)
			}
		})
	}
}
