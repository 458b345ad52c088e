// Package trainloop is the training loop that fine-tuning (package
// trainer) and pre-training (package pretrain) share: the optimiser step
// (forward and backward over micro-batches, gradient clipping, AdamW and
// the linear warmup/decay schedule, in Loop), the loop over steps with its
// interruption and checkpoint points (Run, with a Task plugging in a kind
// of training's batches, bookkeeping and evaluation), and resumable
// checkpoints: weights, optimiser moments, the caller's state, the
// settings a resumed run must match and the SHA-256 of every file.
package trainloop
