// Package reproduce runs the paper's pipeline end to end for one or more
// GLUE tasks: full fine-tuning that records its trajectory, extraction of
// the intrinsic subspace, fine-tuning inside it, the random-subspace and
// freeze baselines, and a report. Every stage writes into its own run
// directory and is skipped when its results are already there, so an
// interrupted reproduction continues where it stopped.
//
// Options.Analyses adds the paper's analyses, each a list of further runs
// of the same kind and a section of the report (see AnalysisNames):
// outlier dimensions and their ablation, transfer between tasks, the
// unified subspace, and sweeps of the subspace's dimension, of the
// trajectory's length and spacing (per epoch or per N steps, its start or
// the whole path) and of the extraction's rows. Every run of every
// analysis is a runSpec of a pipeline, run, cached and recorded by the same
// stage; a run that equals one of Table 1's (a sweep value capped at the
// trajectory's length, say) is that run. Table 1's full runs come first,
// since every other run depends on their trajectories (the per-epoch full
// runs of the trajectory analysis come before the runs that use theirs);
// the log counts the runs
// and estimates the time left from the runs trained so far.
//
// Every number of an analysis is a report.Cell that names the run
// directories it comes from, in REPORT.md's tables (through the methods in
// its list of runs) and in results.json.
package reproduce
