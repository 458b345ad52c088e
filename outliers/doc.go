// Package outliers holds the paper's outlier-dimension analysis of what
// fine-tuning in an intrinsic subspace learned, and its ablation (Zhang,
// Liu & Shao, "Fine-tuning Happens in Tiny Subspaces", ACL 2023, Sec. 4.5).
// The other analyses are runs of the pipeline; see package reproduce.
//
// # Outlier dimensions
//
// Outliers takes each encoder layer's learned update Δℓ = Vℓᵀz̄ℓ (one flat
// vector in the layer buffer's order, see package model) and flags the
// entries at least σ standard deviations from the layer's mean (σ = 3 in
// the paper, which finds ≈0.3% of the encoder's parameters there). It says
// where they sit:
//
//   - per parameter tensor and layer (the layout of the paper's Table 4),
//     by mapping each flagged position to (tensor, row, column);
//   - per hidden dimension: each position is mapped to the index of the
//     axis that runs along the hidden size H (see NewLayout), and for each
//     index the analysis counts in how many layers it carries outliers. The
//     paper finds one dimension ("O1") in almost every layer; prior work on
//     outlier dimensions names 308 and 381 for BERT-base and 77 and 588 for
//     RoBERTa-base.
//
// RandomPositions draws the paper's control for the ablation of Table 3:
// the same number of positions, chosen uniformly from the encoder.
// WriteFile and ReadFile keep an analysis, with the positions, as
// outliers.json; Plot and PlotRecurrence draw it. AnalyzeRun is all of it
// for a subspace run's directory (`subtune outliers`), and DisableMask the
// ablation's full fine-tuning with the positions held at zero (`subtune
// finetune --disable_dims`); `subtune reproduce --analyses outliers` runs
// both.
//
// # Where the paper is silent, and what is decided here
//
//   - Statistics. Mean and standard deviation are per layer, over the
//     layer's D entries together (the population standard deviation), as
//     the paper's layer-wise subspaces suggest; the paper does not say
//     whether it standardises per layer, per tensor or over the encoder.
//   - Chance. For normally distributed entries a 3σ threshold flags
//     erfc(3/√2) = 0.27% of them with no structure at all, so the paper's
//     ≈0.3% alone is no evidence of outliers; Result.NormalFraction is
//     printed beside the measured fraction. What is evidence is where they
//     sit.
//   - Recurrence. Every hidden index owns 4H+2I+9 entries of a BERT layer
//     (H of each H×H matrix, I of each H×I or I×H one, one of each
//     H-vector): 9,225 for BERT-base, where 3σ flags about 25 by chance.
//     "Index h has an outlier in layer ℓ" is therefore true of nearly every
//     index and layer of a large model, and is reported (DimCount.Layers)
//     but not ranked on. A dimension concentrates a layer's outliers when it
//     holds more than a Poisson count at the layer's rate explains, at level
//     Alpha/H (Bonferroni over the hidden indices); DimCount.Significant
//     lists those layers and Result.Dims is ranked by their number.
//   - The hidden axis. For a weight that writes into the residual stream
//     (attention.output.dense, output.dense) it is the row; for one that
//     reads from it (query, key, value, intermediate.dense) the column. The
//     query, key and value biases index the attention heads' space, which
//     has H entries too; their index is counted as it is.
package outliers
