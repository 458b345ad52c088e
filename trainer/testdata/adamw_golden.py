#!/usr/bin/python3
"""Golden optimiser trajectory for subtune's trainer tests.

    /usr/bin/python3 trainer/testdata/adamw_golden.py

Starts from model/testdata/tiny-bert/model.safetensors (run model/testdata/golden.py
first; the checkpoint is read with golden.py's own safetensors reader) and runs
5 optimiser steps exactly as HuggingFace's Trainer would with

  * dropout OFF (model in eval mode, i.e. no dropout anywhere),
  * torch.optim.AdamW(lr=5e-3, betas=(0.9, 0.999), eps=1e-8), two parameter
    groups: weight_decay=0.01 for every parameter whose name contains neither
    "bias" nor "LayerNorm.weight", 0.0 for the others (the Trainer's rule),
  * transformers.get_linear_schedule_with_warmup(num_warmup_steps=2,
    num_training_steps=5) re-implemented as a LambdaLR:
        factor(s) = s / max(1, warmup)                       if s < warmup
                    max(0, (total - s) / max(1, total - warmup))  otherwise
    evaluated at s = 0, 1, 2, 3, 4 for the 5 optimiser steps, so the lr used by
    step 1 is 0 (the step still updates Adam's moments and step count), then
    2.5e-3, 5e-3, 3.333e-3, 1.667e-3,
  * torch.nn.utils.clip_grad_norm_(model params, max_norm=1.0) before each step
    (coef = min(1, max_norm / (total_norm + 1e-6)), always multiplied in),
  * per step: loss = forward(batch); loss.backward(); clip; optimizer.step();
    scheduler.step(); zero_grad().

Everything is float32 (what the Go side computes), single-threaded and with
torch.use_deterministic_algorithms(True); the same trajectory is also run in
float64 and its difference to the float32 one is recorded, as a measure of the
rounding noise any float32 implementation will show.

Writes trainer/testdata/adamw_golden.json and trainer/testdata/adamw_final.safetensors
(all parameters after the 5 steps, F32, HF names).
"""

import json
import math
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "model", "testdata"))
import golden  # noqa: E402  (model, safetensors reader/writer)

CKPT = os.path.join(ROOT, "model", "testdata", "tiny-bert")
ARCH = "BertForSequenceClassification"
LR, BETAS, EPS, WD = 5e-3, (0.9, 0.999), 1e-8, 0.01
WARMUP, TOTAL, MAX_NORM = 2, 5, 1.0
BATCH, SEQLEN = 4, 9
# real lengths per step (right padding with pad_token_id 0, attention_mask 0);
# step 4 has no sequence reaching 9 (all-padding columns, as with fixed padding)
LENGTHS = [[9, 7, 5, 3], [9, 9, 6, 4], [8, 9, 2, 9], [7, 5, 6, 3], [9, 3, 8, 6]]
TRACKED = [
    "bert.embeddings.word_embeddings.weight",
    "bert.embeddings.LayerNorm.weight",
    "bert.embeddings.LayerNorm.bias",
    "bert.encoder.layer.0.attention.self.query.weight",
    "bert.encoder.layer.0.attention.self.query.bias",
    "bert.encoder.layer.0.attention.self.value.bias",
    "bert.encoder.layer.1.intermediate.dense.weight",
    "bert.encoder.layer.1.output.LayerNorm.weight",
    "bert.pooler.dense.weight",
    "classifier.weight",
    "classifier.bias",
]


def lr_lambda(step):
    if step < WARMUP:
        return float(step) / float(max(1, WARMUP))
    return max(0.0, float(TOTAL - step) / float(max(1, TOTAL - WARMUP)))


def no_decay(name):
    return "bias" in name or "LayerNorm.weight" in name


def noise_param(name):
    """attention.self.key.bias has an exactly-zero gradient in exact arithmetic
    (softmax is invariant to the per-row constant q.b_k), so what AdamW sees is
    rounding noise, which it normalises to steps of size ~lr: the final key
    biases are implementation-specific noise and must not be compared tightly
    (they do not influence any output)."""
    return name.endswith("attention.self.key.bias")


def make_batches(cfg):
    g = torch.Generator().manual_seed(4242)
    batches = []
    for lens in LENGTHS:
        ids = torch.zeros((BATCH, SEQLEN), dtype=torch.long)
        tt = torch.zeros((BATCH, SEQLEN), dtype=torch.long)
        am = torch.zeros((BATCH, SEQLEN), dtype=torch.long)
        for b, n in enumerate(lens):
            body = torch.randint(5, cfg["vocab_size"], (n,), generator=g)
            body[0], body[n - 1] = 2, 3  # [CLS] ... [SEP]
            if n >= 5:
                mid = n // 2
                body[mid] = 3
                tt[b, mid + 1:n] = 1
            ids[b, :n] = body
            am[b, :n] = 1
        labels = torch.randint(0, cfg["num_labels"], (BATCH,), generator=g)
        batches.append({"input_ids": ids, "token_type_ids": tt, "attention_mask": am, "labels": labels})
    return batches


def train(params_np, cfg, batches, dtype):
    names = golden.param_names(cfg, ARCH)
    P = {n: torch.tensor(params_np[n], dtype=dtype).requires_grad_(True) for n in names}
    groups = [
        {"params": [P[n] for n in names if not no_decay(n)], "weight_decay": WD},
        {"params": [P[n] for n in names if no_decay(n)], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=LR, betas=BETAS, eps=EPS, foreach=False)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda)
    plist = [P[n] for n in names]  # model.parameters() order
    steps = []
    for i, batch in enumerate(batches):
        lr = opt.param_groups[0]["lr"]
        out = golden.model_forward(P, cfg, ARCH, batch)
        loss = out["loss"]
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(plist, MAX_NORM)
        coef = min(1.0, MAX_NORM / (float(gn) + 1e-6))
        opt.step()
        sched.step()
        opt.zero_grad()
        steps.append({"step": i + 1, "lr": lr, "loss": float(loss), "grad_norm": float(gn), "clip_coef": coef})
    with torch.no_grad():
        final_loss = float(golden.model_forward(P, cfg, ARCH, batches[0])["loss"])
    return steps, {n: P[n].detach() for n in names}, final_loss


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    with open(os.path.join(CKPT, "config.json")) as f:
        cfg = golden.runtime_cfg(json.load(f))
    params_np, dtypes, _ = golden.load_safetensors(os.path.join(CKPT, "model.safetensors"))
    assert set(dtypes.values()) == {"F32"}
    batches = make_batches(cfg)

    steps32, final32, floss32 = train(params_np, cfg, batches, torch.float32)
    steps32b, final32b, _ = train(params_np, cfg, batches, torch.float32)
    steps64, final64, floss64 = train(params_np, cfg, batches, torch.float64)

    # determinism: two float32 runs are bit-identical
    assert steps32 == steps32b
    assert all(torch.equal(final32[n], final32b[n]) for n in final32)
    for s in steps32:
        assert math.isfinite(s["loss"]) and math.isfinite(s["grad_norm"])
    expect_lr = [LR * lr_lambda(s) for s in range(TOTAL)]
    assert all(abs(s["lr"] - e) < 1e-15 for s, e in zip(steps32, expect_lr))

    tracked = {}
    for n in TRACKED:
        t = final32[n]
        tracked[n] = {"shape": list(t.shape), "sum": float(t.double().sum()),
                      "first5": [float(str(np.float32(v))) for v in t.reshape(-1)[:5].numpy()],
                      "initial_first5": [float(str(np.float32(v))) for v in params_np[n].reshape(-1)[:5]]}

    f32_vs_f64 = {
        "loss_max_abs": max(abs(a["loss"] - b["loss"]) for a, b in zip(steps32, steps64)),
        "grad_norm_max_rel": max(abs(a["grad_norm"] - b["grad_norm"]) / b["grad_norm"] for a, b in zip(steps32, steps64)),
        "final_params_max_abs": max(float((final32[n].double() - final64[n]).abs().max())
                                    for n in final32 if not noise_param(n)),
        "final_key_bias_max_abs": max(float((final32[n].double() - final64[n]).abs().max())
                                      for n in final32 if noise_param(n)),
        "final_loss_abs": abs(floss32 - floss64),
    }
    out = {
        "checkpoint": "model/testdata/tiny-bert",
        "architecture": ARCH,
        "precision": "float32, single thread, deterministic",
        "dropout": "off (eval-mode forward)",
        "optimizer": {"name": "torch.optim.AdamW (torch 1.13, foreach=False)", "lr": LR, "betas": list(BETAS),
                      "eps": EPS, "weight_decay": WD,
                      "no_decay_rule": "name contains 'bias' or 'LayerNorm.weight'",
                      "update": "p *= 1 - lr*wd; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; "
                                "p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)"},
        "schedule": {"name": "linear with warmup (transformers.get_linear_schedule_with_warmup)",
                     "num_warmup_steps": WARMUP, "num_training_steps": TOTAL,
                     "note": "steps[i].lr is the lr the i-th optimizer.step() used (factor evaluated at i-1); step 1 uses lr 0"},
        "max_grad_norm": MAX_NORM,
        "clip_rule": "total L2 norm over all params; g *= min(1, max_norm / (total_norm + 1e-6))",
        "noise_params": [n for n in golden.param_names(cfg, ARCH) if noise_param(n)],
        "noise_params_note": noise_param.__doc__.strip().replace("\n   ", ""),
        "no_decay_params": [n for n in golden.param_names(cfg, ARCH) if no_decay(n)],
        "batches": [{k: v.tolist() for k, v in b.items()} for b in batches],
        "steps": steps32,
        "final_params": tracked,
        "final_params_file": "adamw_final.safetensors",
        "final_loss_on_batch0": floss32,
        "f32_vs_f64": f32_vs_f64,
        "steps_f64": steps64,
    }
    golden.dump_json(os.path.join(HERE, "adamw_golden.json"), out)
    golden.save_safetensors(os.path.join(HERE, "adamw_final.safetensors"),
                            {n: ("F32", t.numpy()) for n, t in final32.items()})
    for s in steps32:
        print(f"step {s['step']}: lr={s['lr']:.6g} loss={s['loss']:.7f} grad_norm={s['grad_norm']:.6f}")
    print(f"loss on batch 0 after training: {floss32:.7f}  (before: {steps32[0]['loss']:.7f})")
    print("f32 vs f64:", json.dumps(f32_vs_f64))


if __name__ == "__main__":
    main()
