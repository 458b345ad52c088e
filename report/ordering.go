package report

import (
	"fmt"
	"strings"
)

// Ordering is the paper's ordering Full ≈ Intrinsic > Random ≥ Freeze,
// each relation a Claim decided from the seeds.
type Ordering struct {
	Tasks  []string // Table 1's columns
	Claims []Claim  // Full ≈ Intrinsic, Intrinsic > Random, Random ≥ Freeze
}

// Holds reports whether every relation holds.
func (o Ordering) Holds() bool {
	for _, c := range o.Claims {
		if c.Verdict != Holds {
			return false
		}
	}
	return len(o.Claims) > 0
}

// CheckOrdering decides each relation of Full ≈ Intrinsic > Random ≥
// Freeze from the per-seed differences over the tasks both of its methods
// have runs on (see Claim and Decide).
func CheckOrdering(r Results) Ordering {
	g := newGrid(r, Table1Rows)
	o := Ordering{Tasks: g.tasks}
	for _, rel := range []struct{ l, op, r string }{
		{Full, "≈", Intrinsic}, {Intrinsic, ">", Random}, {Random, "≥", Freeze},
	} {
		var tasks []string
		for _, t := range g.tasks {
			if r.hasRuns(t, rel.l) && r.hasRuns(t, rel.r) {
				tasks = append(tasks, t)
			}
		}
		o.Claims = append(o.Claims, CheckClaim(r, MethodLabel(rel.l), rel.op, MethodLabel(rel.r), SameTaskPairs(tasks, rel.l, rel.r)))
	}
	return o
}

func (r Results) hasRuns(task, method string) bool {
	for _, run := range r.Runs {
		if run.Task == task && run.Method == method {
			return true
		}
	}
	return false
}

// String states, sentence by sentence from the intervals, which relations
// hold, and how that was decided.
func (o Ordering) String() string {
	n := map[Verdict]int{}
	for _, c := range o.Claims {
		n[c.Verdict]++
	}
	var b strings.Builder
	fmt.Fprintf(&b, "The paper's ordering Full ≈ Intrinsic > Random ≥ Freeze, decided from the seeds: "+
		"of %d relations, holds: %d; does not hold: %d; not resolved: %d; not checked: %d.\n\n",
		len(o.Claims), n[Holds], n[Fails], n[NotResolved], n[NotChecked])
	for _, c := range o.Claims {
		b.WriteString("- " + c.String() + "\n")
	}
	b.WriteString("\n" + MethodNote + "\n")
	return b.String()
}

// MethodNote is how every claim is decided, for the report.
var MethodNote = fmt.Sprintf("How a claim is decided: for each seed, the difference of the two methods' scores (×100), "+
	"averaged over the tasks; the 95%% interval of the mean of those per-seed differences by Student's t with n − 1 "+
	"degrees of freedom (paired by seed). \">\" holds when the interval lies above 0; \"≈\" when it lies wholly within "+
	"±%s points (the equivalence margin); \"≥\" when it lies above −%s points; the opposite end decides \"does not hold\"; "+
	"an interval that straddles, or a single seed, leaves the claim not resolved. A task where a method scores the same "+
	"for every seed, or a correlation of 0 (a constant prediction), is no signal and is left out of that claim's average.",
	fmt1(EquivalenceMargin), fmt1(EquivalenceMargin))
