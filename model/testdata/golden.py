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

Outputs (each case is a folder model/testdata/<case>/)
------------------------------------------------------
config.json          as transformers' save_pretrained writes it (sorted keys, indent 2)
model.safetensors    HF layout; safetensors written by this script
golden.json          inputs and golden outputs, see README.md
grads.safetensors    F32, d loss / d parameter for every named parameter, named by
                     the canonical HF state_dict names (tied parameters once)
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


def encoder_layer(P, q, x, ext, cfg, training=False, mutate=None):
    """One BertLayer (eager attention). q: name prefix ending in 'encoder.layer.<l>.';
    ext: additive mask broadcastable to (B, heads, T, T)."""
    mutate = mutate or {}
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

    Q = heads(F.linear(x, P[q + "attention.self.query.weight"], P[q + "attention.self.query.bias"]))
    K = heads(F.linear(x, P[q + "attention.self.key.weight"], P[q + "attention.self.key.bias"]))
    Vv = heads(F.linear(x, P[q + "attention.self.value.weight"], P[q + "attention.self.value.bias"]))
    scores = torch.matmul(Q, K.transpose(-1, -2)) / scale
    scores = scores + ext
    probs = torch.softmax(scores, dim=-1)
    probs = _drop(probs, p_att, training)
    ctx = torch.matmul(probs, Vv).permute(0, 2, 1, 3).contiguous().view(B, T, H)
    a = F.linear(ctx, P[q + "attention.output.dense.weight"], P[q + "attention.output.dense.bias"])
    a = _drop(a, p_hid, training)
    a = F.layer_norm(a + x, (H,), P[q + "attention.output.LayerNorm.weight"],
                     P[q + "attention.output.LayerNorm.bias"], eps)
    i = activation(act, F.linear(a, P[q + "intermediate.dense.weight"], P[q + "intermediate.dense.bias"]))
    o = F.linear(i, P[q + "output.dense.weight"], P[q + "output.dense.bias"])
    o = _drop(o, p_hid, training)
    return F.layer_norm(o + a, (H,), P[q + "output.LayerNorm.weight"], P[q + "output.LayerNorm.bias"], eps)


def encoder_forward(P, cfg, input_ids, token_type_ids, attention_mask, training=False, mutate=None):
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
        x = encoder_layer(P, f"{pre}encoder.layer.{l}.", x, ext, cfg, training, mutate)
    return x, pos_ids


def model_forward(P, cfg, arch, inputs, training=False, mutate=None):
    """inputs: dict of torch tensors input_ids, token_type_ids, attention_mask, labels (optional).
    Returns dict with last_hidden_state, logits, loss, (pooler_output), position_ids."""
    mutate = mutate or {}
    hs, pos_ids = encoder_forward(P, cfg, inputs["input_ids"], inputs["token_type_ids"],
                                  inputs["attention_mask"], training, mutate)
    out = {"last_hidden_state": hs, "position_ids": pos_ids}
    pre = base_prefix(cfg)
    cdrop = cfg.get("classifier_dropout")
    if cdrop is None:
        cdrop = cfg["hidden_dropout_prob"]
    labels = inputs.get("labels")
    if arch in ("BertForSequenceClassification", "BertModel"):
        pooled = torch.tanh(F.linear(hs[:, 0], P[pre + "pooler.dense.weight"], P[pre + "pooler.dense.bias"]))
        out["pooler_output"] = pooled
        if arch == "BertModel" and "classifier.weight" not in P:
            return out
        logits = F.linear(_drop(pooled, cdrop, training), P["classifier.weight"], P["classifier.bias"])
    elif arch == "RobertaForSequenceClassification":
        x = _drop(hs[:, 0, :], cdrop, training)
        x = torch.tanh(F.linear(x, P["classifier.dense.weight"], P["classifier.dense.bias"]))
        x = _drop(x, cdrop, training)
        logits = F.linear(x, P["classifier.out_proj.weight"], P["classifier.out_proj.bias"])
    elif arch == "BertForMaskedLM":
        act = mutate.get("act", cfg["hidden_act"])
        t = activation(act, F.linear(hs, P["cls.predictions.transform.dense.weight"],
                                     P["cls.predictions.transform.dense.bias"]))
        t = F.layer_norm(t, (cfg["hidden_size"],), P["cls.predictions.transform.LayerNorm.weight"],
                         P["cls.predictions.transform.LayerNorm.bias"], cfg["layer_norm_eps"])
        logits = F.linear(t, P[pre + "embeddings.word_embeddings.weight"], P["cls.predictions.bias"])
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

def run_case(params32, cfg, arch, inputs, dtype):
    P = {n: t.detach().to(dtype).clone().requires_grad_(True) for n, t in params32.items()}
    inp = dict(inputs)
    if "labels" in inp and inp["labels"].dtype.is_floating_point:
        inp["labels"] = inp["labels"].to(dtype)
    out = model_forward(P, cfg, arch, inp)
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
# self-tests
# ----------------------------------------------------------------------------

def gradcheck_selftest():
    """torch.autograd.gradcheck in float64: (1) a miniature model w.r.t. ALL
    parameters for each architecture/activation; (2) the real tiny-bert w.r.t.
    a few whole parameter tensors."""
    results = {}
    mini = [
        ("BertForSequenceClassification", "gelu", 3),
        ("BertForSequenceClassification", "gelu_new", 1),
        ("BertForSequenceClassification", "relu", 2),
        ("RobertaForSequenceClassification", "gelu", 2),
        ("BertForMaskedLM", "gelu", None),
    ]
    for arch, act, nl in mini:
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
            return model_forward(dict(zip(names, ts)), cfg, arch, inputs)["loss"]

        ok = torch.autograd.gradcheck(f, tens, eps=1e-6, atol=1e-5, rtol=1e-4)
        results[f"mini {arch} {act}"] = bool(ok)

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
