// Package optim is the optimisation arithmetic of HuggingFace's Trainer:
// torch.optim.AdamW with decoupled weight decay, the learning-rate schedules
// of get_scheduler (linear warmup then linear, cosine or polynomial decay, or
// constant), and global-norm gradient clipping (clip_grad_norm_).
package optim
