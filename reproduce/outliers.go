package reproduce

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/subtune/subtune/glue"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/outliers"
	"github.com/subtune/subtune/report"
)

func (p *pipeline) outliersDir() string { return filepath.Join(p.dir, "outliers") }

// outliers is the outlier analysis of p's intrinsic run (`subtune outliers`
// at the paper's 3σ), made unless its file exists.
func (p *pipeline) outliers() (*outliers.File, error) {
	path := filepath.Join(p.outliersDir(), outliers.FileName)
	if _, err := os.Stat(path); err != nil {
		o := outliers.RunOptions{Run: p.runDir(report.Intrinsic), Output: p.outliersDir(), Sigma: outliers.DefaultSigma,
			Top: outliers.DefaultTop, Model: p.o.Model, Basis: p.basisPath()}
		fmt.Fprintf(p.o.Log, "   outliers of %s\n", o.Run)
		if _, err := outliers.AnalyzeRun(o, io.Discard, p.o.Log); err != nil {
			return nil, fmt.Errorf("%s seed %d: outliers of %s: %w", p.task.Name, p.seed, o.Run, err)
		}
	}
	return outliers.ReadFile(path)
}

// outliersPrep is the outlier analysis as a stage of its own, which both
// runs of the ablation read.
func (p *pipeline) outliersPrep() prep {
	return prep{dir: p.outliersDir(), kind: kindAnalysis, out: filepath.Join(p.outliersDir(), outliers.FileName),
		reads:  []string{p.runDir(report.Intrinsic)},
		inputs: fmt.Sprintf("sigma=%v top=%v", outliers.DefaultSigma, outliers.DefaultTop),
		make:   func() error { _, err := p.outliers(); return err }}
}

// outlierJobs are the ablation's two runs per task and seed. They need the
// analysis of the intrinsic run, which Table 1 has finished by then.
func outlierJobs(r *reproduction) ([]job, error) {
	var jobs []job
	for _, p := range r.pipes {
		needs := []prep{p.outliersPrep()}
		jobs = append(jobs,
			job{p, runSpec{method: report.DisableOutliers, needs: needs, prepare: func(s *runSpec) error {
				f, err := p.outliers()
				if err != nil {
					return err
				}
				s.disable = func(m *model.Model) (*outliers.DisableMask, error) { return outliers.DisableOutliers(m, f) }
				return nil
			}}},
			job{p, runSpec{method: report.DisableRandom, needs: needs, prepare: func(s *runSpec) error {
				f, err := p.outliers()
				if err != nil {
					return err
				}
				s.disable = func(m *model.Model) (*outliers.DisableMask, error) {
					return outliers.DisableRandom(m, f.Count, uint64(p.seed))
				}
				return nil
			}}},
		)
	}
	return jobs, nil
}

// outlierTables are the outliers' statistics per task (over seeds) and the
// ablation's scores: Full, outliers disabled, random positions disabled.
func outlierTables(ix runIndex, tasks []string, seeds []int, files map[runKey]*outliers.File) (stats, ablation report.AnalysisTable) {
	stats = report.NewAnalysisTable(AnalysisOutliers, "outliers", "per the intrinsic run's update, at 3σ",
		[]string{"outliers", "% of encoder", "% a normal distribution flags", "layers where the top dimension is beyond chance"}, tasks)
	for j, task := range tasks {
		var count, frac, normal, top []float64
		var dirs []string
		for _, seed := range seeds {
			f := files[runKey{task, report.Intrinsic, seed}]
			if f == nil {
				continue
			}
			count = append(count, float64(f.Count))
			frac = append(frac, 100*f.Fraction)
			normal = append(normal, 100*f.NormalFraction)
			n := 0
			if len(f.Dims) > 0 {
				n = len(f.Dims[0].Significant)
			}
			top = append(top, float64(n))
			dirs = append(dirs, f.Source.Run)
		}
		for i, vals := range [][]float64{count, frac, normal, top} {
			stats.Cells[i][j] = valueCell(vals, dirs, "")
		}
	}
	rows := []struct{ label, method string }{
		{"Full", report.Full}, {"Outliers disabled", report.DisableOutliers}, {"Random positions disabled", report.DisableRandom},
	}
	var labels []string
	for _, row := range rows {
		labels = append(labels, row.label)
	}
	ablation = report.NewAnalysisTable(AnalysisOutliers, "ablation", "score ×100", labels, tasks)
	for i, row := range rows {
		for j, task := range tasks {
			ablation.Cells[i][j] = scoreCell(ix.get(task, row.method, seeds), "")
		}
	}
	return stats, withAvg(ablation, nil)
}

func outlierSection(r *reproduction, res *report.Results) (report.Section, []report.AnalysisTable, error) {
	files := map[runKey]*outliers.File{}
	for _, p := range r.pipes {
		f, err := p.outliers()
		if err != nil {
			return report.Section{}, nil, err
		}
		files[runKey{p.task.Name, report.Intrinsic, p.seed}] = f
	}
	stats, ablation := outlierTables(indexRuns(res.Runs), r.o.Tasks, r.o.Profile.Seeds, files)
	var b strings.Builder
	fmt.Fprintf(&b, "`subtune outliers` on every Intrinsic run: each layer's learned update Δ = Vᵀz̄, its entries at least "+
		"%dσ from the layer's mean, where they sit, and which hidden dimensions concentrate them beyond chance. Files: "+
		"`outliers/` beside each seed's runs (%s).\n\n", outliers.DefaultSigma, "`"+filepath.Join(r.o.OutputDir, "<task>", "seed<seed>", "outliers")+"`")
	b.WriteString("Mean ± std over seeds.\n\n")
	b.WriteString(stats.Markdown(""))
	b.WriteString(r.runsNote(stats))
	b.WriteString("\n### Ablation (paper Table 3)\n\n")
	b.WriteString("Full fine-tuning with the outlier positions zeroed in θ0 and held at zero, against the same number of " +
		"random positions (drawn with the run's seed). Paper, BERT-base: disabling the outliers collapses every task to " +
		"chance (CoLA 0.00, SST-2 50.92, MRPC 68.38); random positions cost under 3 points.\n\n")
	b.WriteString(ablation.Markdown("Method"))
	b.WriteString(r.runsNote(ablation))
	claim := outlierClaim(res, r.o.Tasks)
	b.WriteString("\n" + report.ClaimList(claim))
	seed := r.o.Profile.Seeds[0]
	for _, task := range r.o.Tasks {
		f := files[runKey{task, report.Intrinsic, seed}]
		fmt.Fprintf(&b, "\n### %s, seed %d\n\n%s\n\n", glue.DisplayName(task), seed, f.Summary())
		b.WriteString("Outliers per parameter and layer (Table 4):\n\n" + f.TensorTable())
		b.WriteString("\nHidden dimensions that recur across layers:\n\n" + f.DimsTable(5))
		title := fmt.Sprintf("Outliers of %s's intrinsic run (seed %d, %gσ)", glue.DisplayName(task), seed, f.Sigma)
		paths, err := f.Plot(title, filepath.Join(r.o.OutputDir, "outliers_"+task))
		if err != nil {
			return report.Section{}, nil, err
		}
		b.WriteString("\n" + figureLinks(paths, title))
		fmt.Fprintf(&b, "\nFrom `%s`.\n", f.Path())
	}
	return report.Section{Title: "Outlier dimensions (paper Sec. 4.5, Tables 3–4, Fig. 4)", Markdown: b.String(), Claims: []report.Claim{claim}},
		[]report.AnalysisTable{stats, ablation}, nil
}

// outlierClaim is Table 3's "outliers matter": disabling the outlier
// positions costs more than disabling as many random ones, so random
// positions disabled score higher.
func outlierClaim(res *report.Results, tasks []string) report.Claim {
	return report.CheckClaim(*res, "Random positions disabled", ">", "Outliers disabled",
		report.SameTaskPairs(tasks, report.DisableRandom, report.DisableOutliers))
}
