package reproduce

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/subtune/subtune/report"
)

func (p *pipeline) epochTrajectoryDir() string {
	return filepath.Join(p.runDir(report.FullEpoch), "trajectory")
}

// epochSpec is the per-epoch run of p: full fine-tuning exactly as Table
// 1's (the same schedule and seed) that records its trajectory once per
// epoch, where Table 1's records every N steps: the per-epoch side of the
// trajectory analysis's spacing comparison. The paper records per epoch; a
// short schedule must record per steps to have t points at all, and the
// comparison says what that changes at equal t.
func (p *pipeline) epochSpec() runSpec {
	return runSpec{method: report.FullEpoch, trajectory: true, every: "epoch"}
}

// spacingSide is one way of taking t checkpoints: a row of the spacing
// scores table.
type spacingSide struct {
	label string
	v     variant
}

// comparison sets two ways of taking the same number of checkpoints (and
// so of directions) side by side: alt, per epoch or the early trajectory
// only, against ref, evenly spaced over Table 1's trajectory and ending at
// its last checkpoint.
type comparison struct {
	label    string // its row in the table of differences
	alt, ref spacingSide
}

// comparisons are the trajectory analysis's pairs: per epoch against as
// many checkpoints evenly spaced over Table 1's steps (unless Table 1's
// run records per epoch itself, when they are one run), then the first t
// against t evenly spaced, for every t of the length sweep.
func comparisons(o Options) []comparison {
	main := o.mainVariant()
	var out []comparison
	if !o.Profile.perEpoch() {
		e := o.Profile.epochCheckpoints()
		out = append(out, comparison{label: fmt.Sprintf("t=%d: per N steps − per epoch", e),
			alt: spacingSide{fmt.Sprintf("per epoch, t=%d", e), variant{rows: main.rows, dim: main.dim, epoch: true}},
			ref: spacingSide{fmt.Sprintf("per N steps, %d evenly spaced", e), variant{rows: main.rows, dim: main.dim, checkpoints: e}},
		})
	}
	for _, pt := range lengthSweep.points(o) {
		first := pt.v
		first.first = true
		out = append(out, comparison{label: fmt.Sprintf("t=%s: evenly spaced − first", pt.label),
			alt: spacingSide{"first " + pt.label, first},
			ref: spacingSide{pt.label + " evenly spaced", pt.v},
		})
	}
	return out
}

// spacingJobs are, per task and seed, the per-epoch run and the runs of
// both sides of every comparison; the per-epoch run comes first, since its
// subspace is extracted from it. Sides that are the length sweep's or
// Table 1's runs are deduplicated by Run.
func spacingJobs(r *reproduction) ([]job, error) {
	var jobs []job
	for _, p := range r.pipes {
		if !r.o.Profile.perEpoch() {
			jobs = append(jobs, job{p, p.epochSpec()})
		}
		for _, c := range comparisons(r.o) {
			for _, side := range []spacingSide{c.alt, c.ref} {
				s, err := p.spec(side.v)
				if err != nil {
					return nil, err
				}
				jobs = append(jobs, job{p, s})
			}
		}
	}
	return jobs, nil
}

// cellRun is where a cell of the spacing tables comes from: the method of
// a task's runs and the note its cell carries.
type cellRun struct{ method, note string }

// spacingTables assemble the comparisons from finished runs, a column per
// task and their average: scores has a row per side of every comparison,
// diff a row per comparison, ref − alt paired seed by seed (the points the
// alternative loses). A comparison whose sides are the same run for every
// task (t at or beyond the trajectory's length: all of it either way) is
// left out. run resolves a side for a task.
func spacingTables(o Options, ix runIndex, cs []comparison, run func(task string, s spacingSide) cellRun) (scores, diff report.AnalysisTable) {
	var kept []comparison
	for _, c := range cs {
		if slices.ContainsFunc(o.Tasks, func(task string) bool { return run(task, c.alt).method != run(task, c.ref).method }) {
			kept = append(kept, c)
		}
	}
	var sideLabels, labels []string
	for _, c := range kept {
		sideLabels = append(sideLabels, c.alt.label, c.ref.label)
		labels = append(labels, c.label)
	}
	scores = report.NewAnalysisTable(AnalysisTrajectory, "spacing", "score ×100", sideLabels, o.Tasks)
	diff = report.NewAnalysisTable(AnalysisTrajectory, "spacing_diff", "points: evenly spaced − the alternative, paired by seed", labels, o.Tasks)
	seeds := o.Profile.Seeds
	for i, c := range kept {
		for j, task := range o.Tasks {
			alt, ref := run(task, c.alt), run(task, c.ref)
			altRuns, refRuns := ix.get(task, alt.method, seeds), ix.get(task, ref.method, seeds)
			scores.Cells[2*i][j] = scoreCell(altRuns, alt.note)
			scores.Cells[2*i+1][j] = scoreCell(refRuns, ref.note)
			diff.Cells[i][j] = dropCell(refRuns, altRuns, "")
		}
	}
	return withAvg(scores, nil), withAvg(diff, nil)
}

// spacingRun resolves side s for task's runs (by its first seed: the
// schedule gives every seed the same trajectory lengths). A side on Table
// 1's trajectory notes how many of its checkpoints it takes and their
// spacing, or that it is Table 1's run.
func (r *reproduction) spacingRun(task string, s spacingSide) (cellRun, error) {
	p := r.pipe(task, r.o.Profile.Seeds[0])
	spec, err := p.spec(s.v)
	if err != nil {
		return cellRun{}, err
	}
	c := cellRun{method: spec.method}
	if s.v.epoch {
		return c, nil
	}
	t, _, err := p.checkpoints()
	if err != nil {
		return cellRun{}, err
	}
	every, _, err := p.trajectorySchedule()
	if err != nil {
		return cellRun{}, err
	}
	if n, ok := strings.CutPrefix(every, "steps:"); ok {
		every = "every " + n + " steps"
	} else {
		every = "per " + every
	}
	if spec.method == report.Intrinsic {
		c.note = fmt.Sprintf("all %d, %s: Table 1's run", t, every)
	} else {
		c.note = fmt.Sprintf("%d of %d, %s", s.v.normal(t).checkpoints, t, every)
	}
	return c, nil
}

// spacingSection is the trajectory analysis's subsection on spacing.
func spacingSection(r *reproduction, res *report.Results) (string, []report.AnalysisTable, []report.Claim, error) {
	cs := comparisons(r.o)
	type key struct{ task, side string }
	resolved := map[key]cellRun{}
	for _, c := range cs {
		for _, side := range []spacingSide{c.alt, c.ref} {
			for _, task := range r.o.Tasks {
				cr, err := r.spacingRun(task, side)
				if err != nil {
					return "", nil, nil, err
				}
				resolved[key{task, side.label}] = cr
			}
		}
	}
	run := func(task string, s spacingSide) cellRun { return resolved[key{task, s.label}] }
	scores, diff := spacingTables(r.o, indexRuns(res.Runs), cs, run)
	pr := r.o.Profile
	var b strings.Builder
	b.WriteString("### Spacing: per epoch or per N steps, the whole path or its start\n\n")
	b.WriteString("Each pair fine-tunes in subspaces extracted from the same number t of checkpoints (so with the same d), " +
		"chosen two ways. ")
	if pr.perEpoch() {
		fmt.Fprintf(&b, "Table 1's full run records one checkpoint per epoch already (t = epochs = %d), so per epoch and "+
			"per N steps at equal t are one run; a schedule whose epochs differ from t (`--num_train_epochs`) compares them. ", pr.Checkpoints)
	} else {
		fmt.Fprintf(&b, "*Per epoch* is an extra full fine-tuning run per task and seed, `%s`, with Table 1's schedule and seed, "+
			"that records its trajectory once per epoch (%d checkpoints, in `%s/trajectory`); its subspace is "+
			"`subspace_epoch.safetensors` and its run `intrinsic_epoch`. *Per N steps* takes as many checkpoints evenly spaced "+
			"from Table 1's trajectory. ", report.FullEpoch, pr.epochCheckpoints(), report.FullEpoch)
	}
	b.WriteString("*First t* keeps the first t checkpoints of Table 1's trajectory, the early trajectory only " +
		"(`intrinsic_first<t>`), against t evenly spaced ones ending at the last (`intrinsic_t<t>`, the length sweep's). " +
		"Values of t that cover the whole trajectory of every task are left out: both sides are then Table 1's run.\n\n")
	if len(scores.Rows) == 0 {
		b.WriteString("No comparison is left: every t covers the whole trajectory.\n")
		return b.String(), []report.AnalysisTable{scores, diff}, nil, nil
	}
	b.WriteString("Dev scores ×100, mean ± std over seeds; avg over tasks.\n\n")
	b.WriteString(scores.Markdown("checkpoints"))
	b.WriteString(r.runsNote(scores))
	b.WriteString("\nPoints the alternative loses against evenly spaced checkpoints at equal t (evenly spaced − " +
		"alternative, paired by seed; positive: evenly spaced is better):\n\n")
	b.WriteString(diff.Markdown("at equal t"))
	b.WriteString(r.runsNote(diff))
	claims := spacingClaims(res, r.o.Tasks, cs, run)
	b.WriteString("\n" + report.ClaimList(claims...))
	return b.String(), []report.AnalysisTable{scores, diff}, claims, nil
}

// spacingClaims decide each comparison from the seeds: evenly spaced ≈
// the alternative (taking the checkpoints another way makes no difference
// beyond the margin), over the tasks where the two sides are different
// runs. run resolves a side for a task.
func spacingClaims(res *report.Results, tasks []string, cs []comparison, run func(task string, s spacingSide) cellRun) []report.Claim {
	var out []report.Claim
	for _, c := range cs {
		var pairs []report.Pair
		for _, task := range tasks {
			ref, alt := run(task, c.ref), run(task, c.alt)
			if ref.method != alt.method {
				pairs = append(pairs, report.Pair{Task: task, Left: ref.method, Right: alt.method})
			}
		}
		if len(pairs) > 0 {
			out = append(out, report.CheckClaim(*res, c.ref.label, "≈", c.alt.label, pairs))
		}
	}
	return out
}

// trajectoryDef is the trajectory analysis: the length sweep and the
// spacing comparisons, one section.
func trajectoryDef() analysisDef {
	return analysisDef{name: AnalysisTrajectory,
		jobs: func(r *reproduction) ([]job, error) {
			jobs, err := lengthSweep.jobs(r)
			if err != nil {
				return nil, err
			}
			more, err := spacingJobs(r)
			return append(jobs, more...), err
		},
		section: func(r *reproduction, res *report.Results) (report.Section, []report.AnalysisTable, error) {
			s, tables, err := lengthSweep.section(r, res)
			if err != nil {
				return s, nil, err
			}
			md, more, claims, err := spacingSection(r, res)
			if err != nil {
				return s, nil, err
			}
			s.Title = "Trajectory length and spacing"
			s.Markdown += "\n" + md
			s.Claims = append(s.Claims, claims...)
			return s, append(tables, more...), nil
		},
	}
}
