package report

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/subtune/subtune/glue"
)

// ApproxPoints is the margin, in points (score ×100), within which two
// averages count as approximately equal ("≈") whatever their spread.
const ApproxPoints = 2.0

// Relation is one link of the paper's ordering Full ≈ Intrinsic > Random ≥
// Freeze, checked on the averages over tasks.
type Relation struct {
	Left, Right string // methods, e.g. Full and Intrinsic
	Op          string // "≈", ">" or "≥"

	// LeftMean and RightMean are the averages over Ordering.Tasks, rounded
	// to one decimal as the table shows them; Diff = LeftMean − RightMean.
	LeftMean, RightMean, Diff float64
	// Std is the larger of the two averages' standard deviations (see
	// ScoreTable's avg), rounded to one decimal; NaN if unknown.
	Std float64

	Checked bool // both methods have scores on the common tasks
	Holds   bool // the relation holds on the rounded averages
	// Approx reports whether the two averages are within ApproxPoints or
	// within Std of each other: "≈" itself, and for ">" a gap too small to
	// be clear.
	Approx bool
}

// Ordering is the check of the paper's ordering on one Results.
type Ordering struct {
	// Tasks are the tasks the averages cover: those on which every method
	// of Table 1 that has runs has a score.
	Tasks []string
	// AllTasks are Table 1's columns; Tasks may be fewer.
	AllTasks  []string
	Relations []Relation // Full ≈ Intrinsic, Intrinsic > Random, Random ≥ Freeze
}

// Holds reports whether every relation was checked and holds.
func (o Ordering) Holds() bool {
	for _, r := range o.Relations {
		if !r.Checked || !r.Holds {
			return false
		}
	}
	return len(o.Relations) > 0
}

// CheckOrdering checks Full ≈ Intrinsic > Random ≥ Freeze on the per-method
// averages over the tasks all present methods share. "≈" holds when the
// averages are within ApproxPoints or within one standard deviation (the
// larger of the two); ">" and "≥" hold when the rounded averages say so.
func CheckOrdering(r Results) Ordering {
	g := newGrid(r, Table1Rows)
	o := Ordering{AllTasks: g.tasks}
	for j, t := range g.tasks {
		ok := len(g.rows) > 0
		for i := range g.rows {
			ok = ok && g.cells[i][j].N > 0
		}
		if ok {
			o.Tasks = append(o.Tasks, t)
		}
	}
	avg := map[string]Summary{}
	for i, row := range g.rows {
		if len(o.Tasks) > 0 {
			avg[row.Method] = g.avgOver(i, o.Tasks)
		}
	}
	for _, rel := range []struct{ l, op, r string }{
		{Full, "≈", Intrinsic}, {Intrinsic, ">", Random}, {Random, "≥", Freeze},
	} {
		x := Relation{Left: rel.l, Right: rel.r, Op: rel.op, LeftMean: math.NaN(), RightMean: math.NaN(), Diff: math.NaN(), Std: math.NaN()}
		l, lok := avg[rel.l]
		rr, rok := avg[rel.r]
		if lok && rok && l.N > 0 && rr.N > 0 {
			x.Checked = true
			x.LeftMean, x.RightMean = round1(l.Mean), round1(rr.Mean)
			x.Diff = round1(x.LeftMean - x.RightMean)
			x.Std = round1(maxIgnoringNaN(l.Std, rr.Std))
			x.Approx = math.Abs(x.Diff) <= ApproxPoints || (!math.IsNaN(x.Std) && math.Abs(x.Diff) <= x.Std)
			switch rel.op {
			case "≈":
				x.Holds = x.Approx
			case ">":
				x.Holds = x.Diff > 0
			case "≥":
				x.Holds = x.Diff >= 0
			}
		}
		o.Relations = append(o.Relations, x)
	}
	return o
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }

func maxIgnoringNaN(a, b float64) float64 {
	switch {
	case math.IsNaN(a):
		return b
	case math.IsNaN(b):
		return a
	}
	return max(a, b)
}

// String states in words which relations hold, with the numbers: a lead
// sentence and one bullet per relation.
func (o Ordering) String() string {
	var b strings.Builder
	const claim = "the paper's ordering Full ≈ Intrinsic > Random ≥ Freeze"
	nFail, nUnchecked := 0, 0
	for _, r := range o.Relations {
		switch {
		case !r.Checked:
			nUnchecked++
		case !r.Holds:
			nFail++
		}
	}
	where := "On the average over " + o.taskPhrase() + ", "
	if len(o.Tasks) == 0 {
		where = ""
	}
	switch {
	case nUnchecked == len(o.Relations):
		b.WriteString("The paper's ordering Full ≈ Intrinsic > Random ≥ Freeze cannot be checked: " + o.missingPhrase() + ".")
	case nFail == 0 && nUnchecked == 0:
		b.WriteString(where + claim + " holds.")
	case nFail == 0:
		fmt.Fprintf(&b, "%s%s can only be partly checked: %d of %d relations cannot be tested, the others hold.", where, claim, nUnchecked, len(o.Relations))
	default:
		fmt.Fprintf(&b, "%s%s does not hold: %d of %d relations fail.", where, claim, nFail, len(o.Relations))
	}
	b.WriteString("\n\n")
	for _, r := range o.Relations {
		b.WriteString("- " + r.String() + "\n")
	}
	return capitalizeFirst(b.String())
}

func (o Ordering) taskPhrase() string {
	labels := make([]string, len(o.Tasks))
	for i, t := range o.Tasks {
		labels[i] = glue.DisplayName(t)
	}
	s := fmt.Sprintf("%d task", len(o.Tasks))
	if len(o.Tasks) != 1 {
		s += "s"
	}
	s += " (" + strings.Join(labels, ", ")
	if len(o.Tasks) < len(o.AllTasks) {
		var left []string
		for _, t := range o.AllTasks {
			if !slices.Contains(o.Tasks, t) {
				left = append(left, glue.DisplayName(t))
			}
		}
		s += "; left out, as some method has no score there: " + strings.Join(left, ", ")
	}
	s += ")"
	return s
}

func (o Ordering) missingPhrase() string {
	if len(o.AllTasks) == 0 {
		return "there are no runs"
	}
	if len(o.Tasks) == 0 {
		return "no task has a score for every method"
	}
	return "methods are missing"
}

// String states the relation and whether it holds, with the numbers.
func (r Relation) String() string {
	L, R := MethodLabel(r.Left), MethodLabel(r.Right)
	name := L + " " + r.Op + " " + R
	if !r.Checked {
		return name + " is not checked: " + L + " or " + R + " has no score on the common tasks."
	}
	d := math.Abs(r.Diff)
	var rel string
	switch {
	case r.Diff > 0:
		rel = fmt.Sprintf("%s %s is %s points above %s %s", L, fmt1(r.LeftMean), fmt1(d), R, fmt1(r.RightMean))
	case r.Diff < 0:
		rel = fmt.Sprintf("%s %s is %s points below %s %s", L, fmt1(r.LeftMean), fmt1(d), R, fmt1(r.RightMean))
	default:
		rel = fmt.Sprintf("%s and %s are level at %s", L, R, fmt1(r.LeftMean))
	}
	noise := r.noisePhrase()
	switch r.Op {
	case "≈":
		if r.Holds {
			return name + " holds: " + rel + ", " + noise + "."
		}
		return name + " does not hold: " + rel + ", " + noise + "."
	default:
		switch {
		case r.Holds && r.Diff > 0 && r.Approx:
			return name + " holds only narrowly: " + rel + ", " + noise + ", so the gap is not clear."
		case r.Holds:
			return name + " holds: " + rel + "."
		case r.Approx:
			return name + " does not hold: " + rel + ", though " + noise + "."
		default:
			return name + " does not hold: " + rel + "."
		}
	}
}

// noisePhrase says whether the gap is within ApproxPoints or one std.
func (r Relation) noisePhrase() string {
	d := math.Abs(r.Diff)
	switch {
	case d <= ApproxPoints:
		return fmt.Sprintf("within %g points", ApproxPoints)
	case math.IsNaN(r.Std):
		return fmt.Sprintf("more than %g points (std unknown: fewer than 2 seeds)", ApproxPoints)
	case d <= r.Std:
		return "within 1 std (" + fmt1(r.Std) + ")"
	default:
		return fmt.Sprintf("more than %g points and more than 1 std (%s)", ApproxPoints, fmt1(r.Std))
	}
}

func capitalizeFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
