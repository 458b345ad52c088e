package reproduce

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/subtune/subtune/dirlock"
	"github.com/subtune/subtune/internal/testmodel"
	"github.com/subtune/subtune/model"
	"github.com/subtune/subtune/report"
	"github.com/subtune/subtune/safetensors"
	"github.com/subtune/subtune/trainloop"
	"github.com/subtune/subtune/trajectory"
)

// tinyModel writes a randomly initialised 2-layer BERT with the real
// uncased vocabulary into a temporary model folder.
func tinyModel(t *testing.T) string {
	t.Helper()
	return testmodel.New(t, testmodel.Tiny(2), model.MaskedLM, 1)
}

// TestRunPipeline runs every stage on a tiny model and a slice of RTE, checks
// the report, then runs again and checks that nothing is retrained.
func TestRunPipeline(t *testing.T) {
	out := t.TempDir()
	p := Profiles["quick"]
	p.MaxTrainSamples, p.MaxEvalSamples, p.Epochs, p.BatchSize, p.Checkpoints, p.Dim, p.Ensemble = 48, 32, 2, 8, 4, 4, 2
	o := Options{Model: tinyModel(t), Tasks: []string{"rte"}, Profile: p, OutputDir: out, Log: io.Discard}
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Runs) != 4 {
		t.Fatalf("%d runs, want full, intrinsic, random and freeze", len(res.Runs))
	}
	byMethod := map[string]int{}
	for _, r := range res.Runs {
		byMethod[r.Method] = r.Trainable
	}
	if !(byMethod[report.Full] > byMethod[report.Intrinsic] && byMethod[report.Intrinsic] == byMethod[report.Random] && byMethod[report.Random] > byMethod[report.Freeze]) {
		t.Errorf("trainable parameters %v: want full > intrinsic = random > freeze", byMethod)
	}
	if len(res.Spectra) != 2 {
		t.Errorf("%d spectra, want one per layer", len(res.Spectra))
	}
	md, err := os.ReadFile(filepath.Join(out, "REPORT.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| Full", "| Intrinsic", "spectrum_rte.png"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("REPORT.md lacks %q", want)
		}
	}
	for _, f := range []string{"results.json", "spectrum_rte.png", "spectrum_rte.svg", "rte/seed42/subspace.safetensors"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}

	// A finished run keeps its model and results, not its resumable
	// checkpoints; one a reproduction before this rule left is removed when
	// the run is found done.
	for _, m := range []string{"full", "intrinsic", "random", "freeze"} {
		dir := filepath.Join(out, "rte/seed42", m)
		if cks := trainloop.Checkpoints(dir); len(cks) > 0 {
			t.Errorf("%s kept its checkpoints %v", m, cks)
		}
		for _, f := range []string{"model.safetensors", runFile} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Error(err)
			}
		}
	}
	left := filepath.Join(out, "rte/seed42/freeze", trainloop.CheckpointPrefix+"12")
	if err := os.MkdirAll(left, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(left, trainloop.StateFile), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}

	// A second run finds every stage done.
	var log strings.Builder
	o.Log = &log
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(log.String(), "cached in"); n != 4 {
		t.Errorf("second run reused %d of 4 stages:\n%s", n, log.String())
	}
	if _, err := os.Stat(left); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a finished run's old checkpoint was kept: %v", err)
	}
	// A model card written into the model folder changes no stage's key.
	if err := os.WriteFile(filepath.Join(o.Model, "README.md"), []byte("# a card\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	log.Reset()
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatalf("after a model card was added: %v", err)
	}
	if n := strings.Count(log.String(), "cached in"); n != 4 {
		t.Errorf("after a model card was added, reused %d of 4 stages:\n%s", n, log.String())
	}
	checkStageKeys(t, o)
}

// checkStageKeys checks the keys a reproduction in this process records:
// every stage has one; a half-written stage recorded with another key is
// redone; a finished stage run from other inputs is refused, naming it and
// what differs.
func checkStageKeys(t *testing.T, o Options) {
	t.Helper()
	for _, f := range []string{"rte/seed42/full", "rte/seed42/extract", "rte/seed42/intrinsic", "rte/seed42/random", "rte/seed42/freeze"} {
		if _, err := os.Stat(filepath.Join(o.OutputDir, f, stageFile)); err != nil {
			t.Errorf("stage %s recorded no key: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(o.OutputDir, "report_"+stageFile)); err != nil {
		t.Error(err)
	}

	freeze := filepath.Join(o.OutputDir, "rte/seed42/freeze")
	if err := os.WriteFile(filepath.Join(freeze, stageFile), []byte(`{"id":"rte/seed42/freeze","key":"0123456789abcdef"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(freeze, runFile)); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	o.Log = &log
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatalf("a half-written stage recorded with another key: %v", err)
	}
	if n := strings.Count(log.String(), "cached in"); n != 3 {
		t.Errorf("reused %d stages, want all but the half-written freeze run:\n%s", n, log.String())
	}
	if data, err := os.ReadFile(filepath.Join(freeze, stageFile)); err != nil || strings.Contains(string(data), "0123456789abcdef") {
		t.Errorf("the redone stage's key was not recorded again: %s %v", data, err)
	}

	o.Profile.LearningRate *= 2
	_, err := Run(context.Background(), o)
	want := fmt.Sprintf("learning_rate: %g → %g", o.Profile.LearningRate/2, o.Profile.LearningRate)
	if err == nil || !strings.Contains(err.Error(), "stage rte/seed42/full was run from other inputs") || !strings.Contains(err.Error(), want) {
		t.Errorf("with another learning rate: err = %v, want the full run refused, saying %q", err, want)
	}
}

// TestRunAnalyses runs every analysis on a tiny model, two tasks and two
// seeds: every run is traced in results.json and REPORT.md, sweep values
// equal to Table 1's subspace reuse its run, and a second invocation trains
// nothing.
func TestRunAnalyses(t *testing.T) {
	out := t.TempDir()
	p := Profiles["quick"]
	p.MaxTrainSamples, p.MaxEvalSamples, p.Epochs, p.BatchSize, p.Checkpoints, p.Dim, p.Ensemble = 48, 32, 2, 8, 6, 4, 2
	p.Seeds = []int{1, 2}
	var log strings.Builder
	o := Options{Model: tinyModel(t), Tasks: []string{"sst2", "cola"}, Profile: p, OutputDir: out, Log: &log,
		Analyses: AnalysisNames, Dims: []int{2, 4, 8}, Lengths: []int{2, 6, 8}}
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	// Per task and seed: Table 1's 4; transfer 1; unified, zero-shot and
	// random 3; dims d=2 and d=8→6 (d=4 is Table 1's); t=2 (t=6 and t=8→6
	// are Table 1's); spacing: the per-epoch run, its subspace's run and
	// first 2 (its other sides are t=2 and Table 1's); raw and centered
	// rows; the two ablation runs; z started at σ = 0 and 1/√h (σ = 1 is
	// Table 1's).
	const perPipe = 4 + 1 + 3 + 2 + 1 + 3 + 2 + 2 + 2
	if n := len(res.Runs); n != 2*2*perPipe {
		t.Errorf("%d runs, want %d", n, 2*2*perPipe)
	}
	if !strings.Contains(log.String(), fmt.Sprintf("(run %d of %d, ", 2*2*perPipe, 2*2*perPipe)) {
		t.Errorf("the log does not count the runs:\n%s", log.String())
	}
	tables := map[string]report.AnalysisTable{}
	for _, tab := range res.Analyses {
		tables[tab.Analysis+"/"+tab.Name] = tab
		for i, row := range tab.Cells {
			for j, c := range row {
				if c.N == 0 && tab.Analysis != AnalysisOutliers {
					t.Errorf("%s/%s [%s, %s] has no value", tab.Analysis, tab.Name, tab.Rows[i], tab.Cols[j])
				}
				for _, d := range c.Runs {
					if _, err := os.Stat(d); err != nil {
						t.Errorf("%s/%s [%s, %s]: run %v", tab.Analysis, tab.Name, tab.Rows[i], tab.Cols[j], err)
					}
				}
			}
		}
	}
	for _, want := range []string{"transfer/scores", "transfer/drop", "unified/scores", "dims/scores", "trajectory/scores",
		"trajectory/spacing", "trajectory/spacing_diff", "rows/scores", "outliers/outliers", "outliers/ablation", "init_std/scores"} {
		if _, ok := tables[want]; !ok {
			t.Errorf("no analysis table %s", want)
		}
	}
	if c := tables["dims/scores"].Cells[2][0]; c.Note != "d=6" || c.N != 2 {
		t.Errorf("dims d=8 on a 6-checkpoint trajectory: %+v", c)
	}
	if c := tables["dims/scores"].Cells[1][1]; c.Note != "Table 1's run" || !strings.HasSuffix(c.Runs[0], filepath.Join("cola", "seed1", "intrinsic")) {
		t.Errorf("dims d=4 should be Table 1's run: %+v", c)
	}
	if c := tables["transfer/scores"].Cells[1][0]; !strings.HasSuffix(c.Runs[0], filepath.Join("sst2", "seed1", "transfer_from_cola")) {
		t.Errorf("transfer cola → sst2 from %v", c.Runs)
	}

	checkSpacing(t, out, tables["trajectory/spacing"], tables["trajectory/spacing_diff"])
	checkPrepStages(t, o)

	md, err := os.ReadFile(filepath.Join(out, "REPORT.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Transfer between tasks", "### Spacing", "`full_epoch`", "`intrinsic_epoch`", "`intrinsic_first2`", "## Unified subspace", "## Subspace dimension", "## Trajectory length",
		"## Rows of the trajectory matrix", "## Outlier dimensions", "Zero-shot (d=1)", "transfer_scores.png", "dims.png",
		"trajectory.png", "outliers_sst2.png", "| transfer:cola", "| disable_random", "## Initialisation of z",
		"- Transferred > Random ", "- Unified ≈ Full ", "- Zero-shot > Random (d=2) ", "- Random positions disabled > Outliers disabled ",
		"- d = 2 ≈ d = 4 ", "- d = 8 ≈ d = 4 ", "- t = 2 ≈ t = 6 ", "- 2 evenly spaced ≈ first 2 ", "- raw rows ≈ delta rows ",
		"- centered rows ≈ delta rows ", "choice of rows", "- σ = 0 ≈ σ = 1 "} {
		if !strings.Contains(string(md), want) {
			t.Errorf("REPORT.md lacks %q", want)
		}
	}
	for _, f := range []string{"transfer_scores.svg", "transfer_drop.png", "dims.svg", "trajectory.svg", "outliers_cola.svg",
		"unified/seed2/zeroshot_cola.safetensors", "sst2/seed1/subspace_d2.safetensors",
		"cola/seed2/full_epoch/trajectory", "cola/seed2/subspace_epoch.safetensors", "sst2/seed1/subspace_first2.safetensors", "sst2/seed1/outliers/outliers.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	saved, err := report.Load(filepath.Join(out, "results.json"))
	if err != nil || len(saved.Analyses) != len(res.Analyses) {
		t.Errorf("results.json: %d analysis tables, %v", len(saved.Analyses), err)
	}
	// Table 1's 3, transfer 1, unified 2, outliers 1, dims 2, t 1, spacing
	// 2, rows 2, σ 2: every claim REPORT.md states.
	if len(saved.Claims) != 16 {
		var names []string
		for _, c := range saved.Claims {
			names = append(names, c.Left+" "+c.Op+" "+c.Right)
		}
		t.Errorf("results.json holds %d claims, want 16: %q", len(saved.Claims), names)
	}

	// A second run trains nothing.
	log.Reset()
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(log.String(), "cached in"); n != 2*2*perPipe {
		t.Errorf("second run reused %d of %d runs:\n%s", n, 2*2*perPipe, log.String())
	}
}

// checkSpacing checks the trajectory analysis's spacing tables of
// TestRunAnalyses (epochs 2, a trajectory of 6 checkpoints every 2 steps,
// t = 2, 6, 8): per epoch against 2 evenly spaced step checkpoints, first 2
// against 2 evenly spaced (6 and 8 cover the whole trajectory and are left
// out), and the subspaces behind them.
func checkSpacing(t *testing.T, out string, scores, diff report.AnalysisTable) {
	t.Helper()
	wantRows := []string{"per epoch, t=2", "per N steps, 2 evenly spaced", "first 2", "2 evenly spaced"}
	if !slices.Equal(scores.Rows, wantRows) || !slices.Equal(diff.Rows, []string{"t=2: per N steps − per epoch", "t=2: evenly spaced − first"}) {
		t.Fatalf("spacing rows %q, differences %q", scores.Rows, diff.Rows)
	}
	for i, run := range []string{"intrinsic_epoch", "intrinsic_t2", "intrinsic_first2", "intrinsic_t2"} {
		c := scores.Cells[i][0]
		if want := filepath.Join("sst2", "seed1", run); len(c.Runs) != 2 || !strings.HasSuffix(c.Runs[0], want) {
			t.Errorf("%s on SST-2 traced to %v, want %s", scores.Rows[i], c.Runs, want)
		}
	}
	if c := scores.Cells[1][0]; c.Note != "2 of 6, every 2 steps" {
		t.Errorf("per N steps note %q", c.Note)
	}
	// Epoch ends (steps 6 and 12) are checkpoints 2 and 5 of the steps
	// trajectory, which is what 2 evenly spaced keeps: the same subspace,
	// and, training alike, the same scores.
	if c := diff.Cells[0][2]; c.Mean != 0 || c.Std != 0 {
		t.Errorf("per epoch and per N steps at t=2 differ by %v ± %v on average, want 0: the same checkpoints", c.Mean, c.Std)
	}
	for i := range diff.Rows {
		c := diff.Cells[i][1]
		want := scores.Cells[2*i+1][1].Mean - scores.Cells[2*i][1].Mean
		if c.N != 2 || math.Abs(c.Mean-want) > 1e-9 || len(c.Runs) != 4 {
			t.Errorf("%s on CoLA: %+v, want %v over 2 seeds from 4 runs", diff.Rows[i], c, want)
		}
	}
	for _, tc := range []struct {
		file string
		want map[string]string
	}{
		{"sst2/seed1/subspace_epoch.safetensors", map[string]string{"t": "2"}},
		{"sst2/seed1/subspace_first2.safetensors", map[string]string{"t": "2", "trajectory_checkpoints": "[0,1]", "trajectory_length": "6"}},
		{"sst2/seed1/subspace_t2.safetensors", map[string]string{"t": "2", "trajectory_checkpoints": "[2,5]"}},
	} {
		f, err := safetensors.Open(filepath.Join(out, tc.file))
		if err != nil {
			t.Error(err)
			continue
		}
		meta := f.Metadata()
		f.Close()
		for k, v := range tc.want {
			if meta[k] != v {
				t.Errorf("%s: %s = %q, want %q", tc.file, k, meta[k], v)
			}
		}
	}
	// The per-epoch run trains as Table 1's: one checkpoint per epoch, the
	// last the weights Table 1's trajectory ends at.
	ep, err := trajectory.Open(filepath.Join(out, "sst2", "seed1", "full_epoch", "trajectory"))
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	st, err := trajectory.Open(filepath.Join(out, "sst2", "seed1", "full", "trajectory"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if ep.NumCheckpoints() != 2 || st.NumCheckpoints() != 6 {
		t.Fatalf("%d checkpoints per epoch, %d per steps; want 2 and 6", ep.NumCheckpoints(), st.NumCheckpoints())
	}
	a, b := make([]float32, ep.Manifest.LayerSize), make([]float32, st.Manifest.LayerSize)
	if err := ep.ReadLayer(1, 0, a); err != nil {
		t.Fatal(err)
	}
	if err := st.ReadLayer(5, 0, b); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a, b) {
		t.Error("the per-epoch run ends elsewhere than Table 1's full run")
	}
}

// TestRunHeldFolder: a reproduction into a folder another one holds is
// refused at once, naming the folder and the holder's pid.
func TestRunHeldFolder(t *testing.T) {
	out := t.TempDir()
	holder, err := dirlock.Acquire(out)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Release()
	o := Options{Model: "no-such-model", Tasks: []string{"rte"}, Profile: Profiles["quick"], OutputDir: out, Log: io.Discard}
	_, err = Run(context.Background(), o)
	if !errors.Is(err, dirlock.ErrBusy) || !strings.Contains(err.Error(), out) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Fatalf("err = %v, want dirlock.ErrBusy naming %s and this pid", err, out)
	}
}

// checkPrepStages checks that the extractions the analyses need and the
// outlier analysis are stages of the plan, after the runs they read and
// before those that read them, done and recorded.
func checkPrepStages(t *testing.T, o Options) {
	t.Helper()
	stages, err := Plan(o)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]PlanStage{}
	for _, s := range stages {
		byID[s.ID] = s
		if s.ID != ReportStage && !s.Done {
			t.Errorf("stage %s is not done", s.ID)
		}
		if _, err := os.Stat(filepath.Join(o.OutputDir, s.ID, stageFile)); err != nil && s.ID != ReportStage {
			t.Errorf("stage %s recorded no key: %v", s.ID, err)
		}
	}
	for _, c := range []struct{ id, kind, dep, usedBy string }{
		{"sst2/seed1/extract_d2", kindExtract, "sst2/seed1/full", "sst2/seed1/intrinsic_d2"},
		{"cola/seed2/extract_epoch", kindExtract, "cola/seed2/" + report.FullEpoch, "cola/seed2/intrinsic_epoch"},
		{"unified/seed2/extract_zeroshot_cola", kindExtract, "sst2/seed2/full", "cola/seed2/" + report.ZeroShot},
		{"unified/seed1/extract", kindExtract, "cola/seed1/full", "sst2/seed1/" + report.Unified},
		{"sst2/seed1/outliers", kindAnalysis, "sst2/seed1/intrinsic", "sst2/seed1/" + report.DisableRandom},
	} {
		s, ok := byID[c.id]
		if !ok || s.Kind != c.kind || !slices.Contains(s.DependsOn, c.dep) {
			t.Errorf("stage %s: %+v, want a stage of kind %s after %s", c.id, s, c.kind, c.dep)
		}
		if !slices.Contains(byID[c.usedBy].DependsOn, c.id) {
			t.Errorf("stage %s depends on %v, not on %s", c.usedBy, byID[c.usedBy].DependsOn, c.id)
		}
	}
}
