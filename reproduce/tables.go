package reproduce

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/subtune/subtune/glue"
	"github.com/subtune/subtune/report"
)

// runIndex finds finished runs by task, method and seed.
type runIndex map[runKey]report.Run

func indexRuns(runs []report.Run) runIndex {
	ix := runIndex{}
	for _, r := range runs {
		ix[runKey{r.Task, r.Method, r.Seed}] = r
	}
	return ix
}

// get returns the runs of task and method, in the order of seeds, leaving
// out seeds that have none.
func (ix runIndex) get(task, method string, seeds []int) []report.Run {
	var out []report.Run
	for _, s := range seeds {
		if r, ok := ix[runKey{task, method, s}]; ok {
			out = append(out, r)
		}
	}
	return out
}

// scoreCell is the mean ± std over runs of Score×100, traced to the runs.
func scoreCell(runs []report.Run, note string) report.Cell {
	c := report.Cell{Summary: report.Summarize(runs), Note: note}
	for _, r := range runs {
		c.Runs = append(c.Runs, r.Dir)
	}
	return c
}

// dropCell is the mean ± std over seeds of 100·(base − other): how many
// points other loses against base, paired seed by seed (the seeds both
// have), so that the spread is that of the difference.
func dropCell(base, other []report.Run, note string) report.Cell {
	by := map[int]report.Run{}
	for _, r := range base {
		by[r.Seed] = r
	}
	var diffs []float64
	c := report.Cell{Note: note}
	for _, o := range other {
		b, ok := by[o.Seed]
		if !ok {
			continue
		}
		diffs = append(diffs, 100*(b.Score-o.Score))
		c.Runs = append(c.Runs, b.Dir, o.Dir)
	}
	c.Summary = report.SummarizeValues(diffs)
	return c
}

// valueCell summarises per-seed values (taken as they are), traced to dirs.
func valueCell(values []float64, dirs []string, note string) report.Cell {
	return report.Cell{Summary: report.SummarizeValues(values), Note: note, Runs: dirs}
}

// withAvg appends a column "avg" to t: per row, the mean over columns of
// the cells' means (skip leaves cells out, e.g. a transfer matrix's
// diagonal), N the number of cells averaged, and as Std √(Σ std²)/N, the
// spread such an average has when the columns are independent (NaN if a
// cell has none), as Table 1's avg.
func withAvg(t report.AnalysisTable, skip func(i, j int) bool) report.AnalysisTable {
	t.Cols = append(append([]string(nil), t.Cols...), "avg")
	for i, row := range t.Cells {
		var sum, vars float64
		avg := report.Cell{Summary: report.SummarizeValues(nil)}
		for j, c := range row {
			if (skip != nil && skip(i, j)) || c.N == 0 || math.IsNaN(c.Mean) {
				continue
			}
			sum += c.Mean
			vars += c.Std * c.Std
			avg.N++
			avg.Runs = append(avg.Runs, c.Runs...)
		}
		if avg.N > 0 {
			avg.Mean = sum / float64(avg.N)
			avg.Std = math.Sqrt(vars) / float64(avg.N)
		}
		t.Cells[i] = append(row, avg)
	}
	return t
}

// runsNote says which runs each row of t comes from: the directory names
// of its cells' runs, each under <output>/<task>/seed<seed>/. With the list
// of runs at the end of the report (and the cells' runs in results.json)
// it traces every number of the table.
func (r *reproduction) runsNote(t report.AnalysisTable) string {
	var parts []string
	for i, row := range t.Cells {
		var names []string
		for j, c := range row {
			if t.Cols[j] == "avg" {
				continue
			}
			for _, d := range c.Runs {
				if n := filepath.Base(d); !slices.Contains(names, n) {
					names = append(names, n)
				}
			}
		}
		if len(names) == 0 {
			names = []string{"none"}
		}
		parts = append(parts, glue.DisplayName(t.Rows[i])+": `"+strings.Join(names, "`, `")+"`")
	}
	return fmt.Sprintf("\nRuns behind each row, in `%s`: %s.\n", filepath.Join(r.o.OutputDir, "<task>", "seed<seed>", "<run>"), strings.Join(parts, "; "))
}

// figureLinks is the Markdown of a figure saved as PNG and SVG in the
// report directory.
func figureLinks(paths []string, alt string) string {
	var png, svg string
	for _, p := range paths {
		switch filepath.Ext(p) {
		case ".png":
			png = filepath.Base(p)
		case ".svg":
			svg = filepath.Base(p)
		}
	}
	var b strings.Builder
	if png != "" {
		b.WriteString("![" + alt + "](" + png + ")\n")
	}
	if svg != "" {
		b.WriteString("\n[SVG](" + svg + ")\n")
	}
	return b.String()
}
