// Package report turns the numbers of a subtune reproduction into the
// paper's tables and figures (Zhang, Liu & Shao, "Fine-tuning Happens in Tiny
// Subspaces", ACL 2023).
//
// A reproduction is described by [Results]: one [Run] per (task, method,
// seed) with its dev score, all its metrics, its parameter counts and the
// run directory the numbers were read from, plus the singular-value
// [Spectrum] of each layer's trajectory matrix. Results is saved as
// results.json ([Results.Save], [Load]), and each Run alone as its run
// directory's reproduce_run.json; a NaN score (a diverged run, a
// correlation of constant predictions) is written as JSON null and read
// back as NaN (package jsonnum).
//
// [Table1] renders the paper's Table 1 (rows Full / Freeze / Random /
// Intrinsic, one column per task, mean ± sample std over seeds of the score
// ×100, the average over tasks and the trainable-parameter count);
// [ScoreTable] is the same for any list of methods, for the later tables
// (unified subspace, transfer, subspace dimension). [CheckOrdering] decides
// the paper's ordering Full ≈ Intrinsic > Random ≥ Freeze from the seeds:
// each relation is a [Claim], the 95% Student-t interval of the paired
// per-seed differences ([Decide]), tasks without signal left out
// ([NoSignal]), and its sentence is generated from the interval.
//
// [PlotSpectra] draws the spectra (σ on a log scale per layer, and the
// cumulative explained variance) as PNG and SVG with package figure, which
// also draws the analyses' heatmaps and curves. [WriteMarkdown] writes
// REPORT.md with all of it, a list of every run with its directory and
// metrics, and results.json.
//
// # Conventions
//
//   - Scores are stored as the metric reports them (0..1, or a correlation)
//     and shown ×100 with one decimal, as in the paper.
//   - A run whose score is NaN counts as missing in means; cells then show
//     their count n when it differs from the number of seeds.
//   - Standard deviations are sample standard deviations (n−1); a cell
//     with one run shows its mean only.
//   - "≈" means within 2 points or within one standard deviation (the
//     larger of the two compared).
package report
