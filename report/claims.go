package report

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/subtune/subtune/glue"
)

// EquivalenceMargin is the margin, in points (score ×100), of "≈" and "≥":
// Left ≈ Right holds when the whole 95% interval of Left − Right lies
// within ±EquivalenceMargin, and Left ≥ Right when it lies above
// −EquivalenceMargin (Left is no worse than Right by more than the margin).
const EquivalenceMargin = 2.0

// Verdict is what the seeds say of a claim.
type Verdict int

const (
	NotChecked  Verdict = iota // no seed has scores for both sides
	NotResolved                // the interval straddles the decision, or one seed only
	Holds                      // the interval says so
	Fails                      // the interval says the opposite
)

func (v Verdict) String() string {
	return [...]string{"not checked", "not resolved", "holds", "does not hold"}[v]
}

// verb is the verdict as a sentence's verb: "is not resolved", "holds".
func (v Verdict) verb() string {
	if v == NotChecked || v == NotResolved {
		return "is " + v.String()
	}
	return v.String()
}

// Pair is one task's comparison inside a claim: method Left against
// method Right, both fine-tuned on Task.
type Pair struct{ Task, Left, Right string }

// Claim is a claim of the paper decided from the seeds. For every seed
// that has finite scores for both sides of every pair, the per-seed
// difference is the mean over the pairs of Left − Right (points); the 95%
// interval is mean ± t(0.975, n−1)·s/√n over those n seeds (Student t,
// paired by seed).
type Claim struct {
	Left, Right string // the sides as the sentence names them, e.g. "Full", "Intrinsic"
	Op          string // "≈", ">" or "≥"

	Pairs []Pair // the pairs behind the differences
	// NoSignal are the pairs left out because a method predicts a constant
	// there (see NoSignal), as "CoLA (Random)".
	NoSignal []string
	Seeds    []int     // the seeds paired
	Diffs    []float64 // per seed, points
	// Mean, Lo and Hi are the mean difference and its 95% interval; Lo and
	// Hi are NaN with fewer than two seeds.
	Mean, Lo, Hi float64
	Verdict      Verdict
}

// Decide returns the mean of diffs, its 95% Student-t interval and what it
// says of "Left op Right": one seed, or an interval that straddles the
// decision, gives NotResolved, never Holds.
func Decide(op string, diffs []float64) (mean, lo, hi float64, v Verdict) {
	s := SummarizeValues(diffs)
	mean, lo, hi = s.Mean, math.NaN(), math.NaN()
	switch {
	case s.N == 0:
		return mean, lo, hi, NotChecked
	case s.N == 1:
		return mean, lo, hi, NotResolved
	}
	half := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(s.N - 1)}.Quantile(0.975) * s.Std / math.Sqrt(float64(s.N))
	lo, hi = mean-half, mean+half
	m := EquivalenceMargin
	switch op {
	case ">":
		v = verdict(lo > 0, hi < 0)
	case "≥":
		v = verdict(lo >= -m, hi < -m)
	case "≈":
		v = verdict(lo >= -m && hi <= m, lo > m || hi < -m)
	default:
		panic("report: unknown relation " + op)
	}
	return mean, lo, hi, v
}

func verdict(holds, fails bool) Verdict {
	switch {
	case holds:
		return Holds
	case fails:
		return Fails
	}
	return NotResolved
}

// NoSignal reports whether method predicts a constant on task in r, as
// far as the scores tell: every seed's score is NaN, or, for a
// correlation (Matthews, Pearson, Spearman), exactly 0, the value
// constant predictions get; or, with two seeds or more, every seed scores
// exactly the same, which a constant prediction (the majority class)
// gives and trained models all but never do.
func NoSignal(r Results, task, method string) bool {
	var xs []float64
	corr := false
	for _, run := range r.Runs {
		if run.Task == task && run.Method == method {
			xs = append(xs, run.Score)
			m := strings.ToLower(run.Metric)
			corr = corr || strings.Contains(m, "correlation") || strings.Contains(m, "pearson") || strings.Contains(m, "spearman")
		}
	}
	if len(xs) == 0 {
		return false
	}
	degenerate := func(x float64) bool { return !finite(x) || (corr && x == 0) }
	if !slices.ContainsFunc(xs, func(x float64) bool { return !degenerate(x) }) {
		return true
	}
	return len(xs) >= 2 && !slices.ContainsFunc(xs, func(x float64) bool { return x != xs[0] })
}

// CheckClaim decides "left op right" from r over pairs, leaving out the
// pairs where either method has no signal.
func CheckClaim(r Results, left, op, right string, pairs []Pair) Claim {
	c := Claim{Left: left, Right: right, Op: op}
	for _, p := range pairs {
		var quiet []string
		for _, m := range []string{p.Left, p.Right} {
			if NoSignal(r, p.Task, m) {
				quiet = append(quiet, MethodLabel(m))
			}
		}
		if len(quiet) > 0 {
			c.NoSignal = append(c.NoSignal, glue.DisplayName(p.Task)+" ("+strings.Join(quiet, ", ")+")")
			continue
		}
		c.Pairs = append(c.Pairs, p)
	}
	scores := seedScores(r)
	for _, seed := range r.seedsOf() {
		if d, ok := seedDiff(scores, seed, c.Pairs); ok {
			c.Seeds = append(c.Seeds, seed)
			c.Diffs = append(c.Diffs, d)
		}
	}
	c.Mean, c.Lo, c.Hi, c.Verdict = Decide(op, c.Diffs)
	return c
}

type seedKey struct {
	task, method string
	seed         int
}

func seedScores(r Results) map[seedKey]float64 {
	m := map[seedKey]float64{}
	for _, run := range r.Runs {
		m[seedKey{run.Task, run.Method, run.Seed}] = 100 * run.Score
	}
	return m
}

// seedDiff is the mean over pairs of Left − Right at seed, if every pair
// has finite scores there.
func seedDiff(scores map[seedKey]float64, seed int, pairs []Pair) (float64, bool) {
	if len(pairs) == 0 {
		return 0, false
	}
	var sum float64
	for _, p := range pairs {
		a, aok := scores[seedKey{p.Task, p.Left, seed}]
		b, bok := scores[seedKey{p.Task, p.Right, seed}]
		if !aok || !bok || !finite(a) || !finite(b) {
			return 0, false
		}
		sum += a - b
	}
	return sum / float64(len(pairs)), true
}

// seedsOf lists the seeds of r's runs, ascending.
func (r Results) seedsOf() []int {
	var seeds []int
	for _, run := range r.Runs {
		if !slices.Contains(seeds, run.Seed) {
			seeds = append(seeds, run.Seed)
		}
	}
	slices.Sort(seeds)
	return seeds
}

// SameTaskPairs pairs left and right on each task.
func SameTaskPairs(tasks []string, left, right string) []Pair {
	out := make([]Pair, len(tasks))
	for i, t := range tasks {
		out[i] = Pair{Task: t, Left: left, Right: right}
	}
	return out
}

// String is the claim's sentence, generated from its interval.
func (c Claim) String() string {
	name := c.Left + " " + c.Op + " " + c.Right
	var b strings.Builder
	switch {
	case c.Verdict == NotChecked && len(c.Pairs) == 0:
		fmt.Fprintf(&b, "%s is not checked: no task has scores for both.", name)
	case c.Verdict == NotChecked:
		fmt.Fprintf(&b, "%s is not checked: no seed has scores for both on every task.", name)
	case len(c.Seeds) == 1:
		fmt.Fprintf(&b, "%s is not resolved: one seed only (seed %d), a difference of %s points, and no interval without a second seed.",
			name, c.Seeds[0], signed(c.Mean))
	default:
		fmt.Fprintf(&b, "%s %s: %s − %s = %s points, 95%% interval [%s, %s] over %d seeds%s.",
			name, c.Verdict.verb(), c.Left, c.Right, signed(c.Mean), signed(c.Lo), signed(c.Hi), len(c.Seeds), c.reason())
	}
	if len(c.Pairs) > 0 {
		b.WriteString(" " + c.pairPhrase())
	}
	if len(c.NoSignal) > 0 {
		b.WriteString(" Left out as no signal (a constant prediction): " + strings.Join(c.NoSignal, ", ") + ".")
	}
	return b.String()
}

// reason says which end of the interval decided.
func (c Claim) reason() string {
	m := fmt1(EquivalenceMargin)
	switch {
	case c.Op == ">" && c.Verdict == NotResolved:
		return ", which straddles 0"
	case c.Op == "≥" && c.Verdict == Holds:
		return ", above −" + m + " (the margin)"
	case c.Op == "≥" && c.Verdict == NotResolved:
		return ", which straddles −" + m + " (the margin)"
	case c.Op == "≈" && c.Verdict == Holds:
		return ", within ±" + m + " (the margin)"
	case c.Op == "≈" && c.Verdict == NotResolved:
		return ", not wholly within ±" + m + " (the margin)"
	case c.Op == "≈":
		return ", wholly outside ±" + m + " (the margin)"
	}
	return ""
}

func (c Claim) pairPhrase() string {
	var tasks []string
	for _, p := range c.Pairs {
		if n := glue.DisplayName(p.Task); !slices.Contains(tasks, n) {
			tasks = append(tasks, n)
		}
	}
	if len(c.Pairs) == len(tasks) {
		return "Averaged over " + strings.Join(tasks, ", ") + "."
	}
	return fmt.Sprintf("Averaged over %d pairs on %s.", len(c.Pairs), strings.Join(tasks, ", "))
}

// signed formats x with its sign, a minus sign (−) below zero.
func signed(x float64) string {
	s := fmt1(x)
	switch {
	case strings.HasPrefix(s, "-"):
		return "−" + s[1:]
	case s != "0.0":
		return "+" + s
	}
	return s
}

// ClaimList writes claims as a Markdown list, one generated sentence
// each, and says how they were decided.
func ClaimList(claims ...Claim) string {
	var b strings.Builder
	b.WriteString("Decided from the seeds, as Table 1's ordering (paired per-seed differences, 95% Student-t interval, " +
		"equivalence margin ±" + fmt1(EquivalenceMargin) + " points):\n\n")
	for _, c := range claims {
		b.WriteString("- " + c.String() + "\n")
	}
	return b.String()
}
