package reproduce

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/subtune/subtune/report"
	"github.com/subtune/subtune/subspace"
)

// TestRunInitStd runs the init_std analysis on a tiny model: σ = 0 and
// 1/√h get runs of their own that started there (their coordinates say
// so), σ = 1 is Table 1's run, and REPORT.md compares each with it.
func TestRunInitStd(t *testing.T) {
	out := t.TempDir()
	p := Profiles["quick"]
	p.MaxTrainSamples, p.MaxEvalSamples, p.Epochs, p.BatchSize, p.Checkpoints, p.Dim, p.Ensemble = 48, 32, 2, 8, 6, 4, 4
	p.Seeds = []int{1, 2}
	var log strings.Builder
	o := Options{Model: tinyModel(t), Tasks: []string{"sst2"}, Profile: p, OutputDir: out, Log: &log, Analyses: []string{AnalysisInitStd}}
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if n := len(res.Runs); n != 2*(4+2) {
		t.Errorf("%d runs, want Table 1's 4 and 2 starts per seed, 12", n)
	}
	for _, tc := range []struct {
		method string
		std    float64
	}{{"intrinsic_init_std0", 0}, {"intrinsic_init_std0.5", 0.5}, {report.Intrinsic, 1}} {
		for _, seed := range p.Seeds {
			path := filepath.Join(out, "sst2", fmt.Sprintf("seed%d", seed), tc.method, subspace.CoordinatesFile)
			c, err := subspace.ReadCoordinates(path)
			if err != nil {
				t.Fatal(err)
			}
			if c.InitStd != tc.std {
				t.Errorf("%s started at σ = %g, want %g", path, c.InitStd, tc.std)
			}
		}
	}
	var tab report.AnalysisTable
	for _, a := range res.Analyses {
		if a.Analysis == AnalysisInitStd {
			tab = a
		}
	}
	if want := []string{"0", "1/√h = 0.5", "1"}; strings.Join(tab.Rows, "|") != strings.Join(want, "|") {
		t.Fatalf("rows %q, want %q", tab.Rows, want)
	}
	for i, row := range tab.Cells {
		if row[0].N != 2 {
			t.Errorf("σ = %s on SST-2 has %d seeds, want 2", tab.Rows[i], row[0].N)
		}
	}
	if c := tab.Cells[2][0]; c.Note != "Table 1's run" || !strings.HasSuffix(c.Runs[0], filepath.Join("seed1", "intrinsic")) {
		t.Errorf("σ = 1 should be Table 1's run: %+v", c)
	}
	md, err := os.ReadFile(filepath.Join(out, report.ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Initialisation of z", "- σ = 0 ≈ σ = 1 ", "- σ = 1/√h = 0.5 ≈ σ = 1 ", "over 2 seeds", "stays the default"} {
		if !strings.Contains(string(md), want) && !(want == "stays the default" && strings.Contains(string(md), "The seeds favour")) {
			t.Errorf("REPORT.md lacks %q", want)
		}
	}
	// The start is part of the run's key; Table 1's keys stay as before.
	for method, want := range map[string]string{"intrinsic_init_std0.5": "init_std=0.5", report.Intrinsic: ""} {
		data, err := os.ReadFile(filepath.Join(out, "sst2", "seed1", method, stageFile))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(string(data), "init_std="); got != (want != "") || !strings.Contains(string(data), want) {
			t.Errorf("%s's stage record: %s, want %q in its inputs", method, data, want)
		}
	}
}

// TestDefaultChoice: the start the seeds favour is one whose whole
// interval lies above the margin; otherwise the default stays, saying
// whether every comparison was resolved.
func TestDefaultChoice(t *testing.T) {
	claim := func(left string, v report.Verdict, lo, mean float64) report.Claim {
		return report.Claim{Left: left, Right: "σ = 1", Op: "≈", Verdict: v, Lo: lo, Mean: mean}
	}
	for _, tc := range []struct {
		name   string
		claims []report.Claim
		want   string
	}{
		{"all equivalent", []report.Claim{claim("σ = 0", report.Holds, -1, 0), claim("σ = 0.25", report.Holds, -1, 0)},
			"The start makes no difference beyond the margin; σ = 1 stays the default."},
		{"one not resolved", []report.Claim{claim("σ = 0", report.Holds, -1, 0), claim("σ = 0.25", report.NotResolved, -3, 0)},
			"No other start beats σ = 1 beyond the margin, though not every comparison is resolved; σ = 1 stays the default."},
		{"worse beyond the margin", []report.Claim{claim("σ = 0", report.Fails, -12, -10)},
			"No other start beats σ = 1 beyond the margin, though not every comparison is resolved; σ = 1 stays the default."},
		{"the better of two", []report.Claim{claim("σ = 0", report.Fails, 3, 5), claim("σ = 0.25", report.Fails, 4, 8)},
			"The seeds favour σ = 0.25: its whole interval against σ = 1 lies above the margin."},
	} {
		if got := defaultChoice(tc.claims, "start"); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
