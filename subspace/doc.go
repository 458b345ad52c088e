// Package subspace finds the intrinsic task-specific subspaces of a
// fine-tuning trajectory and fine-tunes inside them (Zhang, Liu & Shao,
// "Fine-tuning Happens in Tiny Subspaces", ACL 2023, Sec. 3.2–3.3), with the
// random-subspace baselines of Li et al. (2018) and Aghajanyan et al. (2021).
//
// # Extraction
//
// Extract stacks, per encoder layer ℓ, the t checkpoints of a trajectory
// into W (t×D) and takes its SVD W = UΣVᵀ through the t×t Gram matrix
// WWᵀ = UΣ²Uᵀ in float64, then V = WᵀUΣ⁻¹. The rows of W are, by choice:
//
//   - delta (default): θk − θ0. span(V) then holds every checkpoint's
//     displacement, so θ0 + Vz can reach each of them;
//   - raw: θk itself, the paper's literal text. The leading direction is
//     then close to θ0/‖θ0‖ (a rescaling of the layer) and the checkpoints'
//     displacements are only approximately in the span;
//   - centered: deltas minus their mean, the principal directions proper
//     (the paper's remark on "zero empirical means"). Their rank is at most
//     t − 1, and the mean displacement itself is not in the span.
//
// θ0 is not one of the t rows: the paper's trajectory {θ0 … θt} is stacked
// into a t×D matrix, one row per saved checkpoint (one per epoch).
//
// Directions whose singular value is numerically zero are dropped, and
// extraction says so; --dim keeps only the leading d. The scope decides
// what one subspace covers: a layer (the paper), one parameter tensor of a
// layer, or the whole encoder as one vector (the Gram matrix of the whole
// encoder is the sum of the layers' Gram matrices, so it streams too).
//
// # Runs and points
//
// A Run is one fine-tuning run's trajectory: a directory written by
// `subtune finetune --save_trajectory` (OpenRun), read through package
// trajectory, or checkpoints held in memory (NewMemoryRun). Extract reads
// Points, a list of (run, checkpoint) pairs read in place: All of a run's
// checkpoints; a Select-ed subset (EvenlySpaced picks t of them ending at
// the last), for asking how many points a subspace needs; or one
// checkpoint from each of several runs that share θ0 (Unified), for the
// paper's unified subspace (Sec. 4.4), which spans one checkpoint sampled
// from each of several tasks' trajectories (the last by default).
//
// # File layout
//
// One safetensors file. For the layer scope, per layer l:
//
//	layer.<l>.basis            [d, D]  row i is direction i (F32 or BF16)
//	layer.<l>.singular_values  [d]     F32, of the kept directions
//	layer.<l>.spectrum         [t]     F32, every singular value
//
// The matrix scope names each tensor's subspace layer.<l>.<tensor> (e.g.
// layer.0.attention.self.query.weight.basis, [d, size]); the global scope
// stores its one subspace split by layer (layer.<l>.basis, the slice of
// every direction that falls in layer l) with encoder.singular_values and
// encoder.spectrum. The metadata records the rows, scope, dim, t, θ0's
// hash, the layer layout, the source trajectory and each subspace's
// numerical rank.
//
// # Fine-tuning in a subspace
//
// Reparam re-parameterises the encoder as θ_b = θ0_b + V_bᵀ z̄_b with z̄_b
// the mean of h copies (paper Eq. 4) for every block b of a Basis: an
// extracted file (LoadBasis) or a random basis (NewRandomBasis: dense,
// fastfood, said). Materialize and ProjectGrad are the two memory-bound
// passes a step adds. A Reparam is itself the trainer's hook
// (trainer.ParamHook), as is Freeze, the Freeze baseline; Spec builds
// either from the command line's choice.
//
// # Where the paper is silent
//
//   - The copies' initialisation. Sec. 3.3 combines "multiple θ^t of
//     different initialization" without saying which; Aghajanyan et al.'s
//     code starts its intrinsic vector at zero, which would make the h
//     copies identical. Each copy here starts at N(0, InitStd²), InitStd = 1
//     (torch.randn's scale), drawn from the seed per block and copy;
//     InitStd = 0 is the zero start.
//   - What the ensemble does. ∂loss/∂z_b,i = (1/h)V_b∇θ_b is the same for
//     every copy, so under AdamW without weight decay the copies move in
//     lockstep: h copies are one coordinate vector started at the mean of h
//     draws (standard deviation InitStd/√h) and trained with AdamW's ε
//     multiplied by h; the only other difference is that gradient clipping
//     sees their gradient norm divided by √h. The ensemble thus damps the
//     random start, which is what the paper says it is for ("to reduce
//     variance"). It is implemented literally nonetheless.
//   - Checkpoints. t is the number of saved checkpoints, one per epoch (32;
//     64 for MNLI in the main text — the appendix swaps the two), and θ0 is
//     not one of the rows. d = t unless --dim says otherwise.
//   - SAID. Aghajanyan et al. learn one λ per parameter tensor, start it at
//     1, and count the λs in d; here λ is one per layer (the layer-wise
//     setting), starts at 1, and is not counted in d. Their intrinsic vector
//     is shared by every tensor; here each layer has its own z, as for the
//     intrinsic subspaces, so Random and Intrinsic have the same d per
//     layer.
//   - Dense random bases. Li et al. normalise Gaussian columns; the paper's
//     Eq. 1 asks for an orthonormal basis, which NewRandomBasis builds
//     (CholeskyQR2).
package subspace
