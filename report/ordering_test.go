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
	type want struct {
		holds   [3]bool // Full ≈ Intrinsic, Intrinsic > Random, Random ≥ Freeze
		checked [3]bool
		all     bool
		text    []string // substrings of String()
		not     []string
	}
	yes := [3]bool{true, true, true}
	for _, tc := range []struct {
		name string
		r    Results
		want want
	}{
		{
			name: "holds",
			r: fromCells(cell{"sst2", Full, 80, 1}, cell{"sst2", Intrinsic, 79, 1},
				cell{"sst2", Random, 60, 1}, cell{"sst2", Freeze, 55, 1}),
			want: want{holds: yes, checked: yes, all: true, text: []string{
				"On the average over 1 task (SST-2), the paper's ordering Full ≈ Intrinsic > Random ≥ Freeze holds.",
				"- Full ≈ Intrinsic holds: Full 80.0 is 1.0 points above Intrinsic 79.0, within 2 points.",
				"- Intrinsic > Random holds: Intrinsic 79.0 is 19.0 points above Random 60.0.",
				"- Random ≥ Freeze holds: Random 60.0 is 5.0 points above Freeze 55.0.",
			}, not: []string{"does not hold"}},
		},
		{
			name: "intrinsic far below full",
			r: fromCells(cell{"sst2", Full, 80, 1}, cell{"sst2", Intrinsic, 70, 1},
				cell{"sst2", Random, 60, 1}, cell{"sst2", Freeze, 55, 1}),
			want: want{holds: [3]bool{false, true, true}, checked: yes, text: []string{
				"does not hold: 1 of 3 relations fail.",
				"- Full ≈ Intrinsic does not hold: Full 80.0 is 10.0 points above Intrinsic 70.0, more than 2 points and more than 1 std (1.0).",
			}},
		},
		{
			name: "≈ through the std",
			r: fromCells(cell{"sst2", Full, 80, 4}, cell{"sst2", Intrinsic, 77, 1},
				cell{"sst2", Random, 60, 1}, cell{"sst2", Freeze, 55, 1}),
			want: want{holds: yes, checked: yes, all: true, text: []string{
				"- Full ≈ Intrinsic holds: Full 80.0 is 3.0 points above Intrinsic 77.0, within 1 std (4.0).",
			}},
		},
		{
			name: "intrinsic above full is ≈ too",
			r: fromCells(cell{"sst2", Full, 80, 1}, cell{"sst2", Intrinsic, 81.5, 1},
				cell{"sst2", Random, 60, 1}, cell{"sst2", Freeze, 55, 1}),
			want: want{holds: yes, checked: yes, all: true, text: []string{"Full 80.0 is 1.5 points below Intrinsic 81.5, within 2 points."}},
		},
		{
			name: "2.0 apart is ≈, 2.1 is not",
			r: fromCells(cell{"sst2", Full, 77.0, 0.5}, cell{"sst2", Intrinsic, 75.0, 0.5},
				cell{"cola", Full, 77.2, 0.5}, cell{"cola", Intrinsic, 75.0, 0.5}),
			// averages: Full 77.1, Intrinsic 75.0: 2.1 apart, std √(0.25+0.25)/2 ≈ 0.35
			want: want{holds: [3]bool{false, false, false}, checked: [3]bool{true, false, false}, text: []string{
				"Full 77.1 is 2.1 points above Intrinsic 75.0, more than 2 points and more than 1 std (0.4).",
				"- Intrinsic > Random is not checked: Intrinsic or Random has no score on the common tasks.",
			}},
		},
		{
			name: "random above intrinsic, random below freeze within noise",
			r: fromCells(cell{"sst2", Full, 80, 1}, cell{"sst2", Intrinsic, 50, 1},
				cell{"sst2", Random, 60, 1}, cell{"sst2", Freeze, 60.5, 1}),
			want: want{holds: [3]bool{false, false, false}, checked: yes, text: []string{
				"does not hold: 3 of 3 relations fail.",
				"- Intrinsic > Random does not hold: Intrinsic 50.0 is 10.0 points below Random 60.0.",
				"- Random ≥ Freeze does not hold: Random 60.0 is 0.5 points below Freeze 60.5, though within 2 points.",
			}},
		},
		{
			name: "intrinsic only narrowly above random, random level with freeze",
			r: fromCells(cell{"sst2", Full, 80, 1}, cell{"sst2", Intrinsic, 79, 1},
				cell{"sst2", Random, 78.5, 1}, cell{"sst2", Freeze, 78.5, 1}),
			want: want{holds: yes, checked: yes, all: true, text: []string{
				"- Intrinsic > Random holds only narrowly: Intrinsic 79.0 is 0.5 points above Random 78.5, within 2 points, so the gap is not clear.",
				"- Random ≥ Freeze holds: Random and Freeze are level at 78.5.",
			}},
		},
		{
			name: "no random runs",
			r: fromCells(cell{"sst2", Full, 80, 1}, cell{"sst2", Intrinsic, 79, 1},
				cell{"sst2", Freeze, 55, 1}),
			want: want{holds: [3]bool{true, false, false}, checked: [3]bool{true, false, false}, text: []string{
				"can only be partly checked: 2 of 3 relations cannot be tested, the others hold.",
				"Random ≥ Freeze is not checked",
			}},
		},
		{
			name: "averages over the tasks every method has",
			r: fromCells(cell{"sst2", Full, 80, 1}, cell{"sst2", Intrinsic, 79, 1},
				cell{"sst2", Random, 60, 1}, cell{"sst2", Freeze, 55, 1},
				cell{"cola", Full, 10, 1}, cell{"cola", Intrinsic, 50, 1}, cell{"cola", Random, 40, 1}),
			want: want{holds: yes, checked: yes, all: true, text: []string{
				"On the average over 1 task (SST-2; left out, as some method has no score there: CoLA), the paper's ordering Full ≈ Intrinsic > Random ≥ Freeze holds.",
				"Full 80.0 is 1.0 points above Intrinsic 79.0",
			}},
		},
		{
			name: "one seed: std unknown",
			r: Results{Seeds: []int{1}, Runs: append(append(append(
				runs("sst2", Full, 10, .80), runs("sst2", Intrinsic, 10, .70)...),
				runs("sst2", Random, 10, .60)...), runs("sst2", Freeze, 10, .50)...)},
			want: want{holds: [3]bool{false, true, true}, checked: yes, text: []string{
				"Full 80.0 is 10.0 points above Intrinsic 70.0, more than 2 points (std unknown: fewer than 2 seeds).",
			}},
		},
		{
			name: "no runs",
			r:    Results{},
			want: want{text: []string{"The paper's ordering Full ≈ Intrinsic > Random ≥ Freeze cannot be checked: there are no runs."}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := CheckOrdering(tc.r)
			s := o.String()
			if len(o.Relations) != 3 {
				t.Fatalf("%d relations", len(o.Relations))
			}
			for i, rel := range o.Relations {
				if rel.Holds != tc.want.holds[i] || rel.Checked != tc.want.checked[i] {
					t.Errorf("relation %d (%s %s %s): holds %v checked %v, want %v %v",
						i, rel.Left, rel.Op, rel.Right, rel.Holds, rel.Checked, tc.want.holds[i], tc.want.checked[i])
				}
			}
			if o.Holds() != tc.want.all {
				t.Errorf("Holds() = %v, want %v", o.Holds(), tc.want.all)
			}
			for _, x := range tc.want.text {
				if !strings.Contains(s, x) {
					t.Errorf("text lacks %q:\n%s", x, s)
				}
			}
			for _, x := range tc.want.not {
				if strings.Contains(s, x) {
					t.Errorf("text contains %q:\n%s", x, s)
				}
			}
		})
	}
}
