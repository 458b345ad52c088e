#!/usr/bin/python3
"""PyTorch CPU baseline for subtune's benchmarks (encoder layer and
training step).

    /usr/bin/python3 bench/pytorch_bench.py                 # everything (~5 min on 2 cores)
    /usr/bin/python3 bench/pytorch_bench.py --layer         # only the encoder-layer benchmark
    /usr/bin/python3 bench/pytorch_bench.py --train small --padding dynamic
    /usr/bin/python3 bench/pytorch_bench.py --help

Uses Debian's python3-torch (1.13) and the plain-PyTorch BERT of
model/testdata/golden.py (the same eager math as HF's modeling_bert:
Linear/matmul/softmax/LayerNorm/GELU/Dropout ops), torch.set_num_threads(2) by default.

(a) --layer: one BERT-base-sized encoder layer (hidden 768, 12 heads, FFN 3072,
    gelu), batch 8 x seq 128, all-ones attention mask, no dropout: forward, and
    forward+backward (grads of all layer params and of the input, random upstream
    gradient). Median of --reps runs after --warmup runs; also GFLOP/s, counting
    2*M*N*K per GEMM (forward 14.90 GFLOP, forward+backward 3x that).

(b) --train base|small: training steps of BertForSequenceClassification (2
    labels) at batch 32, each step = forward with dropout 0.1 (hidden and
    attention), cross-entropy, backward, clip_grad_norm_(1.0), AdamW (lr 2e-5,
    Trainer's two parameter groups, weight decay 0), linear schedule step,
    zero_grad. Reported in examples/s.
      base:  12 layers x 768, 12 heads, FFN 3072, vocab 30522, 512 positions,
             2 token types, pooler: 109,483,778 parameters.
      small: 4 layers x 256, 4 heads, FFN 1024, same vocabulary/positions.
    --padding fixed: every batch 32 x 128.
    --padding dynamic: batches of MRPC train (../shared/glue/MRPC/train.tsv)
      padded to their longest sequence. The padded length of each batch is read
      from bench/mrpc_lengths.txt if it exists (one line per batch, the padded
      length of that batch, in the order the Go side used -- written by the Go
      benchmark); the first --steps lines are used. Otherwise lengths are
      APPROXIMATED (no HF tokenizer in this environment): per example
      round(1.3 * whitespace words of both sentences) + 3, capped at 128,
      examples shuffled with numpy RandomState(42), batches of 32, padded
      length = max of the batch. Every JSON line says which source was used.

--bf16: mixed precision as HF Trainer's --bf16 does it on CPU: the forward
(and the loss, computed inside it) runs under torch.autocast("cpu",
dtype=torch.bfloat16), the backward outside it; master weights, gradients
and AdamW stay float32. Autocast gives every Linear / matmul bfloat16 inputs
(oneDNN kernels, float32 accumulation) and bfloat16 results. (a) runs the
layer's forward under autocast too.

Output: one JSON object per line on stdout (progress on stderr). Every line
carries "dtype": "bf16" or "f32". The env line names the GEMM kernels:
OpenBLAS's core, and oneDNN's version and ISA with the implementation it
picks for a bfloat16 matmul (the one autocast uses). Result lines carry the
process's peak memory: "peak_rss_mib" is the peak resident set size during
that run alone (Linux: the high-water mark is reset before the run through
/proc/self/clear_refs and read from VmHWM afterwards), "peak_rss_over_start_mib"
that peak minus the resident size when the run started (what the run added:
activations, gradients, optimiser state), and "maxrss_delta_mib" how much
getrusage's ru_maxrss grew during the run -- the same where the reset
works, only a lower bound where it does not (a run that stays below an
earlier run's peak adds nothing to the process's high-water mark).
"""

import argparse
import json
import math
import os
import statistics
import sys
import time

# OPENBLAS_CORETYPE must be in the environment before libopenblas is loaded
# (i.e. before `import torch`), so --openblas-coretype is looked at here.
for _i, _a in enumerate(sys.argv):
    if _a.startswith("--openblas-coretype"):
        _v = _a.split("=", 1)[1] if "=" in _a else sys.argv[_i + 1]
        os.environ["OPENBLAS_CORETYPE"] = _v

import contextlib  # noqa: E402
import ctypes  # noqa: E402
import resource  # noqa: E402
import tempfile  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "model", "testdata"))
import golden  # noqa: E402

ARCH = "BertForSequenceClassification"
MRPC_DEFAULT = os.path.normpath(os.path.join(ROOT, "..", "shared", "glue", "MRPC", "train.tsv"))
LENGTHS_DEFAULT = os.path.join(HERE, "mrpc_lengths.txt")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def openblas_info():
    """Core type OpenBLAS selected (DYNAMIC_ARCH builds pick kernels at load time;
    OpenBLAS 0.3.21, Debian 12's, falls back to the slow 'Prescott' kernels on
    Intel models it does not know, e.g. family 6 model 207 -- OpenBLAS issue
    #4267, fixed in 0.3.25. OPENBLAS_CORETYPE=SkylakeX/Haswell overrides it)."""
    for lib in ("libopenblas.so.0", "libblas.so.3"):
        try:
            h = ctypes.CDLL(lib)
            h.openblas_get_corename.restype = ctypes.c_char_p
            h.openblas_get_config.restype = ctypes.c_char_p
            return {"openblas_core": h.openblas_get_corename().decode(),
                    "openblas_config": h.openblas_get_config().decode()}
        except (OSError, AttributeError):
            continue
    return {"openblas_core": None}


DTYPE = "f32"  # "bf16" under --bf16


def emit(obj):
    obj.setdefault("torch", torch.__version__)
    obj.setdefault("threads", torch.get_num_threads())
    obj.setdefault("dtype", DTYPE)
    print(json.dumps(obj), flush=True)


def autocast():
    """The forward's precision context: autocast to bfloat16 under --bf16."""
    if DTYPE == "bf16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def onednn_info():
    """oneDNN as torch was built with it (torch.__config__.show()), and what
    it runs a bfloat16 matmul with: the ISA it detected and the
    implementation it picked, from its verbose log (written to fd 1, so
    captured there)."""
    info = {"mkldnn_available": torch.backends.mkldnn.is_available(),
            "mkldnn_enabled": torch.backends.mkldnn.enabled}
    for line in torch.__config__.show().splitlines():
        line = line.strip().lstrip("- ").strip()
        if "DNN" in line or "ideep" in line.lower():
            info.setdefault("onednn_build", line)
        elif line.startswith("CPU capability usage"):
            info["aten_cpu_capability"] = line.split(":", 1)[1].strip()
    a = torch.randn(64, 768).to(torch.bfloat16)
    b = torch.randn(768, 768).to(torch.bfloat16)
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with tempfile.TemporaryFile() as tmp:
            os.dup2(tmp.fileno(), 1)
            try:
                with torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON):
                    torch.matmul(a, b)
            finally:
                sys.stdout.flush()
                os.dup2(saved, 1)
            tmp.seek(0)
            lines = tmp.read().decode(errors="replace").splitlines()
    finally:
        os.close(saved)
    for line in lines:
        f = line.split(",")
        if line.startswith("onednn_verbose,info,oneDNN"):
            info["onednn_version"] = f[2].strip()
        elif line.startswith("onednn_verbose,info,cpu,isa:"):
            info["onednn_isa"] = line.split("isa:", 1)[1].strip()
        elif line.startswith("onednn_verbose,exec,cpu,matmul") and len(f) > 4:
            info["onednn_bf16_matmul_impl"] = f[4]
    return info


def _status_kib(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class PeakMemory:
    """Peak memory of one run, see the module docstring."""

    def __enter__(self):
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")  # reset the peak RSS (VmHWM) to the current RSS
            self.reset = True
        except OSError:
            self.reset = False
        self.rss0 = _status_kib("VmRSS")
        self.maxrss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
        return self

    def __exit__(self, *exc):
        self.maxrss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        self.hwm = _status_kib("VmHWM")
        return False

    def fields(self):
        mib = lambda kib: round(kib / 1024, 1)
        out = {"maxrss_delta_mib": mib(self.maxrss1 - self.maxrss0)}
        if self.reset and self.hwm is not None and self.rss0 is not None:
            out["peak_rss_mib"] = mib(self.hwm)
            out["peak_rss_over_start_mib"] = mib(self.hwm - self.rss0)
        return out


def model_cfg(size):
    if size == "base":
        H, L, nh, I = 768, 12, 12, 3072
    elif size == "small":
        H, L, nh, I = 256, 4, 4, 1024
    else:
        raise ValueError(size)
    cj = golden.bert_config(ARCH, 2, "gelu", "single_label_classification")
    cj.update({"hidden_size": H, "num_hidden_layers": L, "num_attention_heads": nh, "intermediate_size": I,
               "vocab_size": 30522, "max_position_embeddings": 512, "type_vocab_size": 2})
    return golden.runtime_cfg(cj)


def hf_init(cfg, arch, seed=0):
    """HF _init_weights: N(0, 0.02) weights and embeddings, zero biases, LayerNorm 1/0."""
    g = torch.Generator().manual_seed(seed)
    P = {}
    for n in golden.param_names(cfg, arch):
        shape = golden.param_shape(cfg, n)
        if "LayerNorm.weight" in n:
            t = torch.ones(shape)
        elif n.endswith("bias"):
            t = torch.zeros(shape)
        else:
            t = 0.02 * torch.randn(shape, generator=g)
        P[n] = t.requires_grad_(True)
    return P


def calib_gemm():
    """GFLOP/s of a 1024x768 @ 768x3072 sgemm right now (median of 5): the host
    can be noisy, so every result line carries the machine's GEMM speed at the
    time it was measured."""
    a, b = torch.randn(1024, 768), torch.randn(768, 3072)
    a @ b
    ts = []
    for _ in range(5):
        t0 = time.perf_counter()
        a @ b
        ts.append(time.perf_counter() - t0)
    return round(2 * 1024 * 768 * 3072 / statistics.median(ts) / 1e9, 1)


def timeit(fn, warmup, reps):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return ts


# ----------------------------------------------------------------------------
# (a) one encoder layer
# ----------------------------------------------------------------------------

def layer_flops(B, T, H, I):
    N = B * T
    return 2 * N * (4 * H * H + 2 * H * I + 2 * T * H)


def bench_layer(args):
    B, T, H, nh, I = 8, 128, 768, 12, 3072
    cfg = golden.runtime_cfg(golden.bert_config(ARCH, 2, "gelu", None))
    cfg.update({"hidden_size": H, "num_attention_heads": nh, "intermediate_size": I, "num_hidden_layers": 1})
    g = torch.Generator().manual_seed(0)
    q = "bert.encoder.layer.0."
    P = {}
    for n in golden.param_names(cfg, ARCH):
        if not n.startswith(q):
            continue
        shape = golden.param_shape(cfg, n)
        if "LayerNorm.weight" in n:
            t = torch.ones(shape)
        elif n.endswith("bias"):
            t = torch.zeros(shape)
        else:
            t = 0.02 * torch.randn(shape, generator=g)
        P[n] = t.requires_grad_(True)
    x = torch.randn(B, T, H, generator=g).requires_grad_(True)
    ext = torch.zeros(B, 1, 1, T)  # (1 - all-ones mask) * min = 0
    gout = torch.randn(B, T, H, generator=g)
    flops = layer_flops(B, T, H, I)

    def fwd():
        with torch.no_grad(), autocast():
            golden.encoder_layer(P, q, x, ext, cfg, training=False)

    def fwd_bwd():
        with autocast():
            y = golden.encoder_layer(P, q, x, ext, cfg, training=False)
        y.backward(gout.to(y.dtype))
        for p in list(P.values()) + [x]:
            p.grad = None

    for name, fn, fl in (("layer_forward", fwd, flops), ("layer_forward_backward", fwd_bwd, 3 * flops)):
        log(f"{name} ...")
        cal = calib_gemm()
        with PeakMemory() as mem:
            ts = timeit(fn, args.warmup, args.reps)
        med = statistics.median(ts)
        emit({"bench": name, "shape": f"batch {B} x seq {T}, hidden {H}, heads {nh}, ffn {I}, gelu",
              "median_ms": round(med * 1e3, 2), "min_ms": round(min(ts) * 1e3, 2),
              "gflop": round(fl / 1e9, 3), "gflops_per_s": round(fl / med / 1e9, 1),
              "reps": args.reps, "warmup": args.warmup, **mem.fields(), "calib_gemm_gflops_before": cal,
              "calib_gemm_gflops_after": calib_gemm()})


# ----------------------------------------------------------------------------
# (b) training throughput
# ----------------------------------------------------------------------------

def mrpc_batch_lengths(args, batch_size):
    if os.path.isfile(args.lengths_file):
        with open(args.lengths_file) as f:
            lens = [int(l.split()[0]) for l in f if l.strip()]
        return lens, f"file {os.path.relpath(args.lengths_file, ROOT)} (per-batch padded lengths)"
    ex = []
    with open(args.mrpc, encoding="utf-8-sig") as f:
        next(f)  # header
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 5:
                continue
            words = len(parts[3].split()) + len(parts[4].split())
            ex.append(min(128, int(round(1.3 * words)) + 3))
    perm = np.random.RandomState(42).permutation(len(ex))
    lens = [max(ex[i] for i in perm[s:s + batch_size]) for s in range(0, len(ex), batch_size)]
    return lens, (f"APPROXIMATION from {os.path.relpath(args.mrpc, ROOT)}: round(1.3*whitespace words)+3, "
                  f"cap 128, shuffle RandomState(42), batch max ({len(ex)} examples)")


def make_batch(cfg, B, T, g):
    ids = torch.randint(1000, cfg["vocab_size"], (B, T), generator=g)
    ids[:, 0] = 101
    tt = torch.zeros(B, T, dtype=torch.long)
    tt[:, T // 2:] = 1
    return {"input_ids": ids, "token_type_ids": tt, "attention_mask": torch.ones(B, T, dtype=torch.long),
            "labels": torch.randint(0, 2, (B,), generator=g)}


def bench_train(args, size, padding):
    cfg = model_cfg(size)
    cfg["hidden_dropout_prob"] = cfg["attention_probs_dropout_prob"] = 0.1
    torch.manual_seed(0)
    P = hf_init(cfg, ARCH)
    names = list(P)
    nparams = sum(p.numel() for p in P.values())
    plist = [P[n] for n in names]
    groups = [{"params": [P[n] for n in names if not ("bias" in n or "LayerNorm.weight" in n)], "weight_decay": 0.0},
              {"params": [P[n] for n in names if "bias" in n or "LayerNorm.weight" in n], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=2e-5, betas=(0.9, 0.999), eps=1e-8)
    total = 1000
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, (total - s) / total))
    B = 32
    steps = args.base_steps if size == "base" else args.small_steps
    warm = args.train_warmup
    if padding == "fixed":
        lens = [128] * (warm + steps)
        src = "fixed 128"
        epoch_mean = 128.0
    else:
        all_lens, src = mrpc_batch_lengths(args, B)
        if len(all_lens) < steps:
            raise SystemExit(f"need {steps} batch lengths, have {len(all_lens)}")
        epoch_mean = sum(all_lens) / len(all_lens)
        lens = all_lens[:1] * warm + all_lens[:steps]  # warm up on the first batch's shape
    g = torch.Generator().manual_seed(1)

    def step(T):
        batch = make_batch(cfg, B, T, g)
        with autocast():  # forward and loss; the backward outside, as HF Trainer
            out = golden.model_forward(P, cfg, ARCH, batch, training=True)
        out["loss"].backward()
        torch.nn.utils.clip_grad_norm_(plist, 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=False)  # Trainer's model.zero_grad() under torch 1.13
        return float(out["loss"])

    cal = calib_gemm()
    ts = []
    measured = lens[warm:]
    with PeakMemory() as mem:
        for i in range(warm):
            t0 = time.perf_counter()
            step(lens[i])
            log(f"{size} {padding} {DTYPE} warmup step {i + 1}/{warm}: T={lens[i]} {time.perf_counter() - t0:.2f}s")
        for i, T in enumerate(measured):
            t0 = time.perf_counter()
            loss = step(T)
            ts.append(time.perf_counter() - t0)
            log(f"{size} {padding} {DTYPE} step {i + 1}/{steps}: T={T} {ts[-1]:.2f}s loss={loss:.4f}")
            if not math.isfinite(loss):
                raise SystemExit("non-finite loss")
    tot = sum(ts)
    emit({"bench": "train", "model": size, "params": nparams, "padding": padding, "batch_size": B,
          "examples_per_s": round(B * steps / tot, 3), "steps": steps, "warmup_steps": warm,
          "seconds_total": round(tot, 2), "seconds_per_step_median": round(statistics.median(ts), 3),
          "seq_lens": measured, "mean_seq_len_measured": round(sum(measured) / len(measured), 2),
          "mean_seq_len_epoch": round(epoch_mean, 2), "lengths_source": src,
          "step": ("fwd(dropout 0.1)+CE" + (" under autocast(bf16)" if DTYPE == "bf16" else "")
                   + "+bwd+clip_grad_norm_(1.0)+AdamW+schedule+zero_grad"),
          **mem.fields(), "calib_gemm_gflops_before": cal, "calib_gemm_gflops_after": calib_gemm()})


def main():
    ap = argparse.ArgumentParser(description="PyTorch 1.13 CPU baseline for subtune's benchmarks",
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--openblas-coretype", default=None, metavar="CORE",
                    help="set OPENBLAS_CORETYPE (e.g. SkylakeX, Haswell) before torch loads OpenBLAS")
    ap.add_argument("--layer", action="store_true", help="run the encoder-layer benchmark")
    ap.add_argument("--train", choices=["base", "small", "all", "none"], default=None,
                    help="training-throughput benchmarks to run (default: all, unless --layer alone is given)")
    ap.add_argument("--padding", choices=["fixed", "dynamic", "both"], default="both")
    ap.add_argument("--reps", type=int, default=7, help="timed repetitions for --layer (median reported)")
    ap.add_argument("--warmup", type=int, default=2, help="warm-up repetitions for --layer")
    ap.add_argument("--base-steps", type=int, default=3, help="timed steps for the base model (~17 s each)")
    ap.add_argument("--small-steps", type=int, default=20, help="timed steps for the 4x256 model")
    ap.add_argument("--train-warmup", type=int, default=1, help="untimed warm-up steps per training benchmark")
    ap.add_argument("--mrpc", default=MRPC_DEFAULT)
    ap.add_argument("--lengths-file", default=LENGTHS_DEFAULT)
    ap.add_argument("--bf16", action="store_true",
                    help="forward and loss under torch.autocast('cpu', dtype=torch.bfloat16), float32 master weights")
    args = ap.parse_args()
    global DTYPE
    DTYPE = "bf16" if args.bf16 else "f32"

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    run_layer = args.layer or (args.train is None)
    train = args.train if args.train is not None else ("none" if args.layer else "all")
    env = {"bench": "env", "torch": torch.__version__, "threads": torch.get_num_threads(),
           "cpu_count": os.cpu_count(), "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE")}
    env.update(openblas_info())
    env.update(onednn_info())
    try:
        with open("/proc/cpuinfo") as f:
            info = dict(l.split(":", 1) for l in f.read().split("\n\n")[0].splitlines() if ":" in l)
        env["cpu"] = {k.strip(): info[k].strip() for k in info if k.strip() in ("model name", "cpu family", "model")}
    except OSError:
        pass
    emit(env)
    if env.get("openblas_core") == "Prescott" and not os.environ.get("OPENBLAS_CORETYPE"):
        log("WARNING: OpenBLAS runs its generic 'Prescott' kernels (CPU model unknown to this OpenBLAS); "
            "GEMM is ~3x slower than it could be. Consider --openblas-coretype SkylakeX (or Haswell), "
            "and run the Go benchmarks with the same OPENBLAS_CORETYPE.")
    if run_layer:
        bench_layer(args)
    sizes = {"all": ["small", "base"], "none": [], "base": ["base"], "small": ["small"]}[train]
    pads = ["fixed", "dynamic"] if args.padding == "both" else [args.padding]
    for size in sizes:
        for pad in pads:
            bench_train(args, size, pad)


if __name__ == "__main__":
    main()
