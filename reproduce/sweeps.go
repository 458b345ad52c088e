package reproduce

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/subtune/subtune/figure"
	"github.com/subtune/subtune/glue"
	"github.com/subtune/subtune/report"
	"github.com/subtune/subtune/subspace"
)

// The sweeps' values when Options leave them unset: the paper's d of
// Tables 5–6, and trajectory lengths up to its t = 32.
var (
	DefaultDims    = []int{8, 16, 32}
	DefaultLengths = []int{4, 8, 16, 32}
)

// variant is a way of extracting the intrinsic subspace from the full
// run's trajectory.
type variant struct {
	rows        string
	dim         int  // directions kept per layer (0: all)
	checkpoints int  // checkpoints kept (0: all)
	first       bool // keep the first checkpoints (the early trajectory), not evenly spaced ones
	// epoch takes the checkpoints from the per-epoch run's trajectory
	// (report.FullEpoch) rather than from Table 1's full run.
	epoch bool
}

// normal is v as extraction carries it out on a trajectory of t
// checkpoints: t' = min(checkpoints or t, t) checkpoints (0 when that is
// all of them, which are then neither first nor evenly spaced) and
// min(dim or t', t') directions.
func (v variant) normal(t int) variant {
	tt := t
	if v.checkpoints > 0 {
		tt = min(v.checkpoints, t)
	}
	d := tt
	if v.dim > 0 {
		d = min(v.dim, tt)
	}
	n := variant{rows: v.rows, dim: d, epoch: v.epoch}
	if tt < t {
		n.checkpoints, n.first = tt, v.first
	}
	return n
}

// selection is the checkpoints (0-based) v keeps of a trajectory of n: nil
// for all of them, else the first ones or EvenlySpaced's, which end at the
// last. Comparing the two at equal t asks whether the subspace needs the
// whole path or only where fine-tuning went first.
func (v variant) selection(n int) []int {
	c := v.normal(n).checkpoints
	switch {
	case c == 0:
		return nil
	case v.first:
		idx := make([]int, c)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	return subspace.EvenlySpaced(n, c)
}

// suffix names v by what differs from the profile's subspace main on a
// trajectory of t checkpoints ("epoch", "raw", "t4" or "first4", "d8",
// joined by "_"); "" when nothing does, and v is Table 1's Intrinsic.
func (v variant) suffix(main variant, t int) string {
	n := v.normal(t)
	var parts []string
	if n.epoch {
		parts = append(parts, "epoch")
	}
	if n.rows != main.rows {
		parts = append(parts, n.rows)
	}
	switch {
	case n.first:
		parts = append(parts, fmt.Sprintf("first%d", n.checkpoints))
	case n.checkpoints > 0:
		parts = append(parts, fmt.Sprintf("t%d", n.checkpoints))
	}
	// The dimension the profile would keep from n's checkpoints.
	if n.dim != (variant{rows: n.rows, dim: main.dim, checkpoints: n.checkpoints}).normal(t).dim {
		parts = append(parts, fmt.Sprintf("d%d", n.dim))
	}
	return strings.Join(parts, "_")
}

// mainVariant is how Table 1's intrinsic subspace is extracted.
func (o Options) mainVariant() variant {
	return variant{rows: o.Profile.Rows, dim: o.Profile.Dim}
}

// variantSpec is fine-tuning p in subspace v of its trajectory (t
// checkpoints long): Table 1's Intrinsic run when v is the profile's
// subspace, else method intrinsic_<suffix> with its own basis file.
func (p *pipeline) variantSpec(v variant, t int) runSpec {
	suffix := v.suffix(p.o.mainVariant(), t)
	if suffix == "" {
		return p.mainSpec(report.Intrinsic)
	}
	path := filepath.Join(p.dir, "subspace_"+suffix+".safetensors")
	src := p.runDir(report.Full)
	if v.epoch {
		src = p.runDir(report.FullEpoch)
	}
	extract := prep{dir: filepath.Join(p.dir, "extract_"+suffix), kind: kindExtract, out: path, reads: []string{src},
		inputs: fmt.Sprintf("rows=%s dim=%d", p.o.Profile.Rows, p.o.Profile.Dim), make: func() error { return p.extractVariant(path, v) }}
	return runSpec{method: report.Intrinsic + "_" + suffix, basis: path, needs: []prep{extract}}
}

// spec is fine-tuning p in subspace v of the trajectory it extracts from.
func (p *pipeline) spec(v variant) (runSpec, error) {
	t, err := p.sourceLength(v)
	if err != nil {
		return runSpec{}, err
	}
	return p.variantSpec(v, t), nil
}

// sweepPoint is one row of a sweep: a requested value and the subspace it
// asks for.
type sweepPoint struct {
	label string
	v     variant
	// x is the value the point takes on a trajectory of t checkpoints
	// (capped), for the plot and the table's note; nil for none.
	x         func(t int) int
	requested int
	noteFmt   string // e.g. "d=%d", when x differs from requested
}

// sweep is an analysis that fine-tunes in variants of the intrinsic
// subspace: the same trajectory, extracted another way.
type sweep struct {
	name, title, intro string
	corner             string // the header of the table's label column
	claimName          string // a point's name in a claim, from its label: "d = %s"
	points             func(o Options) []sweepPoint
	xLabel             string // the plot's axis; "" for no plot
}

func (s sweep) def() analysisDef {
	return analysisDef{name: s.name, jobs: s.jobs, section: s.section}
}

var dimsSweep = sweep{
	name:      AnalysisDims,
	corner:    "d",
	claimName: "d = %s",
	title:     "Subspace dimension (paper Tables 5–6)",
	intro:     "The intrinsic subspace keeps only its top d directions per layer, from the same trajectory; d is capped at the trajectory's t.",
	points: func(o Options) []sweepPoint {
		return cappedPoints(orDefault(o.Dims, DefaultDims), "d=%d", func(d int) variant { return variant{rows: o.Profile.Rows, dim: d} })
	},
	xLabel: "subspace dimension d per layer",
}

var lengthSweep = sweep{
	name:      AnalysisTrajectory,
	corner:    "t",
	claimName: "t = %s",
	title:     "Trajectory length",
	intro: "The subspace is extracted from t of the full run's checkpoints, evenly spaced and ending at the last " +
		"(how many points does it need? The paper leaves this open); t is capped at the trajectory's length, and d at t.",
	points: func(o Options) []sweepPoint {
		return cappedPoints(orDefault(o.Lengths, DefaultLengths), "t=%d", func(n int) variant {
			return variant{rows: o.Profile.Rows, dim: o.Profile.Dim, checkpoints: n}
		})
	},
	xLabel: "checkpoints t",
}

var rowsSweep = sweep{
	name:      AnalysisRows,
	corner:    "rows",
	claimName: "%s rows",
	title:     "Rows of the trajectory matrix: raw, delta or centred",
	intro:     "The paper stacks the checkpoints θk (raw) but is ambiguous; delta stacks θk − θ0, centred the deltas minus their mean.",
	points: func(o Options) []sweepPoint {
		var out []sweepPoint
		for _, rows := range []string{subspace.RowsRaw, subspace.RowsDelta, subspace.RowsCentered} {
			out = append(out, sweepPoint{label: rows, v: variant{rows: rows, dim: o.Profile.Dim}})
		}
		return out
	},
}

// cappedPoints are a sweep's points over values of a count that
// extraction caps at the trajectory's t (d, or t itself): the variant v(n)
// for each n, noted as noteFmt in a cell where the cap changed it.
func cappedPoints(values []int, noteFmt string, v func(n int) variant) []sweepPoint {
	var out []sweepPoint
	for _, n := range values {
		out = append(out, sweepPoint{label: fmt.Sprint(n), v: v(n), x: func(t int) int { return min(n, t) }, requested: n, noteFmt: noteFmt})
	}
	return out
}

func orDefault(xs, def []int) []int {
	if len(xs) == 0 {
		return def
	}
	return xs
}

// jobs fine-tune every pipeline in every point's subspace.
func (s sweep) jobs(r *reproduction) ([]job, error) {
	var jobs []job
	for _, p := range r.pipes {
		t, _, err := p.checkpoints()
		if err != nil {
			return nil, err
		}
		for _, pt := range s.points(r.o) {
			jobs = append(jobs, job{p, p.variantSpec(pt.v, t)})
		}
	}
	return jobs, nil
}

// sweepTable assembles the sweep's scores: a row per point, a column per
// task and their average. t gives each task's trajectory length (of its
// first seed; the schedule makes it the same for every seed).
func (s sweep) table(o Options, ix runIndex, t map[string]int, pipe func(task string, seed int) *pipeline) report.AnalysisTable {
	points := s.points(o)
	var labels []string
	for _, pt := range points {
		labels = append(labels, pt.label)
	}
	tab := report.NewAnalysisTable(s.name, "scores", "score ×100", labels, o.Tasks)
	methods := s.methods(o, t, pipe)
	for i, pt := range points {
		for j, task := range o.Tasks {
			method := methods[i][j]
			var notes []string
			if pt.x != nil && pt.x(t[task]) != pt.requested {
				notes = append(notes, fmt.Sprintf(pt.noteFmt, pt.x(t[task])))
			}
			if method == report.Intrinsic {
				notes = append(notes, "Table 1's run")
			}
			tab.Cells[i][j] = scoreCell(ix.get(task, method, o.Profile.Seeds), strings.Join(notes, "; "))
		}
	}
	return withAvg(tab, nil)
}

// methods are the runs of the sweep's points, a row per point and a column
// per task: the method each task's runs of that point have (of its first
// seed; the schedule gives every seed the same trajectory lengths t).
func (s sweep) methods(o Options, t map[string]int, pipe func(task string, seed int) *pipeline) [][]string {
	var out [][]string
	for _, pt := range s.points(o) {
		row := make([]string, len(o.Tasks))
		for j, task := range o.Tasks {
			row[j] = pipe(task, o.Profile.Seeds[0]).variantSpec(pt.v, t[task]).method
		}
		out = append(out, row)
	}
	return out
}

func (s sweep) section(r *reproduction, res *report.Results) (report.Section, []report.AnalysisTable, error) {
	t := map[string]int{}
	for _, task := range r.o.Tasks {
		n, _, err := r.pipe(task, r.o.Profile.Seeds[0]).checkpoints()
		if err != nil {
			return report.Section{}, nil, err
		}
		t[task] = n
	}
	tab := s.table(r.o, indexRuns(res.Runs), t, r.pipe)
	var b strings.Builder
	fmt.Fprintf(&b, "%s Everything else is Table 1's Intrinsic run (%s rows, d = %s, h = %d); a value equal to it reuses "+
		"that run. The other runs are `intrinsic_<variant>`, their subspaces `subspace_<variant>.safetensors` beside them."+
		"\n\nDev scores ×100, mean ± std over seeds; avg over tasks.\n\n",
		s.intro, r.o.Profile.Rows, dimText(r.o.Profile.Dim), r.o.Profile.Ensemble)
	b.WriteString(tab.Markdown(s.corner))
	b.WriteString(r.runsNote(tab))
	if s.xLabel != "" {
		paths, err := s.plot(r, tab, t)
		if err != nil {
			return report.Section{}, nil, err
		}
		b.WriteString("\n" + figureLinks(paths, s.title))
	}
	claims := s.claims(r.o, res, t, r.pipe)
	if len(claims) > 0 {
		b.WriteString("\n" + report.ClaimList(claims...))
	}
	if s.name == AnalysisRows && len(claims) > 0 {
		b.WriteString("\n" + defaultChoice(claims, "choice of rows") + "\n")
	}
	return report.Section{Title: s.title, Markdown: b.String(), Claims: claims}, []report.AnalysisTable{tab}, nil
}

// claims decide every point that is not Table 1's run against it from the
// seeds ("≈": the point makes no difference beyond the margin), over the
// tasks where it is a run of its own. Table 1's side is named as its point
// when the sweep has one, else as Table 1's Intrinsic.
func (s sweep) claims(o Options, res *report.Results, t map[string]int, pipe func(task string, seed int) *pipeline) []report.Claim {
	points := s.points(o)
	methods := s.methods(o, t, pipe)
	def := ""
	for i, pt := range points {
		if def == "" && !slices.ContainsFunc(methods[i], func(m string) bool { return m != report.Intrinsic }) {
			def = fmt.Sprintf(s.claimName, pt.label)
		}
	}
	if def == "" {
		def = report.MethodLabel(report.Intrinsic) + " (Table 1)"
	}
	var claims []report.Claim
	for i, pt := range points {
		var pairs []report.Pair
		for j, task := range o.Tasks {
			if methods[i][j] != report.Intrinsic {
				pairs = append(pairs, report.Pair{Task: task, Left: methods[i][j], Right: report.Intrinsic})
			}
		}
		if len(pairs) > 0 {
			claims = append(claims, report.CheckClaim(*res, fmt.Sprintf(s.claimName, pt.label), "≈", def, pairs))
		}
	}
	return claims
}

// plot draws score against the sweep's value, a curve per task, at the
// values the points took (capped values coincide and are drawn once).
func (s sweep) plot(r *reproduction, tab report.AnalysisTable, t map[string]int) ([]string, error) {
	var series []figure.Series
	for j, task := range r.o.Tasks {
		se := figure.Series{Label: glue.DisplayName(task)}
		seen := map[int]bool{}
		for i, pt := range s.points(r.o) {
			x := pt.x(t[task])
			c := tab.Cells[i][j]
			if seen[x] || c.N == 0 {
				continue
			}
			seen[x] = true
			se.X, se.Y, se.Err = append(se.X, float64(x)), append(se.Y, c.Mean), append(se.Err, c.Std)
		}
		series = append(series, se)
	}
	return figure.LinePlot(series, s.title, s.xLabel, "dev score ×100", filepath.Join(r.o.OutputDir, s.name))
}

func dimText(d int) string {
	if d == 0 {
		return "t"
	}
	return fmt.Sprint(d)
}
