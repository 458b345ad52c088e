// Package adapter writes and reads subspace adapters: what a subspace
// fine-tuning run learned, apart from the base model, in the folder layout
// of PEFT (adapter_config.json and adapter_model.safetensors).
//
// The adapter holds, per block of the subspace (per encoder layer for the
// layer scope), the h copies of the coordinates z (and SAID's λ), plus the
// modules trained in full space (the classifier, the pooler, and the
// embeddings unless they were frozen), under PEFT's names
// ("base_model.model.classifier.weight"). Its config names the base model
// (name or path, revision, and the SHA-256 of its encoder θ0), the basis
// (file and SHA-256 for an intrinsic subspace; kind, seed and d for a
// random one, which regenerate it), h and d, the full-space modules and the
// task's labels. Its peft_type is "SUBSPACE": PEFT has no such method, so
// PEFT itself will not load it; subtune merge rebuilds an ordinary model
// folder from it and the base.
//
// Load rebuilds θ = θ0 + Vᵀz̄ exactly as the run materialised it: the same
// basis, the same coordinates and the same kernels give the run's merged
// weights bit for bit. A base whose encoder is not θ0, or a basis file
// other than the run's, is refused naming both hashes.
//
// The format lives here rather than in package subspace because it ties a
// subspace to what subspace does not know about: a base model's identity
// on the hub, the HuggingFace folder layout and the task's head.
package adapter
