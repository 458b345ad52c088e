package reproduce

import (
	"strings"
	"testing"
)

func TestPaperProfileAsWritten(t *testing.T) {
	p, err := LookupProfile("paper")
	if err != nil {
		t.Fatal(err)
	}
	// d = t: every direction the trajectory spans (Dim 0).
	if p.Rows != "raw" || p.WarmupRatio != 0 || p.Epochs != 32 || p.Dim != 0 {
		t.Errorf("paper profile: rows %q, warmup %g, epochs %g, d %d; want raw, 0, 32, 0 (= t)", p.Rows, p.WarmupRatio, p.Epochs, p.Dim)
	}
	// One checkpoint per epoch: MNLI's 64 are 64 epochs.
	for _, c := range []struct {
		task   string
		t      int
		epochs float64
	}{{"sst2", 32, 32}, {"cola", 32, 32}, {"mnli", 64, 64}} {
		if got := p.forTask(c.task); got.Checkpoints != c.t || got.Epochs != c.epochs || !got.perEpoch() {
			t.Errorf("%s: t = %d over %g epochs, want %d over %g", c.task, got.Checkpoints, got.Epochs, c.t, c.epochs)
		}
	}
	if q, _ := LookupProfile("quick"); q.forTask("mnli").Epochs != q.Epochs {
		t.Error("a profile that saves checkpoints by steps changed its epochs for a task")
	}
	if p.maxCheckpoints() != 64 {
		t.Errorf("maxCheckpoints = %d, want 64", p.maxCheckpoints())
	}
	// LookupProfile hands out copies: changing one leaves the table alone.
	p.TaskCheckpoints["mnli"] = 1
	if q, _ := LookupProfile("paper"); q.TaskCheckpoints["mnli"] != 64 {
		t.Error("LookupProfile shares TaskCheckpoints with Profiles")
	}
}

func TestRowsRefused(t *testing.T) {
	o := Options{Tasks: []string{"sst2"}, OutputDir: t.TempDir(), Model: "m",
		Profile: Profile{Name: "x", Epochs: 1, BatchSize: 8, LearningRate: 1e-4, Checkpoints: 2, Seeds: []int{1}, Rows: "diagonal"}}
	if err := o.Validate(); err == nil {
		t.Fatal("rows \"diagonal\" accepted")
	}
}

// TestSettingsSection: every setting of the paper profile has a row, and
// the paper's column cites the paper's own sections, equations, tables or
// appendix, or says the paper does not state it.
func TestSettingsSection(t *testing.T) {
	p, _ := LookupProfile("paper")
	md := settingsSection(p).Markdown
	for _, want := range []string{"| trajectory rows", "| raw ", "32; 64 for MNLI", "| warmup ratio", "not stated in the paper", "App. A.1"} {
		if !strings.Contains(md, want) {
			t.Errorf("settings table lacks %q:\n%s", want, md)
		}
	}
	for _, s := range paperSettings(p) {
		cites := false
		for _, ref := range []string{"Sec. ", "Eq. ", "Table ", "App. A.", "not stated"} {
			cites = cites || strings.Contains(s.paper, ref)
		}
		if !cites {
			t.Errorf("%s neither cites the paper nor says it is not stated: %q", s.name, s.paper)
		}
	}
}
