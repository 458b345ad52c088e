// Package optim is the optimisation arithmetic of HuggingFace's Trainer:
// torch.optim.AdamW with decoupled weight decay, the linear warmup-then-decay
// learning-rate schedule (get_linear_schedule_with_warmup), and global-norm
// gradient clipping (clip_grad_norm_).
package optim
