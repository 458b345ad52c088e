package reproduce

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/subtune/subtune/report"
	"github.com/subtune/subtune/subspace"
)

// unifiedRandom is the method of the random baseline with as many
// dimensions as the unified subspace.
func unifiedRandom(d int) string { return fmt.Sprintf("random_d%d", d) }

// unifiedSources are the tasks whose endpoints span the subspace used for
// target: every task for the unified subspace (target ""), every other
// one for the zero-shot subspace.
func unifiedSources(tasks []string, target string) []string {
	var out []string
	for _, t := range tasks {
		if t != target {
			out = append(out, t)
		}
	}
	return out
}

// unifiedPath is where the unified subspace of a seed goes, or with a
// target the zero-shot one that leaves it out; it belongs to no single
// task, so it sits beside them.
func (r *reproduction) unifiedPath(seed int, target string) string {
	name := "unified.safetensors"
	if target != "" {
		name = "zeroshot_" + target + ".safetensors"
	}
	return filepath.Join(r.o.OutputDir, "unified", fmt.Sprintf("seed%d", seed), name)
}

// extractUnified builds unifiedPath(seed, target) from the last checkpoint
// of the full run of each of unifiedSources, unless it exists.
func (r *reproduction) extractUnified(seed int, target string) error {
	path := r.unifiedPath(seed, target)
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	var runs []*subspace.Run
	for _, task := range unifiedSources(r.o.Tasks, target) {
		run, err := subspace.OpenRun(r.pipe(task, seed).trajectoryDir())
		if err != nil {
			return err
		}
		defer run.Close()
		runs = append(runs, run)
	}
	u, err := subspace.Unified(runs, nil)
	if err != nil {
		return err
	}
	if _, err := subspace.Extract(u, path, subspace.ExtractOptions{Rows: r.o.Profile.Rows, Log: r.o.Log}); err != nil {
		return fmt.Errorf("extracting %s: %w", path, err)
	}
	return nil
}

// unifiedPrep is the extraction of unifiedPath(seed, target), a stage that
// reads the full run of each of unifiedSources.
func (r *reproduction) unifiedPrep(seed int, target string) prep {
	path := r.unifiedPath(seed, target)
	var reads []string
	for _, task := range unifiedSources(r.o.Tasks, target) {
		reads = append(reads, r.pipe(task, seed).runDir(report.Full))
	}
	name := "extract"
	if target != "" {
		name = "extract_zeroshot_" + target
	}
	return prep{dir: filepath.Join(filepath.Dir(path), name), kind: kindExtract, out: path, reads: reads,
		inputs: "rows=" + r.o.Profile.Rows, make: func() error { return r.extractUnified(seed, target) }}
}

// unifiedJobs fine-tune every task, for every seed, in the unified
// subspace, in the zero-shot one, and in a random one of the unified
// subspace's dimension.
func unifiedJobs(r *reproduction) ([]job, error) {
	var jobs []job
	d := len(r.o.Tasks)
	for _, p := range r.pipes {
		seed, target := p.seed, p.task.Name
		jobs = append(jobs,
			job{p, runSpec{method: report.Unified, basis: r.unifiedPath(seed, ""), needs: []prep{r.unifiedPrep(seed, "")}}},
			job{p, runSpec{method: report.ZeroShot, basis: r.unifiedPath(seed, target), needs: []prep{r.unifiedPrep(seed, target)}}},
			job{p, runSpec{method: unifiedRandom(d), random: d}},
		)
	}
	return jobs, nil
}

// unifiedTable is Table 2: rows Unified, Zero-shot, Random of the same d
// and Full, one column per task and their average.
func unifiedTable(ix runIndex, tasks []string, seeds []int) report.AnalysisTable {
	d := len(tasks)
	rows := []struct{ label, method string }{
		{fmt.Sprintf("Unified (d=%d)", d), report.Unified},
		{fmt.Sprintf("Zero-shot (d=%d)", d-1), report.ZeroShot},
		{fmt.Sprintf("Random (d=%d)", d), unifiedRandom(d)},
		{"Full", report.Full},
	}
	var labels []string
	for _, row := range rows {
		labels = append(labels, row.label)
	}
	t := report.NewAnalysisTable(AnalysisUnified, "scores", "score ×100", labels, tasks)
	for i, row := range rows {
		for j, task := range tasks {
			t.Cells[i][j] = scoreCell(ix.get(task, row.method, seeds), "")
		}
	}
	return withAvg(t, nil)
}

func unifiedSection(r *reproduction, res *report.Results) (report.Section, []report.AnalysisTable, error) {
	t := unifiedTable(indexRuns(res.Runs), r.o.Tasks, r.o.Profile.Seeds)
	d := len(r.o.Tasks)
	var b strings.Builder
	fmt.Fprintf(&b, "One subspace per layer from the last checkpoint of every task's full fine-tuning trajectory (%d tasks, "+
		"so d = %d; %s rows), used to fine-tune each task. Zero-shot leaves the target task's own checkpoint out (d = %d); "+
		"Random is a dense random subspace of d = %d; Full is Table 1's full fine-tuning. The subspaces are in %s.\n\n",
		d, d, r.o.Profile.Rows, d-1, d, "`"+filepath.Join(r.o.OutputDir, "unified", "seed<seed>")+"`")
	b.WriteString("Dev scores ×100, mean ± std over seeds; avg over tasks.\n\n")
	b.WriteString(t.Markdown("Method"))
	b.WriteString(r.runsNote(t))
	b.WriteString("\nThe paper (BERT-base, 8 GLUE tasks, averages): Random 70.82, Zero-shot 76.47, Unified 82.48, Full 82.13.\n\n")
	claims := unifiedClaims(res, r.o.Tasks)
	b.WriteString(report.ClaimList(claims...))
	return report.Section{Title: "Unified subspace (paper Sec. 4.4, Table 2)", Markdown: b.String(), Claims: claims},
		[]report.AnalysisTable{t}, nil
}

// unifiedClaims are Table 2's: the unified subspace does as well as full
// fine-tuning, and the zero-shot one, a direction short, better than a
// random subspace of the unified d.
func unifiedClaims(res *report.Results, tasks []string) []report.Claim {
	d := len(tasks)
	return []report.Claim{
		report.CheckClaim(*res, "Unified", "≈", "Full", report.SameTaskPairs(tasks, report.Unified, report.Full)),
		report.CheckClaim(*res, "Zero-shot", ">", fmt.Sprintf("Random (d=%d)", d), report.SameTaskPairs(tasks, report.ZeroShot, unifiedRandom(d))),
	}
}
