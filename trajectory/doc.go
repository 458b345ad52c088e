// Package trajectory records and reads back the fine-tuning trajectory of an
// encoder: the flat parameter vector of every encoder layer at a series of
// checkpoints, the raw material of the intrinsic-subspace extraction
// (Zhang, Liu & Shao, ACL 2023, Sec. 3.2).
//
// # Layout on disk
//
// A trajectory is a directory holding
//
//	trajectory.json             the manifest (see Manifest)
//	theta0.safetensors          θ0: the encoder before fine-tuning, always F32
//	step-<N>.safetensors        one file per saved checkpoint, N = optimiser step
//
// Every .safetensors file holds one tensor per encoder layer, named
// "layer.<l>" with shape [D], where D is the layer size and the vector is
// model.Model.Layer(l): the layer's tensors concatenated in the engine's
// documented order (model.LayerLayout; the manifest repeats names,
// shapes and offsets so a reader needs no engine).
//
// θ0 is not one of the checkpoints: Manifest.Checkpoints lists the t saved
// checkpoints (the paper stacks exactly these t vectors), and θ0 has its own
// entry, Manifest.Theta0, so that deltas θi − θ0 can be formed.
//
// # Storage types
//
// With dtype F32 (the default) checkpoint files store θi itself ("stored":
// "raw"). With BF16 they store the delta θi − θ0 rounded to bfloat16
// ("stored": "delta"): a bfloat16 keeps 8 significant bits, so rounding θi
// itself would perturb each weight by up to 2⁻⁸ of its size, about as much
// as fine-tuning moves it, whereas rounding the delta loses only 2⁻⁸ of the
// update. Readers get θi back either way (ReadLayer) and the delta with no
// extra rounding (ReadDelta).
//
// # Integrity
//
// Files are written streaming and atomically (temporary file, fsync,
// rename), and the manifest is rewritten atomically after each file, so a
// killed run never leaves a checkpoint the manifest lists but the disk lacks.
// The manifest records each file's size and SHA-256 and the SHA-256 of each
// layer's stored bytes. Reader.ReadLayer checks the hash of exactly the bytes
// it reads, so every number used is verified once without a second pass
// over the file; Reader.Verify checks whole files.
//
// θ0's identity is HashLayers: the SHA-256 of the encoder layers' float32
// values, little endian, layer 0 first — the same bytes whatever the model
// was loaded from, so the subspace code can check that a trajectory (and a
// subspace extracted from it) belongs to the model it is about to train.
package trajectory
