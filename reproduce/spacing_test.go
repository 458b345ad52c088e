package reproduce

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/subtune/subtune/report"
)

// TestVariantSelection: which checkpoints a variant extracts from: all of
// them, the first t, or t evenly spaced ending at the last.
func TestVariantSelection(t *testing.T) {
	for _, tc := range []struct {
		v    variant
		n    int
		want []int
	}{
		{variant{}, 6, nil},
		{variant{checkpoints: 6}, 6, nil},
		{variant{checkpoints: 9, first: true}, 6, nil}, // all of them either way
		{variant{checkpoints: 2}, 6, []int{2, 5}},
		{variant{checkpoints: 2, first: true}, 6, []int{0, 1}},
		{variant{checkpoints: 4}, 32, []int{7, 15, 23, 31}},
		{variant{checkpoints: 4, first: true}, 32, []int{0, 1, 2, 3}},
		{variant{checkpoints: 1}, 5, []int{4}},
		{variant{checkpoints: 1, first: true}, 5, []int{0}},
		{variant{checkpoints: 3, epoch: true}, 3, nil}, // the whole per-epoch trajectory
		{variant{checkpoints: 2, first: true, epoch: true}, 3, []int{0, 1}},
	} {
		if got := tc.v.selection(tc.n); !slices.Equal(got, tc.want) {
			t.Errorf("%+v of %d: %v, want %v", tc.v, tc.n, got, tc.want)
		}
	}
}

// TestEpochCheckpoints: a per-epoch trajectory has ⌈epochs⌉ checkpoints
// whatever the steps per epoch u, since the trainer runs ⌈epochs·u⌉ steps
// and records after every u-th and the last.
func TestEpochCheckpoints(t *testing.T) {
	for _, epochs := range []float64{0.3, 1, 2, 2.5, 3, 7.9, 32} {
		want := Profile{Epochs: epochs}.epochCheckpoints()
		for u := 1; u <= 50; u++ {
			steps := int(math.Ceil(epochs * float64(u)))
			recorded := 0
			for s := 1; s <= steps; s++ {
				if s%u == 0 || s == steps {
					recorded++
				}
			}
			if recorded != want {
				t.Errorf("%g epochs of %d steps: %d checkpoints recorded, epochCheckpoints says %d", epochs, u, recorded, want)
			}
		}
	}
}

// TestComparisons: per epoch against as many evenly spaced step
// checkpoints unless Table 1's run records per epoch, then first t against
// t evenly spaced for every t of the sweep, with Table 1's rows and d.
func TestComparisons(t *testing.T) {
	p := Profile{Epochs: 3, Checkpoints: 32, Dim: 8, Rows: "delta"}
	cs := comparisons(Options{Profile: p, Lengths: []int{4, 16}})
	var labels []string
	for _, c := range cs {
		labels = append(labels, c.label+" | "+c.alt.label+" | "+c.ref.label)
	}
	want := []string{
		"t=3: per N steps − per epoch | per epoch, t=3 | per N steps, 3 evenly spaced",
		"t=4: evenly spaced − first | first 4 | 4 evenly spaced",
		"t=16: evenly spaced − first | first 16 | 16 evenly spaced",
	}
	if !slices.Equal(labels, want) {
		t.Fatalf("comparisons\n%s\nwant\n%s", strings.Join(labels, "\n"), strings.Join(want, "\n"))
	}
	for i, v := range []struct{ alt, ref variant }{
		{variant{rows: "delta", dim: 8, epoch: true}, variant{rows: "delta", dim: 8, checkpoints: 3}},
		{variant{rows: "delta", dim: 8, checkpoints: 4, first: true}, variant{rows: "delta", dim: 8, checkpoints: 4}},
		{variant{rows: "delta", dim: 8, checkpoints: 16, first: true}, variant{rows: "delta", dim: 8, checkpoints: 16}},
	} {
		if cs[i].alt.v != v.alt || cs[i].ref.v != v.ref {
			t.Errorf("%s: %+v against %+v, want %+v against %+v", cs[i].label, cs[i].alt.v, cs[i].ref.v, v.alt, v.ref)
		}
	}

	p.Epochs = 32 // one checkpoint per epoch already: no per-epoch run
	if cs := comparisons(Options{Profile: p, Lengths: []int{4}}); len(cs) != 1 || cs[0].alt.label != "first 4" {
		t.Errorf("a per-epoch profile: %+v", cs)
	}
}

// TestSpacingTables plants scores whose differences are known: the
// differences are paired seed by seed, a comparison whose sides are one
// run for every task is left out, and one that is for some task only is
// kept.
func TestSpacingTables(t *testing.T) {
	tasks, seeds := []string{"cola", "sst2"}, []int{1, 2}
	o := Options{Tasks: tasks, Profile: Profile{Epochs: 2, Checkpoints: 6, Rows: "delta", Seeds: seeds}, Lengths: []int{2, 6, 8}}
	cs := comparisons(o)
	// The trajectory of cola has 6 checkpoints, that of sst2 8: t = 6
	// covers only cola's, t = 8 both.
	length := map[string]int{"cola": 6, "sst2": 8}
	run := func(task string, s spacingSide) cellRun {
		n := length[task]
		if s.v.epoch {
			n = 2
		}
		if suffix := s.v.suffix(o.mainVariant(), n); suffix != "" {
			return cellRun{method: report.Intrinsic + "_" + suffix, note: s.label}
		}
		return cellRun{method: report.Intrinsic, note: "Table 1's run"}
	}
	// score = base − loss·seed for each run, in score units.
	base := map[string]float64{"cola": 0.5, "sst2": 0.8}
	loss := map[string]float64{report.Intrinsic: 0, "intrinsic_t2": 0, "intrinsic_epoch": 0.01, "intrinsic_first2": 0.03, "intrinsic_first6": 0.02, "intrinsic_t6": 0}
	var runs []report.Run
	for _, task := range tasks {
		for _, s := range seeds {
			for m, l := range loss {
				// 0.001·seed, in every method, keeps a run with no loss
				// from scoring the same on every seed (no signal); paired
				// differences cancel it.
				runs = append(runs, plantedRun(task, m, s, base[task]+(0.001-l)*float64(s)))
			}
		}
	}
	scores, diff := spacingTables(o, indexRuns(runs), cs, run)
	wantRows := []string{"t=2: per N steps − per epoch", "t=2: evenly spaced − first", "t=6: evenly spaced − first"}
	if !slices.Equal(diff.Rows, wantRows) || len(scores.Rows) != 2*len(wantRows) {
		t.Fatalf("differences %q, scores %q", diff.Rows, scores.Rows)
	}
	if !slices.Equal(scores.Rows[4:], []string{"first 6", "6 evenly spaced"}) {
		t.Errorf("scores rows %q", scores.Rows)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 || (math.IsNaN(a) && math.IsNaN(b)) }
	// Mean over seeds 1 and 2 of 100·loss·seed: 150·loss, std 100·loss/√2.
	for i, tc := range []struct {
		alt  string
		want [2]float64 // cola, sst2
	}{
		{"intrinsic_epoch", [2]float64{1.5, 1.5}},
		{"intrinsic_first2", [2]float64{4.5, 4.5}},
		{"intrinsic_first6", [2]float64{0, 3}}, // cola: both sides Table 1's
	} {
		for j, task := range tasks {
			c := diff.Cells[i][j]
			wantStd := 100 * loss[tc.alt] / math.Sqrt2
			if task == "cola" && i == 2 {
				wantStd = 0
			}
			if c.N != 2 || !near(c.Mean, tc.want[j]) || !near(c.Std, wantStd) || len(c.Runs) != 4 {
				t.Errorf("%s on %s: %+v, want %v ± %v from 4 runs", diff.Rows[i], task, c, tc.want[j], wantStd)
			}
		}
		if avg := diff.Cells[i][2]; !near(avg.Mean, (tc.want[0]+tc.want[1])/2) {
			t.Errorf("%s avg %v", diff.Rows[i], avg.Mean)
		}
	}
	if c := scores.Cells[5][0]; c.Note != "Table 1's run" || !strings.HasSuffix(c.Runs[0], "/intrinsic") {
		t.Errorf("6 evenly spaced on cola (of 6): %+v, want Table 1's run", c)
	}
	if c := scores.Cells[4][1]; !strings.HasSuffix(c.Runs[0], "/intrinsic_first6") {
		t.Errorf("first 6 on sst2 (of 8) traced to %v", c.Runs)
	}
	// Each comparison is decided from the seeds over the tasks where its
	// sides differ: t = 6 on sst2 alone.
	claims := spacingClaims(&report.Results{Runs: runs}, tasks, cs, run)
	if len(claims) != 3 {
		t.Fatalf("%d claims, want one per comparison", len(claims))
	}
	for i, want := range []struct {
		sentence string
		pairs    int
		mean     float64
	}{
		{"2 evenly spaced ≈ first 2 is not resolved: 2 evenly spaced − first 2 = +4.5 points", 2, 4.5},
		{"6 evenly spaced ≈ first 6 is not resolved: 6 evenly spaced − first 6 = +3.0 points", 1, 3},
	} {
		c := claims[i+1]
		if got := c.String(); !strings.HasPrefix(got, want.sentence) || len(c.Pairs) != want.pairs || !near(c.Mean, want.mean) || len(c.Seeds) != 2 {
			t.Errorf("claim %q over %d pairs and seeds %v, want %q over %d pairs and 2 seeds", got, len(c.Pairs), c.Seeds, want.sentence, want.pairs)
		}
	}
}
