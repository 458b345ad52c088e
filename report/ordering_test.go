package report

import (
	"strings"
	"testing"
)

// cell is a method's mean and std (points) on one task: three runs at
// mean−std, mean, mean+std, whose sample std is std.
type cell struct {
	task, method string
	mean, std    float64
}

func fromCells(cells ...cell) Results {
	r := Results{Seeds: []int{1, 2, 3}}
	for _, c := range cells {
		m, s := c.mean/100, c.std/100
		r.Runs = append(r.Runs, runs(c.task, c.method, 10, m-s, m, m+s)...)
	}
	return r
}

func TestCheckOrdering(t *testing.T) {
	H, N, F, C := Holds, NotResolved, Fails, NotChecked
	table1 := func(full, intr, rnd, frz cell) Results { return fromCells(full, intr, rnd, frz) }
	for _, tc := range []struct {
		name string
		r    Results
		want [3]Verdict // Full ≈ Intrinsic, Intrinsic > Random, Random ≥ Freeze
		text []string   // substrings of String()
	}{
		{"holds", table1(cell{"sst2", Full, 80, 1}, cell{"sst2", Intrinsic, 79, 1}, cell{"sst2", Random, 60, 1}, cell{"sst2", Freeze, 55, 1}),
			[3]Verdict{H, H, H}, []string{
				"of 3 relations, holds: 3;",
				"- Full ≈ Intrinsic holds: Full − Intrinsic = +1.0 points, 95% interval [+1.0, +1.0] over 3 seeds, within ±2.0 (the margin). Averaged over SST-2.",
				"- Intrinsic > Random holds: Intrinsic − Random = +19.0 points",
			}},
		{"intrinsic far below full", table1(cell{"sst2", Full, 80, 1}, cell{"sst2", Intrinsic, 70, 1}, cell{"sst2", Random, 60, 1}, cell{"sst2", Freeze, 55, 1}),
			[3]Verdict{F, H, H}, []string{"- Full ≈ Intrinsic does not hold: Full − Intrinsic = +10.0 points, 95% interval [+10.0, +10.0] over 3 seeds, wholly outside ±2.0 (the margin)."}},
		{"noisy seeds straddle", table1(cell{"sst2", Full, 80, 4}, cell{"sst2", Intrinsic, 79, 1}, cell{"sst2", Random, 78, 4}, cell{"sst2", Freeze, 77, 1}),
			[3]Verdict{N, N, N}, []string{"which straddles 0", "not wholly within ±2.0", "which straddles −2.0"}},
		{"one seed", Results{Runs: append(append(append(runs("sst2", Full, 10, .80), runs("sst2", Intrinsic, 10, .79)...),
			runs("sst2", Random, 10, .60)...), runs("sst2", Freeze, 10, .50)...)},
			[3]Verdict{N, N, N}, []string{"Intrinsic > Random is not resolved: one seed only (seed 1), a difference of +19.0 points"}},
		{"no random runs", fromCells(cell{"sst2", Full, 80, 1}, cell{"sst2", Intrinsic, 79, 1}, cell{"sst2", Freeze, 55, 1}),
			[3]Verdict{H, C, C}, []string{"Random ≥ Freeze is not checked: no task has scores for both."}},
		{"no-signal task left out", fromCells(cell{"sst2", Full, 80, 1}, cell{"sst2", Intrinsic, 79, 1}, cell{"sst2", Random, 60, 1}, cell{"sst2", Freeze, 55, 1},
			cell{"cola", Full, 30, 1}, cell{"cola", Intrinsic, 29, 1}, cell{"cola", Random, 0, 0}, cell{"cola", Freeze, 50, 1}),
			[3]Verdict{H, H, H}, []string{"Averaged over SST-2. Left out as no signal (a constant prediction): CoLA (Random).", "Averaged over SST-2, CoLA."}},
		{"no runs", Results{}, [3]Verdict{C, C, C}, []string{"of 3 relations, holds: 0;"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := CheckOrdering(tc.r)
			s := o.String()
			for i, c := range o.Claims {
				if c.Verdict != tc.want[i] {
					t.Errorf("%s %s %s: %v, want %v\n%s", c.Left, c.Op, c.Right, c.Verdict, tc.want[i], c)
				}
			}
			if o.Holds() != (tc.want == [3]Verdict{H, H, H}) {
				t.Errorf("Holds() = %v", o.Holds())
			}
			for _, x := range tc.text {
				if !strings.Contains(s, x) {
					t.Errorf("text lacks %q:\n%s", x, s)
				}
			}
		})
	}
}
