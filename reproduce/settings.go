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
// value, the paper's with where it says so (its own section, equation,
// table or appendix numbers), or why we chose ours when the paper does not
// say.
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
		{"trajectory rows", pr.Rows, "raw: each saved checkpoint's flattened layer is a row of W, not shifted by θ0 nor centred " +
			"(Sec. 3.2, Eq. 2; Sec. 4.1); the trajectory is indexed from θ0 but W has t rows"},
		{"checkpoints t", checkpointsText(pr), "32, one saved every epoch; 64 for MNLI (Sec. 4.1)"},
		{"epochs (every run)", epochsText(pr), "32 for the full fine-tuning that records the trajectory, 64 for MNLI (one checkpoint " +
			"per epoch, Sec. 4.1); App. A.1 changes only this from the script's defaults, wording 32 and 64 the other way round, " +
			"and does not give the epochs of subspace fine-tuning"},
		{"subspace dimension d per layer", dimText(pr.Dim), "d = t: 32; 64 for MNLI (Sec. 3.2; Table 1's caption; App. A.1, again worded the other way round)"},
		{"copies h of z", fmt.Sprint(pr.Ensemble), "16 (Sec. 3.3, Eq. 4; App. A.1)"},
		{"learning rate of z", fmt.Sprintf("%g", pr.SubspaceLR), "0.01 (Sec. 4.1; App. A.1)"},
		{"learning rate, full space", fmt.Sprintf("%g", pr.LearningRate), "the script's default (App. A.1), kept for the embeddings and " +
			"classifier of subspace runs (Sec. 4.1); the paper gives no value: 2e-5 in run_glue's README command, 5e-5 in TrainingArguments"},
		{"batch size", fmt.Sprint(pr.BatchSize), "the script's default (App. A.1); the paper gives no value: 32 in run_glue's README command, 8 in TrainingArguments"},
		{"warmup ratio", fmt.Sprintf("%g", pr.WarmupRatio), "the script's default (App. A.1), 0; the paper gives no value"},
		{"schedule", "linear decay, AdamW, weight decay 0", "the script's defaults (App. A.1); the paper names none of them"},
		{"training examples", train, "the script's default (App. A.1), the whole training set; the paper mentions no subsampling"},
		{"seeds", fmt.Sprint(len(pr.Seeds)), "5, results averaged over them (Sec. 4.1; App. A.1); the seed values are not stated"},
		{"initial z", fmt.Sprintf("N(0, %g²) per copy", subspace.DefaultOptions().InitStd),
			notStated("Sec. 3.3 says only that the h copies have \"different initialization\"; torch.randn's scale; --analyses init_std compares σ = 0 and 1/√h with it from the seeds")},
		{"random baseline", "dense Gaussian directions, orthonormalised, as many per layer as the intrinsic subspace keeps",
			"a random subspace (Table 1's caption; its d, 32 or 64 for MNLI, reads as covering Random too); P has orthonormal " +
				"columns and is applied layer by layer (Sec. 3.1, Eq. 1); how P is drawn is not stated in the paper"},
	}
}

// epochsText is the epochs, and each task's own where it saves one
// checkpoint per epoch and keeps another t.
func epochsText(pr Profile) string {
	s := fmt.Sprintf("%g", pr.Epochs)
	if !pr.perEpoch() {
		return s
	}
	for _, t := range slices.Sorted(maps.Keys(pr.TaskCheckpoints)) {
		s += fmt.Sprintf("; %g for %s", pr.forTask(t).Epochs, glue.DisplayName(t))
	}
	return s
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
	fmt.Fprintf(&b, "Profile `%s`. The paper is Zhang, Liu & Shao (ACL 2023); sections, equations, tables and appendix are its own.\n\n", pr.Name)
	b.WriteString(report.MarkdownTable([]string{"setting", "this run", "the paper"}, rows))
	return report.Section{Title: "Settings against the paper", Markdown: b.String()}
}
