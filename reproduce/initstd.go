package reproduce

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/subtune/subtune/report"
	"github.com/subtune/subtune/subspace"
)

// initStdPoint is one starting standard deviation σ of z's copies, each
// drawn from N(0, σ²), that the init_std analysis fine-tunes with.
type initStdPoint struct {
	label string
	std   float64
}

// initStdPoints are the starts the paper leaves open ("different
// initialization"): zero (θ = θ0, every copy alike), 1/√h (the copies'
// mean z̄, which moves θ, then starts at standard deviation 1/h) and 1
// (torch.randn's scale, the default: z̄ at 1/√h).
func initStdPoints(h int) []initStdPoint {
	s := 1 / math.Sqrt(float64(h))
	return []initStdPoint{
		{"0", 0},
		{fmt.Sprintf("1/√h = %.3g", s), s},
		{"1", 1},
	}
}

// initStdMethod names the intrinsic run that starts z at std: Table 1's
// Intrinsic for the default, else intrinsic_init_std<std>.
func initStdMethod(std float64) string {
	if std == subspace.DefaultOptions().InitStd {
		return report.Intrinsic
	}
	return report.Intrinsic + "_init_std" + strconv.FormatFloat(std, 'g', 4, 64)
}

// initStdJobs fine-tune every pipeline in its intrinsic subspace from each
// of initStdPoints; the default start is Table 1's run.
func initStdJobs(r *reproduction) ([]job, error) {
	var jobs []job
	for _, p := range r.pipes {
		for _, pt := range initStdPoints(r.o.Profile.Ensemble) {
			s := p.mainSpec(report.Intrinsic)
			if m := initStdMethod(pt.std); m != report.Intrinsic {
				std := pt.std
				s.method, s.initStd = m, &std
			}
			jobs = append(jobs, job{p, s})
		}
	}
	return jobs, nil
}

// initStdTable has a row per start, a column per task and their average.
func initStdTable(ix runIndex, tasks []string, seeds []int, h int) report.AnalysisTable {
	points := initStdPoints(h)
	var labels []string
	for _, pt := range points {
		labels = append(labels, pt.label)
	}
	t := report.NewAnalysisTable(AnalysisInitStd, "scores", "score ×100", labels, tasks)
	for i, pt := range points {
		note := ""
		if initStdMethod(pt.std) == report.Intrinsic {
			note = "Table 1's run"
		}
		for j, task := range tasks {
			t.Cells[i][j] = scoreCell(ix.get(task, initStdMethod(pt.std), seeds), note)
		}
	}
	return withAvg(t, nil)
}

// initStdClaims compare every other start with the default, "≈" from the
// seeds: holds when the start makes no difference beyond the margin.
func initStdClaims(res *report.Results, tasks []string, h int) []report.Claim {
	def := subspace.DefaultOptions().InitStd
	var out []report.Claim
	for _, pt := range initStdPoints(h) {
		if pt.std == def {
			continue
		}
		out = append(out, report.CheckClaim(*res, "σ = "+pt.label, "≈", fmt.Sprintf("σ = %g", def),
			report.SameTaskPairs(tasks, initStdMethod(pt.std), report.Intrinsic)))
	}
	return out
}

func initStdSection(r *reproduction, res *report.Results) (report.Section, []report.AnalysisTable, error) {
	h := r.o.Profile.Ensemble
	t := initStdTable(indexRuns(res.Runs), r.o.Tasks, r.o.Profile.Seeds, h)
	var b strings.Builder
	fmt.Fprintf(&b, "Each of the h = %d copies of z starts at N(0, σ²); the paper says only \"different initialization\". "+
		"σ = 0 starts every copy at zero (θ = θ0 at step 0); σ = 1/√h starts the copies' mean z̄, which moves θ, at standard "+
		"deviation 1/h; σ = %g is the default (Table 1's Intrinsic run, z̄ at 1/√h). Everything else is Table 1's Intrinsic "+
		"run; the other runs are `%s_init_std<σ>`.\n\n",
		h, subspace.DefaultOptions().InitStd, report.Intrinsic)
	b.WriteString("Dev scores ×100, mean ± std over seeds; avg over tasks.\n\n")
	b.WriteString(t.Markdown("σ"))
	b.WriteString(r.runsNote(t))
	claims := initStdClaims(res, r.o.Tasks, h)
	b.WriteString("\n" + report.ClaimList(claims...))
	b.WriteString("\n" + defaultChoice(claims, "start") + "\n")
	return report.Section{Title: "Initialisation of z", Markdown: b.String(), Claims: claims}, []report.AnalysisTable{t}, nil
}
