package reproduce

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/subtune/subtune/glue"
	"github.com/subtune/subtune/report"
	"github.com/subtune/subtune/subspace"
)

// setting is one row of the "Settings against the paper" table: our
// value, the paper's with where it says so, or why we chose ours when the
// paper does not say.
type setting struct{ name, ours, paper string }

// notStated marks a setting the paper leaves open, with our reason.
func notStated(why string) string { return "not stated in the paper; " + why }

// paperSettings compares pr with Zhang et al. (2023).
func paperSettings(pr Profile) []setting {
	train := "the whole training set"
	if pr.MaxTrainSamples > 0 {
		train = fmt.Sprintf("first %d examples", pr.MaxTrainSamples)
	}
	return []setting{
		{"trajectory rows", pr.Rows, "raw: the checkpoints θ1 … θt stacked (Sec. 3.2, Eq. 2)"},
		{"checkpoints t", checkpointsText(pr), "32, one per epoch; 64 for MNLI (Sec. 4.1)"},
		{"epochs (every run)", fmt.Sprintf("%g", pr.Epochs), "32, the one setting changed from run_glue (App. A.1)"},
		{"subspace dimension d per layer", dimText(pr.Dim), "32 (Sec. 4.1)"},
		{"copies h of z", fmt.Sprint(pr.Ensemble), "16 (Sec. 3.3)"},
		{"learning rate of z", fmt.Sprintf("%g", pr.SubspaceLR), "0.01 (App. A.1)"},
		{"learning rate, full space", fmt.Sprintf("%g", pr.LearningRate), "run_glue's (App. A.1): 2e-5"},
		{"batch size", fmt.Sprint(pr.BatchSize), "run_glue's (App. A.1): 32"},
		{"warmup ratio", fmt.Sprintf("%g", pr.WarmupRatio), "run_glue's (App. A.1): 0"},
		{"schedule", "linear decay, AdamW, weight decay 0", "run_glue's (App. A.1)"},
		{"training examples", train, "the whole training set"},
		{"seeds", fmt.Sprint(len(pr.Seeds)), notStated("five, to put a 95% interval on every claim")},
		{"initial z", fmt.Sprintf("N(0, %g²) per copy", subspace.DefaultOptions().InitStd),
			notStated("the paper says only \"different initialization\"; torch.randn's scale; --analyses init_std compares σ = 0 and 1/√h with it from the seeds")},
		{"random baseline", "dense Gaussian directions, orthonormalised, as many per layer as the intrinsic subspace keeps",
			notStated("\"random subspace of the same size\"; orthonormal as Eq. 1's P, matched layer by layer")},
	}
}

func checkpointsText(pr Profile) string {
	s := fmt.Sprint(pr.Checkpoints)
	for _, t := range slices.Sorted(maps.Keys(pr.TaskCheckpoints)) {
		s += fmt.Sprintf("; %d for %s", pr.TaskCheckpoints[t], glue.DisplayName(t))
	}
	return s
}

// settingsSection is REPORT.md's "Settings against the paper".
func settingsSection(pr Profile) report.Section {
	rows := [][]string{}
	for _, s := range paperSettings(pr) {
		rows = append(rows, []string{s.name, s.ours, s.paper})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Profile `%s`. The paper is Zhang, Liu & Shao (ACL 2023); sections and equations are its own.\n\n", pr.Name)
	b.WriteString(report.MarkdownTable([]string{"setting", "this run", "the paper"}, rows))
	return report.Section{Title: "Settings against the paper", Markdown: b.String()}
}
