package report

import (
	"math"
	"path/filepath"
	"strings"
	"testing"
)

func analysisFixture() AnalysisTable {
	t := NewAnalysisTable("transfer", "scores", "score ×100", []string{"cola", "Random"}, []string{"sst2", "cola"})
	t.Cells[0][0] = Cell{Summary: SummarizeValues([]float64{80, 82}), Runs: []string{"sst2/seed1/transfer_from_cola", "sst2/seed2/transfer_from_cola"}}
	t.Cells[0][1] = Cell{Summary: SummarizeValues([]float64{40}), Note: "own", Runs: []string{"cola/seed1/intrinsic"}}
	t.Cells[1][0] = Cell{Summary: SummarizeValues([]float64{70, math.NaN()}), Runs: []string{"a", "b"}}
	// Cells[1][1] stays empty.
	return t
}

// TestAnalysisTableMarkdown: task names as the paper spells them, mean ±
// std, a lone mean, notes, NaN counts and empty cells.
func TestAnalysisTableMarkdown(t *testing.T) {
	md := analysisFixture().Markdown("from")
	for _, want := range []string{
		"| from   | SST-2        | CoLA       |",
		"| CoLA   | 81.0 ± 1.4   | 40.0 (own) |",
		"| Random | 70.0 (1 NaN) | —          |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

// TestAnalysisTableRoundTrip: results.json keeps the tables, NaN as null,
// with every cell's runs.
func TestAnalysisTableRoundTrip(t *testing.T) {
	r := fixture()
	r.Analyses = []AnalysisTable{analysisFixture()}
	path := filepath.Join(t.TempDir(), "results.json")
	if err := r.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Analyses) != 1 {
		t.Fatalf("%d analysis tables after a round trip", len(got.Analyses))
	}
	a, b := got.Analyses[0], r.Analyses[0]
	if a.Analysis != b.Analysis || a.Name != b.Name || a.Unit != b.Unit || strings.Join(a.Rows, ",") != strings.Join(b.Rows, ",") || strings.Join(a.Cols, ",") != strings.Join(b.Cols, ",") {
		t.Errorf("header %+v, want %+v", a, b)
	}
	for i := range b.Cells {
		for j, want := range b.Cells[i] {
			c := a.Cells[i][j]
			if !sameFloat(c.Mean, want.Mean) || !sameFloat(c.Std, want.Std) || c.N != want.N || c.NaN != want.NaN || c.Note != want.Note || strings.Join(c.Runs, ",") != strings.Join(want.Runs, ",") {
				t.Errorf("cell [%d,%d] %+v, want %+v", i, j, c, want)
			}
		}
	}
	if got := r.Analysis("transfer"); len(got) != 1 || len(r.Analysis("unified")) != 0 {
		t.Errorf("Analysis: %d transfer tables", len(got))
	}
}

func TestAnalysisTableValidate(t *testing.T) {
	r := fixture()
	r.Analyses = []AnalysisTable{analysisFixture()}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	ragged := analysisFixture()
	ragged.Cells[1] = ragged.Cells[1][:1]
	r.Analyses = []AnalysisTable{ragged}
	if err := r.Validate(); err == nil || !strings.Contains(err.Error(), `row "Random" has 1 cells for 2 columns`) {
		t.Errorf("ragged: %v", err)
	}
	r.Analyses = []AnalysisTable{analysisFixture(), analysisFixture()}
	if err := r.Validate(); err == nil || !strings.Contains(err.Error(), "two analysis tables transfer/scores") {
		t.Errorf("duplicate: %v", err)
	}
}
