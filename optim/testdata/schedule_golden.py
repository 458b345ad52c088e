#!/usr/bin/python3
"""Golden learning rates of every --lr_scheduler_type subtune implements.

    /usr/bin/python3 optim/testdata/schedule_golden.py

transformers is not installed where this runs (Debian's python3-torch is), so
the schedules are built as transformers' get_scheduler builds them for the
Trainer -- a torch.optim.lr_scheduler.LambdaLR over the optimiser -- with the
lambdas transcribed from transformers' src/transformers/optimization.py
(_get_linear_schedule_with_warmup_lr_lambda, _get_cosine_schedule_with_warmup_lr_lambda
with num_cycles=0.5, _get_cosine_with_hard_restarts_schedule_with_warmup_lr_lambda
with num_cycles=1, _get_polynomial_decay_schedule_with_warmup_lr_lambda with
lr_end=1e-7, power=1.0, lr_init=the optimiser's lr, get_constant_schedule, and
_get_constant_schedule_with_warmup_lr_lambda), each with get_scheduler's default
parameters. The learning rate is read from the optimiser's param group after
each scheduler.step(), as the Trainer logs it.

Writes optim/testdata/schedule_golden.json: for each case the type, warmup,
total, base lr and lrs[k], the learning rate of zero-based step k, for k up to
total + 2.
"""

import json
import math
import os
from functools import partial

import torch
from torch.optim.lr_scheduler import LambdaLR


def linear(step, *, warmup, total):
    if step < warmup:
        return float(step) / float(max(1, warmup))
    return max(0.0, float(total - step) / float(max(1, total - warmup)))


def cosine(step, *, warmup, total, num_cycles=0.5):
    if step < warmup:
        return float(step) / float(max(1, warmup))
    progress = float(step - warmup) / float(max(1, total - warmup))
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress)))


def cosine_with_restarts(step, *, warmup, total, num_cycles=1):
    if step < warmup:
        return float(step) / float(max(1, warmup))
    progress = float(step - warmup) / float(max(1, total - warmup))
    if progress >= 1.0:
        return 0.0
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * ((float(num_cycles) * progress) % 1.0))))


def polynomial(step, *, warmup, total, lr_init, lr_end=1e-7, power=1.0):
    if step < warmup:
        return float(step) / float(max(1, warmup))
    if step > total:
        return lr_end / lr_init
    lr_range = lr_init - lr_end
    decay_steps = total - warmup
    pct_remaining = 1 - (step - warmup) / decay_steps
    return (lr_range * pct_remaining**power + lr_end) / lr_init


def constant(_step):
    return 1


def constant_with_warmup(step, *, warmup):
    if step < warmup:
        return float(step) / float(max(1.0, warmup))
    return 1.0


def make_lambda(typ, warmup, total, lr):
    if typ == "constant":
        return constant
    if typ == "constant_with_warmup":
        return partial(constant_with_warmup, warmup=warmup)
    if typ == "polynomial":
        return partial(polynomial, warmup=warmup, total=total, lr_init=lr)
    return partial({"linear": linear, "cosine": cosine, "cosine_with_restarts": cosine_with_restarts}[typ],
                   warmup=warmup, total=total)


def run(typ, warmup, total, lr):
    param = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.AdamW([param], lr=lr)
    sched = LambdaLR(opt, make_lambda(typ, warmup, total, lr))
    lrs = []
    for _ in range(total + 3):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return {"type": typ, "warmup": warmup, "total": total, "lr": lr, "lrs": lrs}


def main():
    types = ["linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup"]
    cases = []
    for warmup, total, lr in [(3, 20, 2e-5), (0, 7, 5e-5), (2, 3, 1e-3), (1, 11, 3e-4)]:
        for typ in types:
            cases.append(run(typ, warmup, total, lr))
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schedule_golden.json")
    with open(path, "w") as f:
        json.dump({"torch": torch.__version__, "cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
