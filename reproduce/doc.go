// Package reproduce runs the paper's pipeline end to end for one or more
// GLUE tasks: full fine-tuning that records its trajectory, extraction of
// the intrinsic subspace, fine-tuning inside it, the random-subspace and
// freeze baselines, and a report. Every stage writes into its own run
// directory and is skipped when its results are already there, so an
// interrupted reproduction continues where it stopped.
package reproduce
