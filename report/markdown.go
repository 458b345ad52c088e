package report

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/subtune/subtune/atomicfile"
	"github.com/subtune/subtune/glue"
)

// Section is an extra part of REPORT.md (a later analysis's table and
// figures), written after the spectra and before the list of runs.
type Section struct {
	Title    string  // without "#"; written as a level-2 heading
	Markdown string  // body; figure links relative to the report directory
	Claims   []Claim // the claims its Markdown states, for results.json
}

// File names WriteMarkdown writes in its directory, besides the figures.
const (
	ReportFile  = "REPORT.md"
	ResultsFile = "results.json"
)

// WriteMarkdown writes r as dir/REPORT.md, with dir/results.json beside it
// and the spectrum figures of [PlotSpectra]: the run's model, profile,
// command and wall time; Table 1 ([Table1]); whether the paper's ordering
// holds ([CheckOrdering]); the spectra; the extra sections; and every run
// with its directory and metrics, so each number can be traced. dir is
// created if needed. Results that fail [Results.Validate] are refused.
func WriteMarkdown(r Results, dir string, extra ...Section) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	r.Claims = CheckOrdering(r).Claims
	for _, s := range extra {
		r.Claims = append(r.Claims, s.Claims...)
	}
	if err := r.Save(filepath.Join(dir, ResultsFile)); err != nil {
		return err
	}
	figs, err := PlotSpectra(r, dir)
	if err != nil {
		return err
	}
	for i := range figs {
		figs[i] = filepath.Base(figs[i])
	}
	md := Markdown(r, figs, extra...)
	return atomicfile.WriteFile(filepath.Join(dir, ReportFile), func(w io.Writer) error {
		_, err := io.WriteString(w, md)
		return err
	})
}

// Markdown returns the text WriteMarkdown writes; figures are the spectrum
// figures' file names relative to the report (as PlotSpectra names them).
func Markdown(r Results, figures []string, extra ...Section) string {
	var b strings.Builder
	b.WriteString("# subtune reproduction: Fine-tuning Happens in Tiny Subspaces\n\n")
	b.WriteString("Zhang, Liu & Shao (ACL 2023) fine-tune a pre-trained model, extract a subspace of a few " +
		"dimensions from the parameter trajectory, and find that fine-tuning inside it almost matches full " +
		"fine-tuning (Table 1). This report shows what this run measured.\n\n")

	tasks := r.AllTasks()
	taskNames := make([]string, len(tasks))
	for i, t := range tasks {
		taskNames[i] = glue.DisplayName(t)
		if taskNames[i] != t {
			taskNames[i] += " (`" + t + "`)"
		}
	}
	seeds := make([]string, len(r.Seeds))
	for i, s := range r.Seeds {
		seeds[i] = strconv.Itoa(s)
	}
	b.WriteString(MarkdownTable([]string{"", ""}, [][]string{
		{"Model", code(r.Model)},
		{"Profile", orDash(r.Profile)},
		{"Tasks", orDash(strings.Join(taskNames, ", "))},
		{"Seeds", orDash(strings.Join(seeds, ", "))},
		{"Runs", strconv.Itoa(len(r.Runs))},
		{"Wall time", invocationTime(r.WallSeconds)},
		{"Run time", runTime(r.Runs)},
	}))
	if r.Command != "" {
		fence := "```"
		for strings.Contains(r.Command, fence) {
			fence += "`"
		}
		fmt.Fprintf(&b, "\nCommand:\n\n%ssh\n%s\n%s\n", fence, r.Command, fence)
	}

	b.WriteString("\n## Table 1: full, frozen, random-subspace and intrinsic-subspace fine-tuning\n\n")
	b.WriteString("Full: all parameters trained. Freeze: the encoder frozen; embeddings and classifier trained, as in the paper. " +
		"Random: training in a random subspace. Intrinsic: training in the subspace extracted from the " +
		"full fine-tuning trajectory.\n\n")
	b.WriteString(Table1(r))
	b.WriteString("\n")
	b.WriteString(CheckOrdering(r).String())
	b.WriteString("\n## Singular-value spectra\n\n")
	if len(figures) == 0 {
		b.WriteString("No spectra were recorded.\n")
	} else {
		b.WriteString("Singular values of each layer's trajectory matrix (left, log scale; one line per layer, " +
			"early layers dark blue, late layers orange) and the fraction of its variance the first k directions " +
			"explain (right). A few large singular values mean the trajectory lies in a tiny subspace.\n")
		for _, f := range figures {
			if filepath.Ext(f) != ".png" {
				continue
			}
			stem := strings.TrimSuffix(f, ".png")
			label := stem
			for _, t := range tasks {
				if SpectrumFile(t) == stem {
					label = glue.DisplayName(t)
				}
			}
			fmt.Fprintf(&b, "\n### %s\n\n![Singular values and explained variance per layer, %s](%s)\n", label, label, f)
			if slices.Contains(figures, stem+".svg") {
				fmt.Fprintf(&b, "\n[SVG](%s)\n", stem+".svg")
			}
		}
	}

	for _, s := range extra {
		fmt.Fprintf(&b, "\n## %s\n\n%s", s.Title, s.Markdown)
		if !strings.HasSuffix(s.Markdown, "\n") {
			b.WriteString("\n")
		}
	}

	b.WriteString("\n## Runs\n\n")
	fmt.Fprintf(&b, "Every number above comes from these runs. Scores are the metrics' raw values "+
		"(Table 1 shows them ×100). All of it is in [%s](%s).\n\n", ResultsFile, ResultsFile)
	b.WriteString(RunsTable(r))
	return b.String()
}

// RunsTable lists every run, ordered by task, method (Table 1's order, then
// others) and seed, with its main metric and score, its other metrics,
// parameter counts, wall time and directory.
func RunsTable(r Results) string {
	tasks := r.AllTasks()
	var methods []string
	for _, row := range Table1Rows {
		methods = append(methods, row.Method)
	}
	for _, run := range r.Runs {
		if !slices.Contains(methods, run.Method) {
			methods = append(methods, run.Method)
		}
	}
	runs := slices.Clone(r.Runs)
	slices.SortStableFunc(runs, func(a, b Run) int {
		if c := slices.Index(tasks, a.Task) - slices.Index(tasks, b.Task); c != 0 {
			return c
		}
		if c := slices.Index(methods, a.Method) - slices.Index(methods, b.Method); c != 0 {
			return c
		}
		return a.Seed - b.Seed
	})
	var rows [][]string
	for _, run := range runs {
		score := formatScore(run.Score)
		if run.Metric != "" {
			score = run.Metric + " " + score
		}
		rows = append(rows, []string{
			run.Task, run.Method, strconv.Itoa(run.Seed), score, formatMetrics(run.Metrics, run.Metric, run.Score),
			formatCount(run.Trainable), formatCount(run.Total), formatSeconds(run.WallSeconds), code(run.Dir),
		})
	}
	return MarkdownTable([]string{"Task", "Method", "Seed", "Score", "Other metrics", "Trainable", "Total", "Wall time", "Directory"}, rows)
}

func formatScore(x float64) string {
	if math.IsNaN(x) {
		return "NaN"
	}
	return strconv.FormatFloat(x, 'f', 4, 64)
}

// formatMetrics lists m's metrics by name, leaving out main when it equals
// score (it is in the Score column already).
func formatMetrics(m map[string]float64, main string, score float64) string {
	keys := make([]string, 0, len(m))
	for k, v := range m {
		if k == main && sameFloat(v, score) {
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + " " + formatScore(m[k])
	}
	return orDash(strings.Join(parts, ", "))
}

// formatCount writes n with thousands separators; 0 (unknown) as "—".
func formatCount(n int) string {
	if n == 0 {
		return "—"
	}
	return thousands.Sprintf("%d", n)
}

// thousands formats integers with English digit grouping (1,234,567).
var thousands = message.NewPrinter(language.English)

// invocationTime is the wall time of the invocation that wrote the report;
// one that resumed a reproduction did only part of its work.
func invocationTime(s float64) string {
	return secondsWithNote(s, "(the invocation that wrote this report)")
}

// runTime is the runs' own wall times summed: what the whole reproduction
// cost, whichever invocations ran it and however many ran at once.
func runTime(runs []Run) string {
	var sum float64
	for _, run := range runs {
		if finite(run.WallSeconds) {
			sum += run.WallSeconds
		}
	}
	return secondsWithNote(sum, "summed over the runs (runs made at once overlap)")
}

// secondsWithNote is formatSeconds(s) followed by note, or "—" alone when
// s is unknown.
func secondsWithNote(s float64, note string) string {
	t := formatSeconds(s)
	if t == unknownTime {
		return t
	}
	return t + " " + note
}

// unknownTime is how formatSeconds writes a time it does not know.
const unknownTime = "—"

// formatSeconds writes a wall time as "12m34s"; 0 or NaN (unknown) as "—".
func formatSeconds(s float64) string {
	if !finite(s) || s <= 0 {
		return unknownTime
	}
	d := time.Duration(s * float64(time.Second))
	if s < 10 {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func code(s string) string {
	if s == "" {
		return "—"
	}
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// sameFloat reports a == b, NaN equal to NaN.
func sameFloat(a, b float64) bool {
	return a == b || (math.IsNaN(a) && math.IsNaN(b))
}
