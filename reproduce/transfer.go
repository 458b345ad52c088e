package reproduce

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"github.com/subtune/subtune/figure"
	"github.com/subtune/subtune/glue"
	"github.com/subtune/subtune/report"
)

// transferJobs fine-tune every task B, for every seed, in the intrinsic
// subspace of every other task A extracted with the same seed (paper Sec.
// 4.3).
func transferJobs(r *reproduction) ([]job, error) {
	var jobs []job
	for _, pb := range r.pipes {
		for _, a := range r.o.Tasks {
			if a == pb.task.Name {
				continue
			}
			pa := r.pipe(a, pb.seed)
			jobs = append(jobs, job{pb, runSpec{method: report.Transfer(a), basis: pa.basisPath(),
				prepare: func(*runSpec) error { return pa.extract() }}})
		}
	}
	return jobs, nil
}

// randomRow labels the transfer tables' row of random subspaces.
const randomRow = "Random"

// transferTables assembles the transfer matrices from finished runs, rows
// the task A whose subspace is used and columns the task B fine-tuned on:
// scores[A][B] is B in A's subspace (A = B: B's own intrinsic run), with a
// last row of B's random-subspace runs; drop is the points lost against
// B's own subspace, seed by seed (0 on the diagonal), with an "avg" column
// per source over the other tasks.
func transferTables(ix runIndex, tasks []string, seeds []int) (scores, drop report.AnalysisTable) {
	rows := append(append([]string(nil), tasks...), randomRow)
	scores = report.NewAnalysisTable(AnalysisTransfer, "scores", "score ×100", rows, tasks)
	drop = report.NewAnalysisTable(AnalysisTransfer, "drop", "points lost against the target's own subspace", rows, tasks)
	for j, b := range tasks {
		own := ix.get(b, report.Intrinsic, seeds)
		for i, a := range rows {
			var runs []report.Run
			note := ""
			switch {
			case a == randomRow:
				runs = ix.get(b, report.Random, seeds)
			case a == b:
				runs, note = own, "own"
			default:
				runs = ix.get(b, report.Transfer(a), seeds)
			}
			scores.Cells[i][j] = scoreCell(runs, note)
			drop.Cells[i][j] = dropCell(own, runs, note)
		}
	}
	drop = withAvg(drop, func(i, j int) bool { return i == j })
	return scores, drop
}

func transferSection(r *reproduction, res *report.Results) (report.Section, []report.AnalysisTable, error) {
	tasks := r.o.Tasks
	scores, drop := transferTables(indexRuns(res.Runs), tasks, r.o.Profile.Seeds)
	var rowLabels, colLabels []string
	for _, t := range scores.Rows {
		rowLabels = append(rowLabels, glue.DisplayName(t))
	}
	for _, t := range tasks {
		colLabels = append(colLabels, glue.DisplayName(t))
	}
	scoreFig, err := figure.HeatmapPlot{Matrix: scores.Means(), RowLabels: rowLabels, ColLabels: colLabels,
		Title: "Transfer: dev score ×100", RowAxis: "subspace from", ColAxis: "fine-tuned on"}.Save(filepath.Join(r.o.OutputDir, "transfer_scores"))
	if err != nil {
		return report.Section{}, nil, err
	}
	dropMeans := drop.Means()
	for i := range dropMeans {
		dropMeans[i] = dropMeans[i][:len(tasks)] // without avg
	}
	dropFig, err := figure.HeatmapPlot{Matrix: dropMeans, RowLabels: rowLabels, ColLabels: colLabels,
		Title: "Transfer: drop against own subspace", RowAxis: "subspace from", ColAxis: "fine-tuned on",
		Diverging: true}.Save(filepath.Join(r.o.OutputDir, "transfer_drop"))
	if err != nil {
		return report.Section{}, nil, err
	}

	var b strings.Builder
	fmt.Fprintf(&b, "Fine-tuning on task B (columns) inside the intrinsic subspace extracted from task A's trajectory "+
		"(rows), with the same seed. The diagonal is B's own subspace (Table 1's Intrinsic), the last row B's random "+
		"subspace (Table 1's Random). The transferred runs are method `%s` on task B.\n\n", report.Transfer("A"))
	b.WriteString("### Scores (×100, mean ± std over seeds)\n\n")
	b.WriteString(scores.Markdown("from \\ on"))
	b.WriteString(r.runsNote(scores))
	b.WriteString("\n" + figureLinks(scoreFig, "transfer scores"))
	b.WriteString("\n### Drop against the target's own subspace (points, own − transferred, paired by seed)\n\n")
	b.WriteString(drop.Markdown("from \\ on"))
	b.WriteString("\navg: the mean drop of a source's subspace over the other tasks.\n")
	b.WriteString(r.runsNote(drop) + "\n")
	b.WriteString(figureLinks(dropFig, "transfer drop"))
	claim := transferClaim(res, tasks)
	findings, err := transferFindings(r, claim, drop)
	if err != nil {
		return report.Section{}, nil, err
	}
	b.WriteString("\n" + findings)
	return report.Section{Title: "Transfer between tasks (paper Sec. 4.3, Fig. 2)", Markdown: b.String(), Claims: []report.Claim{claim}},
		[]report.AnalysisTable{scores, drop}, nil
}

// transferClaim is the paper's "transferred subspaces beat random ones":
// every task B in every other task A's subspace against B's random
// subspace, decided from the seeds.
func transferClaim(res *report.Results, tasks []string) report.Claim {
	var pairs []report.Pair
	for _, b := range tasks {
		for _, a := range tasks {
			if a != b {
				pairs = append(pairs, report.Pair{Task: b, Left: report.Transfer(a), Right: report.Random})
			}
		}
	}
	return report.CheckClaim(*res, "Transferred", ">", "Random", pairs)
}

// transferFindings states the paper's claim that transferred subspaces
// beat random ones (transferClaim), and each source's mean drop
// (the paper: subspaces of small tasks transfer better).
func transferFindings(r *reproduction, claim report.Claim, drop report.AnalysisTable) (string, error) {
	tasks := r.o.Tasks
	var b strings.Builder
	b.WriteString(report.ClaimList(claim))
	var parts []string
	for i, a := range tasks {
		n, err := r.pipe(a, r.o.Profile.Seeds[0]).trainExamples()
		if err != nil {
			return "", err
		}
		parts = append(parts, fmt.Sprintf("%s %s (%d training examples)", glue.DisplayName(a), fmtPoints(drop.Cells[i][len(tasks)].Mean), n))
	}
	fmt.Fprintf(&b, "\nMean drop of each source's subspace: %s (the paper: subspaces from small tasks transfer better than from large ones).\n",
		strings.Join(parts, ", "))
	return b.String(), nil
}

// fmtPoints writes a number of points with one decimal and its sign.
func fmtPoints(x float64) string {
	if math.IsNaN(x) {
		return "—"
	}
	return fmt.Sprintf("%+.1f", x)
}
