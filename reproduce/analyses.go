package reproduce

import (
	"fmt"
	"slices"
	"strings"

	"github.com/subtune/subtune/report"
)

// The analyses `subtune reproduce --analyses` runs beyond Table 1.
const (
	AnalysisOutliers   = "outliers"   // outlier dimensions of the intrinsic run, and the Table-3 ablation
	AnalysisTransfer   = "transfer"   // one task's subspace used for another (Fig. 2)
	AnalysisUnified    = "unified"    // one subspace from every task's endpoint (Table 2)
	AnalysisDims       = "dims"       // subspace dimension d (Tables 5–6)
	AnalysisTrajectory = "trajectory" // trajectory length t and spacing (per epoch or per N steps, first t or evenly spaced)
	AnalysisRows       = "rows"       // raw, delta or centred rows
	AnalysisInitStd    = "init_std"   // z's starting standard deviation: 0, 1/√h, 1
)

// AnalysisNames lists the analyses in the order they run and are reported.
var AnalysisNames = []string{AnalysisOutliers, AnalysisTransfer, AnalysisUnified, AnalysisDims, AnalysisTrajectory, AnalysisRows, AnalysisInitStd}

// ParseAnalyses reads a comma-separated list of analyses; "all" stands for
// every one, "" and "none" for none.
func ParseAnalyses(s string) ([]string, error) {
	var out []string
	for _, a := range Tasks(strings.ToLower(s)) {
		switch {
		case a == "all":
			out = append(out, AnalysisNames...)
		case a == "none":
		case slices.Contains(AnalysisNames, a):
			out = append(out, a)
		default:
			return nil, fmt.Errorf("analysis %q: want some of %s, or all", a, strings.Join(AnalysisNames, ", "))
		}
	}
	slices.SortFunc(out, func(a, b string) int { return slices.Index(AnalysisNames, a) - slices.Index(AnalysisNames, b) })
	return slices.Compact(out), nil
}

// analysisDef is one analysis: the runs it adds and the report section it
// writes from them.
type analysisDef struct {
	name     string
	minTasks int // transfer and unified compare tasks
	// jobs lists its runs; before the full runs have finished it is called
	// with predicted trajectory lengths, to count them.
	jobs func(r *reproduction) ([]job, error)
	// section writes its tables and figures once every run has finished.
	section func(r *reproduction, res *report.Results) (report.Section, []report.AnalysisTable, error)
}

func analysisDefs() map[string]analysisDef {
	return map[string]analysisDef{
		AnalysisOutliers:   {name: AnalysisOutliers, jobs: outlierJobs, section: outlierSection},
		AnalysisTransfer:   {name: AnalysisTransfer, minTasks: 2, jobs: transferJobs, section: transferSection},
		AnalysisUnified:    {name: AnalysisUnified, minTasks: 2, jobs: unifiedJobs, section: unifiedSection},
		AnalysisDims:       dimsSweep.def(),
		AnalysisTrajectory: trajectoryDef(),
		AnalysisRows:       rowsSweep.def(),
		AnalysisInitStd:    {name: AnalysisInitStd, jobs: initStdJobs, section: initStdSection},
	}
}

// lookupAnalyses checks the names and that there are tasks enough, before
// hours of training rather than after.
func lookupAnalyses(names []string, tasks int) ([]analysisDef, error) {
	defs := analysisDefs()
	var out []analysisDef
	for _, n := range names {
		d, ok := defs[n]
		if !ok {
			return nil, fmt.Errorf("analysis %q: want some of %s", n, strings.Join(AnalysisNames, ", "))
		}
		if tasks < d.minTasks {
			return nil, fmt.Errorf("analysis %s compares tasks: give at least %d with --tasks", n, d.minTasks)
		}
		out = append(out, d)
	}
	return out, nil
}

// report writes every analysis's section, putting its tables into res.
func (r *reproduction) report(res *report.Results) ([]report.Section, error) {
	sections := []report.Section{settingsSection(r.o.Profile)}
	for _, a := range r.analyses {
		s, tables, err := a.section(r, res)
		if err != nil {
			return nil, fmt.Errorf("analysis %s: %w", a.name, err)
		}
		sections = append(sections, s)
		res.Analyses = append(res.Analyses, tables...)
	}
	return sections, nil
}

// defaultChoice says, from claims of the form "alternative ≈ default"
// (the default their common right side), which alternative the seeds
// favour: one whose whole interval lies above the margin; else the default
// stays, and the sentence says whether every comparison was resolved.
// what names the choice ("start", "choice of rows").
func defaultChoice(claims []report.Claim, what string) string {
	if len(claims) == 0 {
		return ""
	}
	def := claims[0].Right
	best := -1
	for i, c := range claims {
		if c.Verdict == report.Fails && c.Lo > report.EquivalenceMargin && (best < 0 || c.Mean > claims[best].Mean) {
			best = i
		}
	}
	if best >= 0 {
		return fmt.Sprintf("The seeds favour %s: its whole interval against %s lies above the margin.", claims[best].Left, def)
	}
	for _, c := range claims {
		if c.Verdict != report.Holds {
			return fmt.Sprintf("No other %s beats %s beyond the margin, though not every comparison is resolved; %s stays the default.", what, def, def)
		}
	}
	return fmt.Sprintf("The %s makes no difference beyond the margin; %s stays the default.", what, def)
}
