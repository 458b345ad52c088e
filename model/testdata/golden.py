#!/usr/bin/python3
"""Golden checkpoints, logits, losses and gradients for subtune's model tests.

Run from the repository root (needs Debian's python3-torch and python3-numpy;
HuggingFace `transformers` / `safetensors` are NOT needed and not used):

    /usr/bin/python3 model/testdata/golden.py            # regenerate everything
    /usr/bin/python3 model/testdata/golden.py --skip-gradcheck   # same, without the ~6 s gradcheck self-test

What it is
----------
A plain-PyTorch, functional re-implementation of HuggingFace transformers'
BertModel / RobertaModel and the heads subtune needs, written from
modeling_bert.py / modeling_roberta.py (eager attention path):

* embeddings: word + token_type + position, LayerNorm(eps = config.layer_norm_eps),
  dropout.  BERT positions are 0..T-1.  RoBERTa positions come from
  create_position_ids_from_input_ids: cumsum(input_ids != pad) * mask + pad, i.e.
  real tokens get pad+1, pad+2, ... and padding tokens get pad (=1).
  word_embeddings is nn.Embedding(padding_idx=pad_token_id) (both models) and
  RoBERTa's position_embeddings has padding_idx=pad too: the padding_idx row
  receives NO gradient from the embedding lookup (torch semantics), which the
  golden gradients reflect.
* self-attention: scores = Q K^T / sqrt(head_dim) + (1 - mask) * finfo(dtype).min,
  softmax, dropout, context, output dense, dropout, LayerNorm(x + residual);
  FFN dense -> act -> dense -> dropout -> LayerNorm(x + residual).
  act: "gelu" = exact erf GELU, "gelu_new" = tanh approximation, "relu".
* heads: BertForSequenceClassification (pooler dense+tanh on token 0, dropout,
  classifier); RobertaForSequenceClassification (no pooler; dropout, dense, tanh,
  dropout, out_proj on token 0); BertForMaskedLM (no pooler; transform dense ->
  act -> LayerNorm, decoder = word_embeddings^T (tied) + cls.predictions.bias).
* losses: num_labels == 1 -> MSELoss(logits.squeeze(), labels.squeeze());
  num_labels > 1 -> CrossEntropyLoss; MLM -> CrossEntropyLoss(ignore_index=-100),
  mean over the labelled positions.

Precision
---------
The checkpoints are float32 (the legacy case float16).  The forward pass is
run twice: in float32 exactly as HF would, and in float64 on the same (exactly
up-cast) weights.  The GOLDEN values (logits, loss, hidden states, gradients)
are the float64 results, rounded to float32 only when written, so they are as
exact as the weights allow.  The float32-vs-float64 discrepancy of torch itself
is recorded in each golden.json under "torch_f32_vs_f64" to show which
tolerances are achievable by any float32 implementation.

Weights
-------
Deterministic (torch.manual_seed per case).  Embeddings ~ N(0, 0.02) as HF
initialises them (padding rows are NOT zeroed, so they matter).  Dense weights
are drawn with std 0.2 instead of HF's 0.02: with hidden=32 and std 0.02 the
attention would be nearly uniform and the FFN pre-activations ~0.1, where
gelu / gelu_new / a wrong attention scale differ by less than the test
tolerance.  All biases ~ N(0, 0.1), LayerNorm weights 1 + N(0, 0.1), LayerNorm
biases N(0, 0.1), so none of them is trivially 1 or 0.  The script checks that
plausible implementation mistakes (wrong activation, wrong attention scale,
ignored mask, BERT-style positions in RoBERTa) move the goldens by far more
than the tolerance ("mutation" self-test).

bf16 mixed precision
--------------------
For tiny-bert, tiny-roberta and tiny-bert-mlm a second golden is the same
forward/backward in float64 with both inputs of every GEMM rounded to
bfloat16 (round to nearest even) -- the forward and backward products of
every dense layer (pooler, classifier and MLM head included) and attention's
S = scale·Q·Kᵀ and P·V -- and nothing else rounded: subtune's SetBF16.
Custom autograd Functions (_RoundedLinear, _RoundedMatmul) make the
backward's roundings explicit: dX = r(dY)·r(W), dW = r(dY)ᵀ·r(X).  The
self-tests check the emulation against torch.autocast("cpu", bfloat16) (an
emulation of autocast, which additionally rounds GEMM results and their
gradients, built from the same Functions, must agree with it to float32
precision), measure how far correct float32 engines land from the golden
(torch's own float32 run and runs with jittered float32 arithmetic), and
check that the Go test's criteria pass those and fail plausible mistakes.

Outputs (each case is a folder model/testdata/<case>/)
------------------------------------------------------
config.json          as transformers' save_pretrained writes it (sorted keys, indent 2)
model.safetensors    HF layout; safetensors written by this script
golden.json          inputs and golden outputs, see README.md
grads.safetensors    F32, d loss / d parameter for every named parameter, named by
                     the canonical HF state_dict names (tied parameters once)
golden_bf16.json     the bf16 golden's outputs and measurements (three cases), see README.md
grads_bf16.safetensors  its gradients, as grads.safetensors
"""

import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))

# ----------------------------------------------------------------------------
# safetensors (format: 8-byte LE u64 header size N, N bytes of JSON header,
# space padded to a multiple of 8, then the byte buffer; data_offsets are
# [begin, end) relative to the start of the byte buffer)
# ----------------------------------------------------------------------------

_NP_OF = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4",
          "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "?"}
_SIZE_OF = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2,
            "I8": 1, "U8": 1, "BOOL": 1}


def _tensor_bytes(dtype, arr):
    arr = np.ascontiguousarray(arr)
    if dtype == "BF16":
        a32 = np.ascontiguousarray(arr, dtype="<f4").view("<u4")
        # round to nearest even, as torch does
        rounded = ((a32 + 0x7FFF + ((a32 >> 16) & 1)) >> 16).astype("<u2")
        return rounded.tobytes()
    return np.ascontiguousarray(arr, dtype=_NP_OF[dtype]).tobytes()


def save_safetensors(path, tensors, metadata=None):
    """tensors: dict name -> (dtype string, numpy array). Layout as the
    safetensors library: sorted by dtype size (descending) then name."""
    if metadata is None:
        metadata = {"format": "pt"}
    names = sorted(tensors, key=lambda n: (-_SIZE_OF[tensors[n][0]], n))
    header = {"__metadata__": metadata}
    blobs = []
    off = 0
    for n in names:
        dt, arr = tensors[n]
        b = _tensor_bytes(dt, arr)
        header[n] = {"dtype": dt, "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((8 - len(hb) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def load_safetensors(path):
    """Returns (dict name -> float32/int numpy array, dict name -> dtype string, metadata)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", None)
    buf = data[8 + n:]
    out, dtypes = {}, {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        raw = buf[b:e]
        dt = info["dtype"]
        if dt == "BF16":
            u = np.frombuffer(raw, dtype="<u2").astype("<u4") << 16
            arr = u.view("<f4")
        else:
            arr = np.frombuffer(raw, dtype=_NP_OF[dt])
        out[name] = arr.reshape(info["shape"]).copy()
        dtypes[name] = dt
    return out, dtypes, meta


# ----------------------------------------------------------------------------
# the model (functional; params is a dict of canonical HF names -> tensors)
# ----------------------------------------------------------------------------

def base_prefix(cfg):
    return "roberta." if cfg["model_type"] == "roberta" else "bert."


def param_names(cfg, arch):
    """Canonical HF state_dict parameter names, in state_dict order
    (tied / aliased tensors listed once, buffers excluded)."""
    p = base_prefix(cfg)
    names = [p + "embeddings.word_embeddings.weight",
             p + "embeddings.position_embeddings.weight",
             p + "embeddings.token_type_embeddings.weight",
             p + "embeddings.LayerNorm.weight",
             p + "embeddings.LayerNorm.bias"]
    for l in range(cfg["num_hidden_layers"]):
        q = f"{p}encoder.layer.{l}."
        for sub in ["attention.self.query", "attention.self.key", "attention.self.value",
                    "attention.output.dense", "attention.output.LayerNorm",
                    "intermediate.dense", "output.dense", "output.LayerNorm"]:
            names += [q + sub + ".weight", q + sub + ".bias"]
    if arch == "BertForSequenceClassification":
        names += [p + "pooler.dense.weight", p + "pooler.dense.bias",
                  "classifier.weight", "classifier.bias"]
    elif arch == "BertModel":
        names += [p + "pooler.dense.weight", p + "pooler.dense.bias"]
    elif arch == "RobertaForSequenceClassification":
        names += ["classifier.dense.weight", "classifier.dense.bias",
                  "classifier.out_proj.weight", "classifier.out_proj.bias"]
    elif arch == "BertForMaskedLM":
        # cls.predictions.decoder.weight is tied to word_embeddings and
        # cls.predictions.decoder.bias aliases cls.predictions.bias
        names += ["cls.predictions.bias",
                  "cls.predictions.transform.dense.weight", "cls.predictions.transform.dense.bias",
                  "cls.predictions.transform.LayerNorm.weight", "cls.predictions.transform.LayerNorm.bias"]
    else:
        raise ValueError(arch)
    return names


def param_shape(cfg, name):
    H, I, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    nl = cfg.get("num_labels", 2)
    if name.endswith("word_embeddings.weight"):
        return (V, H)
    if name.endswith("position_embeddings.weight"):
        return (cfg["max_position_embeddings"], H)
    if name.endswith("token_type_embeddings.weight"):
        return (cfg["type_vocab_size"], H)
    if "LayerNorm" in name:
        return (H,)
    if name == "cls.predictions.bias":
        return (V,)
    if name in ("classifier.weight", "classifier.out_proj.weight"):
        return (nl, H)
    if name in ("classifier.bias", "classifier.out_proj.bias"):
        return (nl,)
    if "intermediate.dense" in name:
        return (I, H) if name.endswith("weight") else (I,)
    if ".output.dense" in name and "attention" not in name:
        return (H, I) if name.endswith("weight") else (H,)
    return (H, H) if name.endswith("weight") else (H,)


def init_params(cfg, arch, seed):
    g = torch.Generator().manual_seed(seed)
    params = {}
    for n in param_names(cfg, arch):
        shape = param_shape(cfg, n)
        if "LayerNorm.weight" in n:
            t = 1.0 + 0.1 * torch.randn(shape, generator=g)
        elif n.endswith("bias"):
            t = 0.1 * torch.randn(shape, generator=g)
        elif "embeddings" in n:
            t = 0.02 * torch.randn(shape, generator=g)
        else:
            t = 0.2 * torch.randn(shape, generator=g)
        params[n] = t.float()
    return params


# ----------------------------------------------------------------------------
# precision: the model's GEMMs go through an Ops object
# ----------------------------------------------------------------------------

def round_bf16(x):
    """x rounded to the nearest bfloat16 (ties to even), kept in x's dtype."""
    return x.to(torch.bfloat16).to(x.dtype)


def _same(x):
    return x


class _RoundedLinear(torch.autograd.Function):
    """y = ra(x)·rw(W)ᵀ + b: a dense layer's GEMM whose inputs are rounded
    (ra: the activation, rw: the weight), computed and returned in x's dtype
    (float64 for the goldens: the products of the rounded inputs are exact,
    the result is not rounded). The backward's two GEMMs round their inputs
    too: dX = rg(dY)·rw(W), dW = rg(dY)ᵀ·ra(X). The bias is no GEMM input:
    it is added unrounded, and db = Σ dY unrounded."""

    @staticmethod
    def forward(ctx, x, w, b, ra, rw, rg):
        xr, wr = ra(x), rw(w)
        ctx.save_for_backward(xr, wr)
        ctx.rg, ctx.has_bias = rg, b is not None
        y = torch.matmul(xr, wr.t())
        return y + b if b is not None else y

    @staticmethod
    def backward(ctx, dy):
        xr, wr = ctx.saved_tensors
        dyr = ctx.rg(dy)
        out_dim, in_dim = wr.shape
        dx = torch.matmul(dyr, wr)
        dw = torch.matmul(dyr.reshape(-1, out_dim).t(), xr.reshape(-1, in_dim))
        db = dy.reshape(-1, out_dim).sum(0) if ctx.has_bias else None
        return dx, dw, db, None, None, None


class _RoundedMatmul(torch.autograd.Function):
    """C = alpha·ra(A)·ra(B) on the last two dimensions (batched), one GEMM
    with scale alpha; backward dA = alpha·rg(dC)·ra(B)ᵀ, dB = alpha·ra(A)ᵀ·rg(dC)."""

    @staticmethod
    def forward(ctx, a, b, alpha, ra, rg):
        ar, br = ra(a), ra(b)
        ctx.save_for_backward(ar, br)
        ctx.rg, ctx.alpha = rg, alpha
        return alpha * torch.matmul(ar, br)

    @staticmethod
    def backward(ctx, dc):
        ar, br = ctx.saved_tensors
        dcr = ctx.rg(dc)
        da = ctx.alpha * torch.matmul(dcr, br.transpose(-1, -2))
        db = ctx.alpha * torch.matmul(ar.transpose(-1, -2), dcr)
        return da, db, None, None, None


class _RoundGrad(torch.autograd.Function):
    """Rounds the value going forward AND the gradient coming back: what a
    cast to bfloat16, or an op with a bfloat16 result, does under autocast
    (the gradient of a bfloat16 tensor is a bfloat16 tensor)."""

    @staticmethod
    def forward(ctx, x):
        return round_bf16(x)

    @staticmethod
    def backward(ctx, g):
        return round_bf16(g)


class _RoundedTanh(torch.autograd.Function):
    """tanh of a bfloat16 tensor under autocast: y = round(tanh(x)); the
    backward uses the rounded output, dx = round(round(dy)·(1 − y²))."""

    @staticmethod
    def forward(ctx, x):
        y = round_bf16(torch.tanh(x))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, dy):
        (y,) = ctx.saved_tensors
        return round_bf16(round_bf16(dy) * (1 - y * y))


class Ops:
    """The model's GEMMs, and the results a low-precision engine may round.
    This one is plain PyTorch: with float32 / float64 tensors it is the
    reference computation, and it is what torch.autocast intercepts."""
    name = "exact"

    def linear(self, x, w, b):
        return F.linear(x, w, b)

    def matmul(self, a, b):
        return torch.matmul(a, b)

    def scores(self, q, kt, scale):
        """Attention scores Q·Kᵀ/scale."""
        return torch.matmul(q, kt) / scale

    def act(self, name, t):
        """The FFN / MLM-head activation of a GEMM's result."""
        return activation(name, t)

    def tanh(self, t):
        """The pooler's / RoBERTa head's tanh of a GEMM's result."""
        return torch.tanh(t)

    def ln_in(self, t):
        """Input of the MLM head's LayerNorm."""
        return t


class BF16Ops(Ops):
    """subtune's bf16 mixed precision, emulated (SetBF16): every GEMM of the
    forward and of the backward -- each dense layer's (pooler, classifier and
    MLM head included) and attention's Q·Kᵀ and P·V -- takes its two inputs
    rounded to bfloat16 and accumulates exactly; GEMM results, biases and
    everything else are not rounded. The attention scale is the GEMM's alpha
    (S = scale·Q·Kᵀ, as subtune computes it), so the backward GEMMs round
    dS itself, not dS·scale.

    The keyword arguments switch roundings off for the self-test's
    "mutations" (plausible implementation mistakes) and, with all of them
    _same, give the exact computation through the custom backward formulas
    (gradcheck)."""
    name = "bf16"

    def __init__(self, act=round_bf16, weight=round_bf16, grad=round_bf16, dense=True, attention=True):
        self.ra, self.rw, self.rg = act, weight, grad
        self.dense, self.attention = dense, attention

    def linear(self, x, w, b):
        if not self.dense:
            return F.linear(x, w, b)
        return _RoundedLinear.apply(x, w, b, self.ra, self.rw, self.rg)

    def matmul(self, a, b):
        if not self.attention:
            return torch.matmul(a, b)
        return _RoundedMatmul.apply(a, b, 1.0, self.ra, self.rg)

    def scores(self, q, kt, scale):
        if not self.attention:
            return torch.matmul(q, kt) / scale
        return _RoundedMatmul.apply(q, kt, 1.0 / scale, self.ra, self.rg)


class AutocastEmulationOps(Ops):
    """torch.autocast("cpu", dtype=torch.bfloat16) emulated (self-test only).
    Besides the GEMM inputs, autocast rounds each GEMM's result, a bfloat16
    tensor (linear = round(r(x)·r(W)ᵀ + r(b)): one rounding, bias rounded),
    every elementwise result computed from one in bfloat16 (activation, tanh,
    the division by √d, whose divisor becomes round(√d)), and every gradient
    of such a tensor: the GEMMs' input, weight and bias gradients come out in
    bfloat16. The MLM head's LayerNorm input is not rounded again (see
    AutocastOps)."""
    name = "autocast-emulation"
    R = staticmethod(_RoundGrad.apply)

    def linear(self, x, w, b):
        R = self.R
        return R(_RoundedLinear.apply(R(x), R(w), None if b is None else R(b), round_bf16, round_bf16, round_bf16))

    def matmul(self, a, b):
        R = self.R
        return R(_RoundedMatmul.apply(R(a), R(b), 1.0, round_bf16, round_bf16))

    def scores(self, q, kt, scale):
        # a Python scalar operand takes the tensor's dtype
        return self.R(self.matmul(q, kt) / float(round_bf16(torch.tensor(scale, dtype=torch.float64))))

    def act(self, name, t):
        # gelu / relu of a bfloat16 tensor: computed from its bfloat16 value,
        # rounded, and so is the gradient (gelu_new, a chain of bfloat16 ops
        # under autocast, is not emulated)
        assert name in ("gelu", "relu"), name
        return self.R(activation(name, t))

    def tanh(self, t):
        return _RoundedTanh.apply(t)


# torch 1.13 gives a bfloat16 matmul to oneDNN (float32 accumulation, one
# rounding of the result) only when M·N·K > 16³; smaller ones go to a
# fallback that, for some operand layouts, rounds every product to bfloat16
# and accumulates in bfloat16.
TORCH_ONEDNN_MIN_GEMM = 16 ** 3


class AutocastOps(Ops):
    """Plain ops, to run under torch.autocast, with two torch 1.13 details
    worked around so that what runs is autocast's bfloat16 semantics:
    * a dense layer whose GEMMs (forward or backward) are too small for
      oneDNN is computed with oneDNN's semantics by hand: inputs cast to
      bfloat16 and back, the product in float32, the result cast to bfloat16;
      the casts' backward round the gradients as autocast's would;
    * CPU autocast has no mixed-dtype layer_norm (bfloat16 input, float32
      weight: it raises), so the MLM head's LayerNorm input is cast to
      float32 -- exactly, and what later versions compute in effect."""
    name = "autocast"

    def linear(self, x, w, b):
        rows = x.numel() // x.shape[-1]
        out_dim, in_dim = w.shape
        if rows * out_dim * in_dim > TORCH_ONEDNN_MIN_GEMM:
            return F.linear(x, w, b)
        bf = torch.bfloat16
        xr, wr, br = x.to(bf), w.to(bf), None if b is None else b.to(bf)
        with torch.autocast("cpu", enabled=False):
            y = F.linear(xr.float(), wr.float(), None if br is None else br.float())
        return y.to(bf)

    def ln_in(self, t):
        return t.float()


EXACT = Ops()


def activation(name, x):
    if name == "gelu":
        return F.gelu(x)  # exact, erf based (HF GELUActivation)
    if name == "gelu_new":
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))
    if name == "relu":
        return F.relu(x)
    raise ValueError(name)


def roberta_position_ids(input_ids, padding_idx):
    mask = input_ids.ne(padding_idx).int()
    incremental = torch.cumsum(mask, dim=1).type_as(mask) * mask
    return incremental.long() + padding_idx


def _drop(x, p, training):
    return F.dropout(x, p=p, training=True) if (training and p > 0) else x


def encoder_layer(P, q, x, ext, cfg, training=False, mutate=None, ops=EXACT):
    """One BertLayer (eager attention). q: name prefix ending in 'encoder.layer.<l>.';
    ext: additive mask broadcastable to (B, heads, T, T)."""
    mutate = mutate or {}
    lin = ops.linear
    B, T, H = x.shape
    nh = cfg["num_attention_heads"]
    hd = H // nh
    eps = cfg["layer_norm_eps"]
    p_hid = cfg["hidden_dropout_prob"]
    p_att = cfg["attention_probs_dropout_prob"]
    act = mutate.get("act", cfg["hidden_act"])
    scale = math.sqrt(H) if mutate.get("scale_hidden") else math.sqrt(hd)

    def heads(t):
        return t.view(B, T, nh, hd).permute(0, 2, 1, 3)

    Q = heads(lin(x, P[q + "attention.self.query.weight"], P[q + "attention.self.query.bias"]))
    K = heads(lin(x, P[q + "attention.self.key.weight"], P[q + "attention.self.key.bias"]))
    Vv = heads(lin(x, P[q + "attention.self.value.weight"], P[q + "attention.self.value.bias"]))
    scores = ops.scores(Q, K.transpose(-1, -2), scale)
    scores = scores + ext
    probs = torch.softmax(scores, dim=-1)
    probs = _drop(probs, p_att, training)
    ctx = ops.matmul(probs, Vv).permute(0, 2, 1, 3).contiguous().view(B, T, H)
    a = lin(ctx, P[q + "attention.output.dense.weight"], P[q + "attention.output.dense.bias"])
    a = _drop(a, p_hid, training)
    a = F.layer_norm(a + x, (H,), P[q + "attention.output.LayerNorm.weight"],
                     P[q + "attention.output.LayerNorm.bias"], eps)
    i = ops.act(act, lin(a, P[q + "intermediate.dense.weight"], P[q + "intermediate.dense.bias"]))
    o = lin(i, P[q + "output.dense.weight"], P[q + "output.dense.bias"])
    o = _drop(o, p_hid, training)
    return F.layer_norm(o + a, (H,), P[q + "output.LayerNorm.weight"], P[q + "output.LayerNorm.bias"], eps)


def encoder_forward(P, cfg, input_ids, token_type_ids, attention_mask, training=False, mutate=None, ops=EXACT):
    """Returns last_hidden_state (B, T, H) and the position ids used."""
    mutate = mutate or {}
    pre = base_prefix(cfg)
    B, T = input_ids.shape
    H = cfg["hidden_size"]
    eps = cfg["layer_norm_eps"]
    pad = cfg["pad_token_id"]
    p_hid = cfg["hidden_dropout_prob"]
    dtype = P[pre + "embeddings.word_embeddings.weight"].dtype

    if cfg["model_type"] == "roberta" and not mutate.get("bert_positions"):
        pos_ids = roberta_position_ids(input_ids, pad)
        pos = F.embedding(pos_ids, P[pre + "embeddings.position_embeddings.weight"], padding_idx=pad)
    else:
        off = pad + 1 if cfg["model_type"] == "roberta" else 0
        pos_ids = (torch.arange(T, dtype=torch.long) + off).unsqueeze(0).expand(B, T)
        pos = F.embedding(pos_ids, P[pre + "embeddings.position_embeddings.weight"])
    words = F.embedding(input_ids, P[pre + "embeddings.word_embeddings.weight"], padding_idx=pad)
    types = F.embedding(token_type_ids, P[pre + "embeddings.token_type_embeddings.weight"])
    x = words + types
    x = x + pos
    x = F.layer_norm(x, (H,), P[pre + "embeddings.LayerNorm.weight"], P[pre + "embeddings.LayerNorm.bias"], eps)
    x = _drop(x, p_hid, training)

    if mutate.get("no_mask"):
        ext = torch.zeros(B, 1, 1, T, dtype=dtype)
    else:
        ext = (1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min

    for l in range(cfg["num_hidden_layers"]):
        x = encoder_layer(P, f"{pre}encoder.layer.{l}.", x, ext, cfg, training, mutate, ops)
    return x, pos_ids


def model_forward(P, cfg, arch, inputs, training=False, mutate=None, ops=EXACT):
    """inputs: dict of torch tensors input_ids, token_type_ids, attention_mask, labels (optional).
    Returns dict with last_hidden_state, logits, loss, (pooler_output), position_ids.
    ops: the GEMMs (Ops: plain; BF16Ops: bf16-rounded inputs)."""
    mutate = mutate or {}
    lin = ops.linear
    hs, pos_ids = encoder_forward(P, cfg, inputs["input_ids"], inputs["token_type_ids"],
                                  inputs["attention_mask"], training, mutate, ops)
    out = {"last_hidden_state": hs, "position_ids": pos_ids}
    pre = base_prefix(cfg)
    cdrop = cfg.get("classifier_dropout")
    if cdrop is None:
        cdrop = cfg["hidden_dropout_prob"]
    labels = inputs.get("labels")
    if arch in ("BertForSequenceClassification", "BertModel"):
        pooled = ops.tanh(lin(hs[:, 0], P[pre + "pooler.dense.weight"], P[pre + "pooler.dense.bias"]))
        out["pooler_output"] = pooled
        if arch == "BertModel" and "classifier.weight" not in P:
            return out
        logits = lin(_drop(pooled, cdrop, training), P["classifier.weight"], P["classifier.bias"])
    elif arch == "RobertaForSequenceClassification":
        x = _drop(hs[:, 0, :], cdrop, training)
        x = ops.tanh(lin(x, P["classifier.dense.weight"], P["classifier.dense.bias"]))
        x = _drop(x, cdrop, training)
        logits = lin(x, P["classifier.out_proj.weight"], P["classifier.out_proj.bias"])
    elif arch == "BertForMaskedLM":
        act = mutate.get("act", cfg["hidden_act"])
        t = ops.act(act, lin(hs, P["cls.predictions.transform.dense.weight"],
                             P["cls.predictions.transform.dense.bias"]))
        t = F.layer_norm(ops.ln_in(t), (cfg["hidden_size"],), P["cls.predictions.transform.LayerNorm.weight"],
                         P["cls.predictions.transform.LayerNorm.bias"], cfg["layer_norm_eps"])
        logits = lin(t, P[pre + "embeddings.word_embeddings.weight"], P["cls.predictions.bias"])
        out["logits"] = logits
        if labels is not None:
            out["loss"] = F.cross_entropy(logits.view(-1, cfg["vocab_size"]), labels.view(-1), ignore_index=-100)
        return out
    else:
        raise ValueError(arch)
    out["logits"] = logits
    if labels is not None:
        nl = cfg["num_labels"]
        if nl == 1:
            out["loss"] = F.mse_loss(logits.squeeze(), labels.squeeze().to(logits.dtype))
        else:
            out["loss"] = F.cross_entropy(logits.view(-1, nl), labels.view(-1))
    return out


# ----------------------------------------------------------------------------
# configs, as transformers' PretrainedConfig.save_pretrained writes them
# (to_diff_dict: model-specific keys always, id2label only when not the
# default 2-label map -- we write it for every classification case anyway)
# ----------------------------------------------------------------------------

TRANSFORMERS_VERSION = "4.36.2"


def labels_maps(n):
    return ({str(i): f"LABEL_{i}" for i in range(n)}, {f"LABEL_{i}": i for i in range(n)})


def bert_config(arch, num_labels=3, hidden_act="gelu", problem_type=None):
    cfg = {
        "architectures": [arch],
        "attention_probs_dropout_prob": 0.1,
        "classifier_dropout": None,
        "hidden_act": hidden_act,
        "hidden_dropout_prob": 0.1,
        "hidden_size": 32,
        "initializer_range": 0.02,
        "intermediate_size": 37,
        "layer_norm_eps": 1e-12,
        "max_position_embeddings": 64,
        "model_type": "bert",
        "num_attention_heads": 4,
        "num_hidden_layers": 2,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
        "transformers_version": TRANSFORMERS_VERSION,
        "type_vocab_size": 2,
        "use_cache": True,
        "vocab_size": 99,
    }
    if num_labels is not None:
        cfg["id2label"], cfg["label2id"] = labels_maps(num_labels)
    if problem_type is not None:
        cfg["problem_type"] = problem_type
    return cfg


def roberta_config():
    cfg = bert_config("RobertaForSequenceClassification", num_labels=2,
                      problem_type="single_label_classification")
    cfg.update({"model_type": "roberta", "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2,
                "max_position_embeddings": 66, "type_vocab_size": 1, "layer_norm_eps": 1e-05})
    return cfg


def legacy_config():
    # old-style config (as bert-base-uncased's): no transformers_version,
    # torch_dtype, use_cache, classifier_dropout, position_embedding_type
    cfg = {
        "architectures": ["BertModel"],
        "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": 32,
        "initializer_range": 0.02,
        "intermediate_size": 37,
        "layer_norm_eps": 1e-12,
        "max_position_embeddings": 64,
        "model_type": "bert",
        "num_attention_heads": 4,
        "num_hidden_layers": 2,
        "pad_token_id": 0,
        "type_vocab_size": 2,
        "vocab_size": 99,
    }
    cfg["id2label"], cfg["label2id"] = labels_maps(3)
    return cfg


def runtime_cfg(cfg):
    """config.json + derived num_labels (HF: len(id2label), default 2)."""
    c = dict(cfg)
    c["num_labels"] = len(cfg["id2label"]) if "id2label" in cfg else 2
    c.setdefault("classifier_dropout", None)
    return c


# ----------------------------------------------------------------------------
# inputs
# ----------------------------------------------------------------------------

def make_inputs(cfg, arch, seed, batch=3, seqlen=11, lengths=(11, 8, 5)):
    """Right-padded batch; BERT-style [CLS]=2 ... [SEP]=3 (RoBERTa <s>=0, </s>=2),
    pads are pad_token_id with attention_mask 0. BERT token types: first half 0,
    second segment 1, pads 0."""
    g = torch.Generator().manual_seed(seed)
    V = cfg["vocab_size"]
    pad = cfg["pad_token_id"]
    rob = cfg["model_type"] == "roberta"
    cls_id, sep_id = (0, 2) if rob else (2, 3)
    ids = torch.full((batch, seqlen), pad, dtype=torch.long)
    tt = torch.zeros((batch, seqlen), dtype=torch.long)
    am = torch.zeros((batch, seqlen), dtype=torch.long)
    for b, n in enumerate(lengths):
        body = torch.randint(5, V, (n,), generator=g)
        body[0] = cls_id
        body[n - 1] = sep_id
        mid = n // 2
        if not rob and n >= 5:
            body[mid] = sep_id
            tt[b, mid + 1:n] = 1
        ids[b, :n] = body
        am[b, :n] = 1
    inputs = {"input_ids": ids, "token_type_ids": tt, "attention_mask": am}
    if arch == "BertForMaskedLM":
        labels = torch.full((batch, seqlen), -100, dtype=torch.long)
        mask_id = 4
        # label ~30% of the real, non-special positions; replace most by [MASK]
        for b, n in enumerate(lengths):
            for t in range(1, n - 1):
                if ids[b, t] in (cls_id, sep_id):
                    continue
                if torch.rand((), generator=g).item() < 0.3:
                    labels[b, t] = ids[b, t]
                    if torch.rand((), generator=g).item() < 0.8:
                        ids[b, t] = mask_id
        if (labels != -100).sum() == 0:
            labels[0, 1] = ids[0, 1]
        inputs["labels"] = labels
    elif cfg["num_labels"] == 1:
        inputs["labels"] = torch.tensor([0.5, -1.25, 2.0], dtype=torch.float32)[:batch]
    else:
        inputs["labels"] = torch.tensor([i % cfg["num_labels"] for i in range(batch)][::-1], dtype=torch.long)
    return inputs


# ----------------------------------------------------------------------------
# JSON helpers
# ----------------------------------------------------------------------------

def f32list(t):
    """Nested lists of floats printed as the shortest decimal that round-trips
    the float32 value."""
    a = t.detach().to(torch.float32).numpy()
    flat = [float(str(v)) for v in a.reshape(-1)]  # str(np.float32) is the shortest round-trip repr
    if a.ndim == 0:
        return flat[0]

    def nest(vals, shape):
        if len(shape) == 1:
            return vals
        step = len(vals) // shape[0]
        return [nest(vals[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]

    return nest(flat, list(a.shape))


def to_list(t):
    if t.dtype.is_floating_point:
        return f32list(t)
    return t.tolist()


def dump_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1, allow_nan=False)
        f.write("\n")


# ----------------------------------------------------------------------------
# golden computation
# ----------------------------------------------------------------------------

def run_case(params32, cfg, arch, inputs, dtype, ops=EXACT, autocast=False):
    """Forward and backward in dtype through ops; autocast: the forward
    under torch.autocast("cpu", bfloat16), the backward outside it."""
    P = {n: t.detach().to(dtype).clone().requires_grad_(True) for n, t in params32.items()}
    inp = dict(inputs)
    if "labels" in inp and inp["labels"].dtype.is_floating_point:
        inp["labels"] = inp["labels"].to(dtype)
    if autocast:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = model_forward(P, cfg, arch, inp, ops=ops)
    else:
        out = model_forward(P, cfg, arch, inp, ops=ops)
    loss = out.get("loss")
    grads = None
    if loss is not None:
        names = list(P)
        gs = torch.autograd.grad(loss, [P[n] for n in names], allow_unused=True)
        grads = {n: (g if g is not None else torch.zeros_like(P[n])) for n, g in zip(names, gs)}
    return out, grads


def max_abs(a, b):
    return float((a.double() - b.double()).abs().max())


def rel_l2(a, b):
    d = float((a.double() - b.double()).norm())
    n = float(b.double().norm())
    return d / n if n > 0 else d


CASES = [
    # name, architecture, config, weight seed, input seed
    ("tiny-bert", "BertForSequenceClassification",
     lambda: bert_config("BertForSequenceClassification", 3, "gelu", "single_label_classification"), 1001, 2001),
    ("tiny-bert-regression", "BertForSequenceClassification",
     lambda: bert_config("BertForSequenceClassification", 1, "gelu_new", "regression"), 1002, 2002),
    ("tiny-bert-relu", "BertForSequenceClassification",
     lambda: bert_config("BertForSequenceClassification", 3, "relu", "single_label_classification"), 1003, 2003),
    ("tiny-roberta", "RobertaForSequenceClassification", roberta_config, 1004, 2004),
    ("tiny-bert-mlm", "BertForMaskedLM",
     lambda: bert_config("BertForMaskedLM", None, "gelu", None), 1005, 2005),
]

MUTATIONS = {
    "gelu": [("act", "gelu_new"), ("act", "relu")],
    "gelu_new": [("act", "gelu")],
    "relu": [("act", "gelu")],
}


def mutation_check(params32, cfg, arch, inputs, gold, gold_grads):
    """Every plausible mistake must move the goldens well beyond the test
    tolerance (1e-4 on logits / hidden states, 1e-3 relative on gradients).
    Returns label -> (max abs change of logits/hidden, max rel-l2 change of a gradient)."""
    res = {}
    muts = [({"act": a}, f"act={a}") for _, a in MUTATIONS[cfg["hidden_act"]]]
    muts += [({"scale_hidden": True}, "scale=1/sqrt(hidden)"), ({"no_mask": True}, "mask ignored")]
    if cfg["model_type"] == "roberta":
        muts.append(({"bert_positions": True}, "positions=arange+pad+1 (pads too)"))
    big = significant_grads(gold_grads)
    for m, label in muts:
        P = {n: t.detach().double().clone().requires_grad_(True) for n, t in params32.items()}
        out = model_forward(P, cfg, arch, inputs, mutate=m)
        gs = torch.autograd.grad(out["loss"], [P[n] for n in big], allow_unused=True)
        d = max(max_abs(out["logits"], gold["logits"]),
                max_abs(out["last_hidden_state"], gold["last_hidden_state"]))
        dg = max(rel_l2(g if g is not None else torch.zeros_like(P[n]), gold_grads[n]) for n, g in zip(big, gs))
        res[label] = (d, dg)
    return res


def significant_grads(grads):
    """Names of gradients that are not (mathematically) zero. The key biases'
    gradients are exactly 0 in exact arithmetic (softmax is invariant to adding
    q.b_k to every score of a row), so only rounding noise is left in them."""
    gmax = max(float(g.abs().max()) for g in grads.values())
    return [n for n, g in grads.items() if float(g.abs().max()) > 1e-9 * gmax]


def write_case(name, arch, cfg_json, seed_w, seed_x, legacy=False, report=None):
    outdir = os.path.join(HERE, name)
    os.makedirs(outdir, exist_ok=True)
    cfg = runtime_cfg(cfg_json)
    run_arch = arch
    torch.manual_seed(seed_w)
    if legacy:
        # same weights as tiny-bert (same seed), but an un-prefixed BertModel
        # checkpoint; head weights in head.safetensors
        params = init_params(cfg, "BertForSequenceClassification", seed_w)
        params = {n: t.half().float() for n, t in params.items()}  # f16 rounding
        run_arch = "BertForSequenceClassification"
    else:
        params = init_params(cfg, arch, seed_w)
    inputs = make_inputs(cfg, run_arch, seed_x)

    out64, grads64 = run_case(params, cfg, run_arch, inputs, torch.float64)
    out32, grads32 = run_case(params, cfg, run_arch, inputs, torch.float32)

    # ---- checkpoint
    with open(os.path.join(outdir, "config.json"), "w") as f:
        f.write(json.dumps(cfg_json, indent=2, sort_keys=True) + "\n")
    if legacy:
        st = {}
        for n, t in params.items():
            if n.startswith("classifier."):
                continue
            ln = n[len("bert."):]
            ln = ln.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
            st[ln] = ("F16", t.half().numpy())
        # old checkpoints carry the position_ids buffer (I64, [1, max_pos]); HF ignores it on load
        st["embeddings.position_ids"] = ("I64", np.arange(cfg["max_position_embeddings"], dtype=np.int64)[None, :])
        save_safetensors(os.path.join(outdir, "model.safetensors"), st)
        save_safetensors(os.path.join(outdir, "head.safetensors"),
                         {n: ("F32", params[n].numpy()) for n in ("classifier.weight", "classifier.bias")})
    else:
        save_safetensors(os.path.join(outdir, "model.safetensors"),
                         {n: ("F32", t.numpy()) for n, t in params.items()})
    save_safetensors(os.path.join(outdir, "grads.safetensors"),
                     {n: ("F32", g.float().numpy()) for n, g in grads64.items()})

    # ---- sanity
    for k in ("logits", "last_hidden_state", "loss"):
        assert torch.isfinite(out64[k]).all(), (name, k)
    for n, g in grads64.items():
        assert torch.isfinite(g).all(), (name, n)
    loss = float(out64["loss"])
    gnorm = math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads64.values()))

    # ---- torch float32 vs float64 (what a float32 engine can hope for)
    sig = significant_grads(grads64)
    zero_names = [n for n in grads64 if n not in sig]
    cmp = {
        "logits_max_abs": max_abs(out32["logits"], out64["logits"]),
        "last_hidden_state_max_abs": max_abs(out32["last_hidden_state"], out64["last_hidden_state"]),
        "loss_abs": abs(float(out32["loss"]) - loss),
        "grads_max_rel_l2": max(rel_l2(grads32[n], grads64[n]) for n in sig),
        "grads_max_abs_over_max_abs": max(max_abs(grads32[n], grads64[n]) / float(grads64[n].abs().max())
                                          for n in sig),
        "grads_zero_in_exact_arithmetic": zero_names,
        "grads_zero_in_exact_arithmetic_max_abs_f64": max([float(grads64[n].abs().max()) for n in zero_names] + [0.0]),
    }
    if "pooler_output" in out64:
        cmp["pooler_output_max_abs"] = max_abs(out32["pooler_output"], out64["pooler_output"])

    muts = mutation_check(params, cfg, run_arch, inputs, out64, grads64)

    g = {
        "case": name,
        "architecture": arch if not legacy else "BertModel (+ head.safetensors -> BertForSequenceClassification)",
        "model_type": cfg["model_type"],
        "num_labels": cfg["num_labels"],
        "golden_precision": "float64 forward/backward on the stored weights, rounded to float32",
        "inputs": {k: to_list(v) for k, v in inputs.items()},
        "position_ids": out64["position_ids"].tolist(),
        "logits": f32list(out64["logits"]),
        "loss": float(np.float32(loss)),
        "last_hidden_state": f32list(out64["last_hidden_state"]),
        "grads_file": "grads.safetensors",
        "grad_global_norm": gnorm,
        "torch_f32_vs_f64": cmp,
        "mutation_effects": {k: {"outputs_max_abs": v[0], "grads_max_rel_l2": v[1]} for k, v in muts.items()},
    }
    if "pooler_output" in out64:
        g["pooler_output"] = f32list(out64["pooler_output"])
    if legacy:
        g["head_file"] = "head.safetensors"
        g["grads_note"] = ("grads use canonical names (bert.*, LayerNorm.weight/bias, classifier.*), "
                           "computed from the f16-rounded weights with the classifier from head.safetensors")
    dump_json(os.path.join(outdir, "golden.json"), g)
    if report is not None:
        report[name] = {"loss": loss, "grad_norm": gnorm, "f32_vs_f64": cmp, "mutations": muts}
    return params, inputs, out64


# ----------------------------------------------------------------------------
# bf16 goldens
# ----------------------------------------------------------------------------

BF16_CASES = ("tiny-bert", "tiny-roberta", "tiny-bert-mlm")
BF16_U = 2.0 ** -8  # bfloat16's unit roundoff: 8-bit significand, ½ ulp of 1 = 2⁻⁸

# The criteria model/golden_bf16_test.go applies (keep the two in step; the
# test's comment derives them):
#  * e_X = ‖got − bf16‖/‖bf16‖ ≤ BF16_SPREAD · max(D_X, D_grads) for the logits,
#    the last hidden state and each gradient, where D_X = ‖f64 − bf16‖/‖bf16‖;
#  * c_X = ⟨got − bf16, f64 − bf16⟩/‖f64 − bf16‖² ≤ BF16_PROJECTION for the
#    logits and for all gradients together;
#  * gradients that are zero in exact arithmetic (the key biases'):
#    max |got − bf16| ≤ BF16_ZERO_GRAD_ULPS · u · max |d key.weight|.
BF16_SPREAD = 2.0
BF16_PROJECTION = 0.5
BF16_ZERO_GRAD_ULPS = 2.0
BF16_JITTER_RUNS = 24
BF16_JITTER_ULPS = 2.0


class _Jitter(torch.autograd.Function):
    """Multiplies the value going forward and the gradient coming back by
    1 + k·2⁻²⁴·N(0, 1): another float32 engine's rounding, in the self-test."""

    @staticmethod
    def forward(ctx, x, k, gen):
        ctx.k, ctx.gen = k, gen
        return x * (1 + k * 2.0 ** -24 * torch.randn(x.shape, generator=gen, dtype=torch.float64).to(x.dtype))

    @staticmethod
    def backward(ctx, g):
        return g * (1 + ctx.k * 2.0 ** -24 * torch.randn(g.shape, generator=ctx.gen, dtype=torch.float64).to(g.dtype)), None, None


class JitteredBF16Ops(BF16Ops):
    """BF16Ops in float32 with every GEMM's input activation and result (and
    their gradients) jittered by k float32 ulps: a correct bf16 engine whose
    float32 arithmetic differs from torch's, as any other engine's does."""

    def __init__(self, k, seed):
        super().__init__()
        self.k, self.gen = k, torch.Generator().manual_seed(seed)

    def _j(self, t):
        return _Jitter.apply(t, self.k, self.gen)

    def linear(self, x, w, b):
        return self._j(super().linear(self._j(x), w, b))

    def matmul(self, a, b):
        return self._j(super().matmul(a, b))

    def scores(self, q, kt, scale):
        return self._j(super().scores(q, kt, scale))


# plausible mistakes in a bf16 implementation, run in float32 like an engine
BF16_MUTATIONS = [
    ("no rounding at all (float32 GEMMs)", lambda: EXACT),
    ("only the weights rounded", lambda: BF16Ops(act=_same, grad=_same)),
    ("dense layers not rounded", lambda: BF16Ops(dense=False)),
    ("attention GEMMs not rounded", lambda: BF16Ops(attention=False)),
    ("backward's incoming gradient dY not rounded", lambda: BF16Ops(grad=_same)),
    ("GEMM results rounded too (autocast's bfloat16 outputs)", lambda: AutocastEmulationOps()),
]


def _flat(t):
    return t.detach().double().reshape(-1)


def bf16_compare(out, grads, ref, ref_grads, f64, f64_grads, sig):
    """e (normwise relative error to the bf16 golden) and c (projection onto
    the f64 reference's offset from it) for the logits, the last hidden
    state, every significant gradient and all of them together."""
    def ec(got, want, exact):
        g, w, x = _flat(got), _flat(want), _flat(exact)
        d = x - w
        return float((g - w).norm() / w.norm()), float(torch.dot(g - w, d) / torch.dot(d, d))

    res = {"logits": ec(out["logits"], ref["logits"], f64["logits"]),
           "last_hidden_state": ec(out["last_hidden_state"], ref["last_hidden_state"], f64["last_hidden_state"])}
    cat = lambda gs: torch.cat([_flat(gs[n]) for n in sig])
    res["grads"] = ec(cat(grads), cat(ref_grads), cat(f64_grads))
    res["per_grad"] = {n: ec(grads[n], ref_grads[n], f64_grads[n]) for n in sig}
    return res


def bf16_failures(cmp, D, zero, grads, ref_grads):
    """The criteria of golden_bf16_test.go; returns what fails."""
    bad = []
    Dg = D["grads"]
    for k in ("logits", "last_hidden_state"):
        e, c = cmp[k]
        if e > BF16_SPREAD * max(D[k], Dg):
            bad.append(f"{k} e={e:.2e} > {BF16_SPREAD}·max(D, D_grads)")
    e, c = cmp["grads"]
    if c > BF16_PROJECTION:
        bad.append(f"grads c={c:.2f}")
    if cmp["logits"][1] > BF16_PROJECTION:
        bad.append(f"logits c={cmp['logits'][1]:.2f}")
    for n, (e, c) in cmp["per_grad"].items():
        if e > BF16_SPREAD * max(D["per_grad"][n], Dg):
            bad.append(f"{n} e={e:.2e} > {BF16_SPREAD}·max({D['per_grad'][n]:.2e}, {Dg:.2e})")
    for n in zero:
        tol = BF16_ZERO_GRAD_ULPS * BF16_U * float(ref_grads[n.replace(".bias", ".weight")].abs().max())
        if max_abs(grads[n], ref_grads[n]) > tol:
            bad.append(f"{n} max abs {max_abs(grads[n], ref_grads[n]):.2e} > {tol:.2e}")
    return bad


def write_bf16_case(name, arch, cfg_json, seed_w, seed_x, report):
    """golden_bf16.json + grads_bf16.safetensors for one case (BF16Ops in
    float64), with the self-tests' measurements."""
    outdir = os.path.join(HERE, name)
    cfg = runtime_cfg(cfg_json)
    params = init_params(cfg, arch, seed_w)
    inputs = make_inputs(cfg, arch, seed_x)

    out64, grads64 = run_case(params, cfg, arch, inputs, torch.float64)
    outb, gradsb = run_case(params, cfg, arch, inputs, torch.float64, BF16Ops())
    for k in ("logits", "last_hidden_state", "loss"):
        assert torch.isfinite(outb[k]).all(), (name, k)
    for n, g in gradsb.items():
        assert torch.isfinite(g).all(), (name, n)
    sig = significant_grads(grads64)
    zero = [n for n in grads64 if n not in sig]
    assert all(n.endswith("attention.self.key.bias") for n in zero), zero

    # D: how far the unrounded float64 computation is from the bf16 golden
    D = bf16_compare(out64, grads64, outb, gradsb, out64, grads64, sig)
    D = {"logits": D["logits"][0], "last_hidden_state": D["last_hidden_state"][0], "grads": D["grads"][0],
         "per_grad": {n: v[0] for n, v in D["per_grad"].items()}}

    # torch's float32 run of the same emulation: what a float32 engine gets
    out32, grads32 = run_case(params, cfg, arch, inputs, torch.float32, BF16Ops())
    c32 = bf16_compare(out32, grads32, outb, gradsb, out64, grads64, sig)
    fails = {"torch float32": bf16_failures(c32, D, zero, grads32, gradsb)}

    # other float32 engines: jittered runs must pass the criteria too
    jit = []
    for seed in range(BF16_JITTER_RUNS):
        o, g = run_case(params, cfg, arch, inputs, torch.float32, JitteredBF16Ops(BF16_JITTER_ULPS, seed))
        cj = bf16_compare(o, g, outb, gradsb, out64, grads64, sig)
        jit.append(cj)
        fails[f"jitter seed {seed}"] = bf16_failures(cj, D, zero, g, gradsb)

    # mutations must fail them (or are reported as undetectable)
    muts = {}
    for label, mk in BF16_MUTATIONS:
        o, g = run_case(params, cfg, arch, inputs, torch.float32, mk())
        cm = bf16_compare(o, g, outb, gradsb, out64, grads64, sig)
        muts[label] = (cm, bf16_failures(cm, D, zero, g, gradsb))

    # PyTorch's own autocast against its emulation in float64, and against the golden
    outa, gradsa = run_case(params, cfg, arch, inputs, torch.float32, AutocastOps(), autocast=True)
    oute, gradse = run_case(params, cfg, arch, inputs, torch.float64, AutocastEmulationOps())
    ca = bf16_compare(outa, gradsa, oute, gradse, out64, grads64, sig)
    cg = bf16_compare(outa, gradsa, outb, gradsb, out64, grads64, sig)
    autocast = {
        "note": ("torch.autocast('cpu', bfloat16) on the float32 weights (dense layers too small for torch's "
                 "oneDNN path computed with oneDNN's semantics, see AutocastOps) against AutocastEmulationOps "
                 "in float64: the same roundings as the golden plus autocast's bfloat16 results and gradients"),
        "vs_autocast_emulation": {"logits_max_abs": max_abs(outa["logits"], oute["logits"]),
                                  "logits_rel_l2": ca["logits"][0], "grads_rel_l2": ca["grads"][0],
                                  "grads_max_rel_l2": max(v[0] for v in ca["per_grad"].values())},
        "vs_bf16_golden": {"logits_rel_l2": cg["logits"][0], "grads_rel_l2": cg["grads"][0],
                           "grads_max_rel_l2": max(v[0] for v in cg["per_grad"].values())},
    }

    save_safetensors(os.path.join(outdir, "grads_bf16.safetensors"),
                     {n: ("F32", g.float().numpy()) for n, g in gradsb.items()})
    loss = float(outb["loss"])
    r = lambda x: float(f"{x:.4g}")  # measurements: 4 digits are plenty
    g = {
        "case": name,
        "architecture": arch,
        "golden_precision": ("float64 forward/backward with both inputs of every GEMM rounded to bfloat16 "
                             "(round to nearest even): forward and backward products of every dense layer "
                             "(pooler, classifier, MLM head included) and attention's S = scale·Q·Kᵀ and P·V; "
                             "GEMM results, biases, LayerNorm, softmax, activations, loss not rounded; "
                             "written rounded to float32"),
        "inputs_file": "golden.json",
        "unit_roundoff": BF16_U,
        "logits": f32list(outb["logits"]),
        "loss": float(np.float32(loss)),
        "last_hidden_state": f32list(outb["last_hidden_state"]),
        "grads_file": "grads_bf16.safetensors",
        "grad_global_norm": math.sqrt(sum(float((x.double() ** 2).sum()) for x in gradsb.values())),
        "f64_vs_bf16": {
            "note": "D = ‖f64 − bf16‖/‖bf16‖: the unrounded float64 reference (golden.json) against this golden",
            "logits": D["logits"], "last_hidden_state": D["last_hidden_state"],
            "loss_abs": abs(float(out64["loss"]) - loss),
            "grads": D["grads"], "per_grad": D["per_grad"],
        },
        "grads_zero_in_exact_arithmetic": zero,
        "grads_zero_in_exact_arithmetic_max_abs": {n: float(gradsb[n].abs().max()) for n in zero},
        "torch_f32_vs_bf16": {
            "note": "the same emulation run by torch in float32: e = ‖f32 − bf16‖/‖bf16‖, c = projection on f64 − bf16",
            "logits": {"e": r(c32["logits"][0]), "c": r(c32["logits"][1])},
            "grads": {"e": r(c32["grads"][0]), "c": r(c32["grads"][1])},
            "grads_max_e_over_D": r(max(v[0] / D["per_grad"][n] for n, v in c32["per_grad"].items())),
        },
        "jittered_f32_vs_bf16": {
            "note": (f"{BF16_JITTER_RUNS} float32 runs with every GEMM's input, result and their gradients "
                     f"jittered by {BF16_JITTER_ULPS}·2⁻²⁴·N(0,1) relative: worst over the runs"),
            "logits_c": r(max(j["logits"][1] for j in jit)),
            "grads_c": r(max(j["grads"][1] for j in jit)),
            "grads_e_over_D": r(max(j["grads"][0] for j in jit) / D["grads"]),
            "max_e_over_D_per_grad": r(max(v[0] / D["per_grad"][n] for j in jit for n, v in j["per_grad"].items())),
            "max_e_over_bound": r(max(max(v[0] / (BF16_SPREAD * max(D["per_grad"][n], D["grads"]))
                                          for n, v in j["per_grad"].items()) for j in jit)),
            "runs_with_a_gradient_beyond_quarter_D": sum(
                any(v[0] > D["per_grad"][n] / 4 for n, v in j["per_grad"].items()) for j in jit),
        },
        "autocast_check": autocast,
        "mutation_effects": {k: {"logits_c": r(v[0]["logits"][1]), "grads_c": r(v[0]["grads"][1]),
                                 "grads_e_over_D": r(v[0]["grads"][0] / D["grads"]),
                                 "detected": bool(v[1])} for k, v in muts.items()},
    }
    dump_json(os.path.join(outdir, "golden_bf16.json"), g)
    report[name] = {"D": D, "f32": c32, "jitter": jit, "mutations": muts, "autocast": autocast, "fails": fails}


# ----------------------------------------------------------------------------
# self-tests
# ----------------------------------------------------------------------------

def gradcheck_selftest():
    """torch.autograd.gradcheck in float64: (1) a miniature model w.r.t. ALL
    parameters for each architecture/activation, and, through the bf16
    emulation's own backward formulas with the rounding switched off, for
    each architecture; (2) the real tiny-bert w.r.t. a few whole parameter
    tensors."""
    results = {}
    unrounded = BF16Ops(act=_same, weight=_same, grad=_same)
    mini = [
        ("BertForSequenceClassification", "gelu", 3, EXACT),
        ("BertForSequenceClassification", "gelu_new", 1, EXACT),
        ("BertForSequenceClassification", "relu", 2, EXACT),
        ("RobertaForSequenceClassification", "gelu", 2, EXACT),
        ("BertForMaskedLM", "gelu", None, EXACT),
        ("BertForSequenceClassification", "gelu", 3, unrounded),
        ("RobertaForSequenceClassification", "gelu", 2, unrounded),
        ("BertForMaskedLM", "gelu", None, unrounded),
    ]
    for arch, act, nl, ops in mini:
        if arch.startswith("Roberta"):
            cj = roberta_config()
        else:
            cj = bert_config(arch, nl, act, None)
        cj.update({"hidden_size": 8, "num_attention_heads": 2, "intermediate_size": 6,
                   "num_hidden_layers": 1, "vocab_size": 13, "max_position_embeddings": 12})
        cfg = runtime_cfg(cj)
        params = init_params(cfg, arch, 7)
        inputs = make_inputs(cfg, arch, 8, batch=3, seqlen=6, lengths=(6, 4, 3))
        if "labels" in inputs and inputs["labels"].dtype.is_floating_point:
            inputs["labels"] = inputs["labels"].double()
        names = list(params)
        tens = tuple(params[n].double().clone().requires_grad_(True) for n in names)

        def f(*ts):
            return model_forward(dict(zip(names, ts)), cfg, arch, inputs, ops=ops)["loss"]

        ok = torch.autograd.gradcheck(f, tens, eps=1e-6, atol=1e-5, rtol=1e-4)
        results[f"mini {arch} {act}" + ("" if ops is EXACT else " (bf16 backward formulas, unrounded)")] = bool(ok)

    cj = bert_config("BertForSequenceClassification", 3, "gelu", "single_label_classification")
    cfg = runtime_cfg(cj)
    params = init_params(cfg, "BertForSequenceClassification", 1001)
    inputs = make_inputs(cfg, "BertForSequenceClassification", 2001)
    names = list(params)
    sel = ["bert.embeddings.token_type_embeddings.weight", "bert.embeddings.LayerNorm.weight",
           "bert.encoder.layer.0.attention.self.query.bias", "bert.encoder.layer.1.output.LayerNorm.bias",
           "classifier.bias"]
    base = {n: params[n].double() for n in names}

    def g(*ts):
        P = dict(base)
        P.update(dict(zip(sel, ts)))
        return model_forward(P, cfg, "BertForSequenceClassification", inputs)["loss"]

    ok = torch.autograd.gradcheck(g, tuple(base[n].clone().requires_grad_(True) for n in sel),
                                  eps=1e-6, atol=1e-6, rtol=1e-4)
    results["tiny-bert selected tensors"] = bool(ok)
    return results


def roundtrip_selftest(outdir):
    """Our safetensors reader reads back what our writer wrote, bit for bit."""
    for case in os.listdir(outdir):
        d = os.path.join(outdir, case)
        p = os.path.join(d, "model.safetensors")
        if not os.path.isfile(p):
            continue
        with open(p, "rb") as f:
            raw = f.read()
        (n,) = struct.unpack("<Q", raw[:8])
        assert (8 + n) % 8 == 0, p
        hdr = json.loads(raw[8:8 + n])
        assert hdr["__metadata__"] == {"format": "pt"}, p
        end = max(v["data_offsets"][1] for k, v in hdr.items() if k != "__metadata__")
        assert 8 + n + end == len(raw), p
        tensors, dtypes, _ = load_safetensors(p)
        tmp = p + ".rt"
        save_safetensors(tmp, {k: (dtypes[k], v) for k, v in tensors.items()})
        with open(tmp, "rb") as f:
            assert f.read() == raw, p
        os.remove(tmp)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--skip-gradcheck", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    report = {}
    for name, arch, mk, sw, sx in CASES:
        write_case(name, arch, mk(), sw, sx, report=report)
    # legacy: tiny-bert's weights (seed 1001) and inputs (seed 2001), f16, old names, no prefix
    write_case("tiny-bert-legacy", "BertModel", legacy_config(), 1001, 2001, legacy=True, report=report)

    bf16_report = {}
    for name, arch, mk, sw, sx in CASES:
        if name in BF16_CASES:
            write_bf16_case(name, arch, mk(), sw, sx, bf16_report)

    roundtrip_selftest(HERE)
    ok = True
    for name, r in report.items():
        worst_mut = min(v[0] for v in r["mutations"].values())
        print(f"{name:22s} loss={r['loss']:.6f} |grad|={r['grad_norm']:.4f} "
              f"f32-vs-f64: logits {r['f32_vs_f64']['logits_max_abs']:.1e} "
              f"hidden {r['f32_vs_f64']['last_hidden_state_max_abs']:.1e} "
              f"grads(rel l2) {r['f32_vs_f64']['grads_max_rel_l2']:.1e}  "
              f"smallest mutation effect {worst_mut:.2e}")
        for k, (d, dg) in r["mutations"].items():
            print(f"   mutation {k:36s} outputs max abs {d:.2e}  grads max rel-l2 {dg:.2e}")
            if d < 3e-4 and dg < 3e-3:
                ok = False
                print(f"   WARNING mutation '{k}' is not detectable at the test tolerances")
        print(f"   zero-in-exact-arithmetic grads: {r['f32_vs_f64']['grads_zero_in_exact_arithmetic']}")
    for name, r in bf16_report.items():
        D = r["D"]
        print(f"{name:22s} bf16: f64-vs-bf16 (D) logits {D['logits']:.2e} grads {D['grads']:.2e} "
              f"(per tensor {min(D['per_grad'].values()):.2e}..{max(D['per_grad'].values()):.2e}); "
              f"torch f32 run: e/D logits {r['f32']['logits'][0] / D['logits']:.3f} grads {r['f32']['grads'][0] / D['grads']:.3f}")
        jit = r["jitter"]
        print(f"   {len(jit)} jittered f32 runs: worst c logits {max(j['logits'][1] for j in jit):.3f} "
              f"grads {max(j['grads'][1] for j in jit):.3f}; worst e/D grads {max(j['grads'][0] for j in jit) / D['grads']:.3f}, "
              f"per tensor {max(v[0] / D['per_grad'][n] for j in jit for n, v in j['per_grad'].items()):.3f}; "
              f"runs with a gradient beyond D/4: "
              f"{sum(any(v[0] > D['per_grad'][n] / 4 for n, v in j['per_grad'].items()) for j in jit)}")
        for who, f in r["fails"].items():
            if f:
                ok = False
                print(f"   FAILED: a correct bf16 computation ({who}) fails the Go test's criteria: {f[:3]}")
        for k, (cm, f) in r["mutations"].items():
            print(f"   mutation {k:55s} c logits {cm['logits'][1]:6.3f} grads {cm['grads'][1]:6.3f}  "
                  f"e/D grads {cm['grads'][0] / D['grads']:.2f}  {'detected' if f else 'NOT detected'}")
        if not r["mutations"][BF16_MUTATIONS[0][0]][1]:
            ok = False
            print("   FAILED: float32 GEMMs pass the bf16 criteria")
        a = r["autocast"]
        print(f"   torch autocast vs its float64 emulation: logits max abs {a['vs_autocast_emulation']['logits_max_abs']:.1e}, "
              f"grads rel l2 {a['vs_autocast_emulation']['grads_rel_l2']:.1e} (max tensor {a['vs_autocast_emulation']['grads_max_rel_l2']:.1e}); "
              f"vs the bf16 golden: logits {a['vs_bf16_golden']['logits_rel_l2']:.1e} grads {a['vs_bf16_golden']['grads_rel_l2']:.1e}")
        if a["vs_autocast_emulation"]["grads_rel_l2"] > 0.1 * D["grads"]:
            ok = False
            print("   FAILED: autocast and its emulation disagree: the emulation's roundings are misplaced")
    if not args.skip_gradcheck:
        for k, v in gradcheck_selftest().items():
            print(f"gradcheck {k}: {'ok' if v else 'FAILED'}")
            ok = ok and v
    total = 0
    for root, _, files in os.walk(HERE):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    print(f"testdata size: {total / 1e6:.2f} MB")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
