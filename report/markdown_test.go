package report

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gl), len(wl)) {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s differs from the golden file at line %d:\n got %q\nwant %q\n(run go test -update if the change is intended)", path, i+1, g, w)
			}
		}
	}
}

// failing is a reproduction where the ordering does not hold: the
// intrinsic subspace is far below full fine-tuning, one task has a single
// seed, there are no spectra, a transfer run, and an extra section.
func failing() Results {
	r := Results{
		Model: "models/subtune-mini", Profile: "paper",
		Tasks: []string{"sst2", "mrpc"}, Seeds: []int{1, 2},
		Command: "subtune reproduce --profile paper --tasks sst2,mrpc",
	}
	r.Runs = slices.Concat(
		runs("sst2", Full, 4_386_178, .88, .90),
		runs("mrpc", Full, 4_386_178, .80, .78),
		runs("sst2", Intrinsic, 32, .70, .74),
		runs("mrpc", Intrinsic, 32, .70),
		runs("sst2", Random, 32, .75, .77),
		runs("mrpc", Random, 32, .69, .71),
		runs("sst2", Freeze, 514, .78, .80),
		runs("mrpc", Freeze, 514, .68, .68),
		runs("sst2", "transfer:mrpc", 32, .72, .73),
	)
	r.Runs[4].Metrics["f1"] = 0.8625
	r.Runs[4].Dir = "/abs/runs/with|pipe"
	return r
}

func TestWriteMarkdownGolden(t *testing.T) {
	transferClaim := CheckClaim(failing(), "Transferred", ">", "Random", []Pair{{Task: "sst2", Left: Transfer("mrpc"), Right: Random}})
	for _, tc := range []struct {
		name    string
		r       Results
		extra   []Section
		figures []string
	}{
		{"fixture", fixture(), nil, []string{"spectrum_cola", "spectrum_sst2", "spectrum_stsb"}},
		{"failing", failing(), []Section{{
			Title:    "Transfer",
			Markdown: MarkdownTable([]string{"from \\ to", "SST-2"}, [][]string{{"MRPC", "72.5 ± 0.7"}}) + "\n" + ClaimList(transferClaim),
			Claims:   []Claim{transferClaim},
		}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "report") // created by WriteMarkdown
			if err := WriteMarkdown(tc.r, dir, tc.extra...); err != nil {
				t.Fatal(err)
			}
			md, err := os.ReadFile(filepath.Join(dir, ReportFile))
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name+".REPORT.md", string(md))

			// Every run's directory is in the report, and results.json
			// beside it holds the same runs.
			for _, run := range tc.r.Runs {
				if !strings.Contains(string(md), code(strings.ReplaceAll(run.Dir, "|", `\|`))) {
					t.Errorf("REPORT.md lacks run directory %s", run.Dir)
				}
			}
			back, err := Load(filepath.Join(dir, ResultsFile))
			if err != nil {
				t.Fatal(err)
			}
			if !sameRuns(back.Runs, tc.r.Runs) {
				t.Errorf("results.json runs differ from the input")
			}
			// Its claims are the report's: Table 1's ordering and the
			// sections', each sentence as REPORT.md states it.
			want := CheckOrdering(tc.r).Claims
			for _, s := range tc.extra {
				want = append(want, s.Claims...)
			}
			if len(back.Claims) != len(want) {
				t.Errorf("results.json has %d claims, want %d", len(back.Claims), len(want))
			}
			for i, c := range back.Claims {
				if i < len(want) && c.String() != want[i].String() {
					t.Errorf("claim %d read back as %q, want %q", i, c, want[i])
				}
				if !strings.Contains(string(md), c.String()) {
					t.Errorf("REPORT.md lacks the claim %q", c)
				}
			}
			for _, f := range tc.figures {
				for _, ext := range []string{".png", ".svg"} {
					st, err := os.Stat(filepath.Join(dir, f+ext))
					if err != nil || st.Size() == 0 {
						t.Errorf("figure %s%s: %v", f, ext, err)
					}
					if !strings.Contains(string(md), "("+f+ext+")") {
						t.Errorf("REPORT.md does not link %s%s", f, ext)
					}
				}
			}
		})
	}
}

func TestWriteMarkdownRefusesInvalid(t *testing.T) {
	r := fixture()
	r.Runs = append(r.Runs, r.Runs[0])
	dir := t.TempDir()
	if err := WriteMarkdown(r, dir); err == nil {
		t.Fatal("no error for duplicate runs")
	}
	if _, err := os.Stat(filepath.Join(dir, ReportFile)); !os.IsNotExist(err) {
		t.Errorf("REPORT.md written for invalid results")
	}
}

func TestMarkdownCommandFence(t *testing.T) {
	md := Markdown(Results{Command: "echo ```x```"}, nil)
	if !strings.Contains(md, "````sh\necho ```x```\n````\n") {
		t.Errorf("command with backticks not fenced safely:\n%s", md)
	}
}
