package report

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/subtune/subtune/glue"
)

// Row is one row of a score table: its label and the method whose runs
// fill it.
type Row struct{ Label, Method string }

// Table1Rows are the rows of the paper's Table 1, in its order.
var Table1Rows = []Row{
	{"Full", Full},
	{"Freeze", Freeze},
	{"Random", Random},
	{"Intrinsic", Intrinsic},
}

// Table1 renders the paper's Table 1 in Markdown: a caption naming the
// seeds and each task's metric, then rows Full / Freeze / Random /
// Intrinsic (those with runs), one column per task with mean ± sample std
// over seeds of Score×100, "avg" (mean over tasks of the per-task means)
// and the trainable-parameter count. See [ScoreTable].
func Table1(r Results) string { return ScoreTable(r, Table1Rows) }

// ScoreTable renders a Table-1-style table for any rows. Rows whose method
// has no run are left out. The columns are r.Tasks followed by any other
// task the rows' runs have. A cell shows "mean ± std", or only the mean for
// one run, or "—" for none; it adds "(n=…)" when its number of scored runs
// differs from the number of seeds, and counts NaN scores, which are left
// out of the statistics. The parameter column shows the range when the
// count differs between runs (e.g. between tasks with different heads).
func ScoreTable(r Results, rows []Row) string {
	g := newGrid(r, rows)
	if len(g.rows) == 0 {
		return "*(no runs)*\n"
	}
	header := []string{"Method"}
	for _, t := range g.tasks {
		h := glue.DisplayName(t)
		if m := g.metrics[t]; len(m) > 0 {
			short := make([]string, len(m))
			for i, x := range m {
				short[i] = MetricLabel(x, true)
			}
			h += " (" + strings.Join(short, "/") + ")"
		}
		header = append(header, h)
	}
	header = append(header, "avg", "Trainable params")

	var body [][]string
	var noteN, noteAvg bool
	for i, row := range g.rows {
		line := []string{row.Label}
		for j := range g.tasks {
			c := g.cells[i][j]
			s := formatSummary(c)
			if (c.N > 0 && c.N != g.expectN) || c.NaN > 0 {
				noteN = true
				s += " " + countNote(c)
			}
			line = append(line, s)
		}
		avg := g.avg(i)
		a := "—"
		if avg.N > 0 {
			a = fmt1(avg.Mean)
			if avg.N < len(g.tasks) {
				a += fmt.Sprintf(" (%d of %d tasks)", avg.N, len(g.tasks))
				noteAvg = true
			}
		}
		line = append(line, a, g.params(i))
		body = append(body, line)
	}

	var b strings.Builder
	b.WriteString(g.caption(r))
	b.WriteString("\n\n")
	b.WriteString(MarkdownTable(header, body))
	if noteN || noteAvg {
		b.WriteString("\n")
	}
	if noteN {
		fmt.Fprintf(&b, "(n=…): number of runs with a score, where it differs from the %d seeds; NaN scores are counted and left out.\n", g.expectN)
	}
	if noteAvg {
		b.WriteString("(k of T tasks): the average covers only the tasks the row has, so it is not comparable with complete rows.\n")
	}
	return b.String()
}

func countNote(c Summary) string {
	if c.NaN > 0 {
		return fmt.Sprintf("(n=%d, %d NaN)", c.N, c.NaN)
	}
	return fmt.Sprintf("(n=%d)", c.N)
}

// scoreGrid is the summary of every (row, task) cell of a score table.
type scoreGrid struct {
	tasks   []string
	rows    []Row
	cells   [][]Summary         // [row][task]
	metrics map[string][]string // task → distinct main metrics of its runs
	runs    [][][]Run           // [row][task]
	expectN int                 // the number of seeds a full cell has
}

func newGrid(r Results, rows []Row) scoreGrid {
	g := scoreGrid{tasks: slices.Clone(r.Tasks), metrics: map[string][]string{}}
	for _, row := range rows {
		if r.HasMethod(row.Method) {
			g.rows = append(g.rows, row)
		}
	}
	for _, run := range r.Runs {
		if run.Task == "" || slices.Contains(g.tasks, run.Task) {
			continue
		}
		if slices.ContainsFunc(g.rows, func(row Row) bool { return row.Method == run.Method }) {
			g.tasks = append(g.tasks, run.Task)
		}
	}
	for _, run := range r.Runs {
		if run.Metric != "" && !slices.Contains(g.metrics[run.Task], run.Metric) {
			g.metrics[run.Task] = append(g.metrics[run.Task], run.Metric)
		}
	}
	g.expectN = len(r.Seeds)
	for _, row := range g.rows {
		var cells []Summary
		var runs [][]Run
		for _, t := range g.tasks {
			rs := r.Select(t, row.Method)
			s := Summarize(rs)
			cells = append(cells, s)
			runs = append(runs, rs)
			if len(r.Seeds) == 0 {
				g.expectN = max(g.expectN, s.N)
			}
		}
		g.cells = append(g.cells, cells)
		g.runs = append(g.runs, runs)
	}
	return g
}

// avg returns the mean over tasks of row i's per-task means (N: the
// number of tasks it covers) and, as Std, the standard deviation such an
// average of one run per task has when tasks are independent:
// sqrt(Σ std²)/N, NaN if some task has fewer than two runs.
func (g scoreGrid) avg(i int) Summary {
	return g.avgOver(i, nil)
}

// avgOver is avg restricted to the tasks in only (all tasks if nil).
func (g scoreGrid) avgOver(i int, only []string) Summary {
	s := Summary{Mean: math.NaN(), Std: math.NaN()}
	var sum, vars float64
	for j, t := range g.tasks {
		if only != nil && !slices.Contains(only, t) {
			continue
		}
		c := g.cells[i][j]
		if c.N == 0 {
			continue
		}
		sum += c.Mean
		vars += c.Std * c.Std
		s.N++
	}
	if s.N > 0 {
		s.Mean = sum / float64(s.N)
		s.Std = math.Sqrt(vars) / float64(s.N)
	}
	return s
}

// params formats row i's trainable-parameter count, or its range.
func (g scoreGrid) params(i int) string {
	lo, hi := math.MaxInt, 0
	for _, rs := range g.runs[i] {
		for _, r := range rs {
			if r.Trainable > 0 {
				lo, hi = min(lo, r.Trainable), max(hi, r.Trainable)
			}
		}
	}
	switch {
	case hi == 0:
		return "—"
	case lo == hi:
		return CompactCount(lo)
	case CompactCount(lo) == CompactCount(hi):
		// e.g. 11,170,817–11,171,074: tasks whose heads differ in size.
		return formatCount(lo) + "–" + formatCount(hi)
	default:
		return CompactCount(lo) + "–" + CompactCount(hi)
	}
}

func (g scoreGrid) caption(r Results) string {
	var b strings.Builder
	b.WriteString("Dev-set scores ×100, mean ± sample std over ")
	switch len(r.Seeds) {
	case 0:
		b.WriteString("seeds")
	case 1:
		fmt.Fprintf(&b, "1 seed (%d)", r.Seeds[0])
	default:
		seeds := make([]string, len(r.Seeds))
		for i, s := range r.Seeds {
			seeds[i] = strconv.Itoa(s)
		}
		fmt.Fprintf(&b, "%d seeds (%s)", len(r.Seeds), strings.Join(seeds, ", "))
	}
	b.WriteString("; avg is the mean over tasks of the per-task means.")
	var ms []string
	for _, t := range g.tasks {
		if m := g.metrics[t]; len(m) > 0 {
			long := make([]string, len(m))
			for i, x := range m {
				long[i] = MetricLabel(x, false)
			}
			ms = append(ms, glue.DisplayName(t)+" "+strings.Join(long, " / "))
		}
	}
	if len(ms) > 0 {
		b.WriteString(" Metrics: " + strings.Join(ms, ", ") + ".")
	}
	return b.String()
}

// formatSummary formats a cell: "85.3 ± 1.2", "85.3" for one run or an
// unknown spread (an average over tasks of single runs), "—" for none.
func formatSummary(s Summary) string {
	switch {
	case s.N == 0:
		return "—"
	case s.N == 1 || math.IsNaN(s.Std):
		return fmt1(s.Mean)
	default:
		return fmt1(s.Mean) + " ± " + fmt1(s.Std)
	}
}

// fmt1 formats x with one decimal, without a "-0.0".
func fmt1(x float64) string {
	if math.IsNaN(x) {
		return "NaN"
	}
	s := strconv.FormatFloat(x, 'f', 1, 64)
	if s == "-0.0" {
		s = "0.0"
	}
	return s
}

// CompactCount formats a parameter count with three significant digits
// and a K, M or B suffix: 32, 1.54K, 66.1K, 11.2M, 110M.
func CompactCount(n int) string {
	v := float64(n)
	suffix := ""
	for _, u := range []struct {
		div float64
		s   string
		min float64 // smallest count shown with this unit, so 999,999 is 1.00M, not 1000K
	}{{1e9, "B", 999.5e6}, {1e6, "M", 999.5e3}, {1e3, "K", 1e3}} {
		if math.Abs(v) >= u.min {
			v, suffix = v/u.div, u.s
			break
		}
	}
	if suffix == "" {
		return strconv.Itoa(n)
	}
	prec := 2
	switch {
	case math.Abs(v) >= 99.95:
		prec = 0
	case math.Abs(v) >= 9.995:
		prec = 1
	}
	return strconv.FormatFloat(v, 'f', prec, 64) + suffix
}
