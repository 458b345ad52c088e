#!/usr/bin/python3
"""PyTorch checkpoint fixtures for package torchbin and the model loader.

Run from the repository root (Debian's python3-torch 1.13 and python3-numpy;
nothing else, no network):

    /usr/bin/python3 torchbin/testdata/gen.py

It reads only model/testdata: the tiny-bert checkpoint, shrunk here to
hidden size 16 so the fixtures stay a few tens of KB, and golden.py's
float64 re-implementation of BertForSequenceClassification for the expected
logits.

Folders (each an ordinary HF model folder: config.json plus weights):

  safetensors-f32/16/bf16   model.safetensors twins: the same weights as the
                            .bin folders below, written by golden.py's writer
  zip                       torch.save(state_dict), the zip format (F32)
  legacy                    _use_new_zipfile_serialization=False, with the
                            names of old checkpoints (LayerNorm.gamma/beta) and
                            the int64 embeddings.position_ids buffer
  f16, bf16                 zip, weights in float16 / bfloat16
  sharded                   two zip shards and pytorch_model.bin.index.json,
                            as save_pretrained(max_shard_size=...) writes them
  strided                   zip, with tensors a state dict can legally hold but
                            transformers never writes: a transposed (column-
                            major) weight, key and value as two views of one
                            storage, a view at a storage offset, a strided
                            slice, and an nn.Parameter (_rebuild_parameter)
  protocols                 tiny state dicts pickled with protocols 1 (legacy
                            format), 4 and 5: {"w": arange(6).reshape(2, 3).t(),
                            "h": the same in float16}
  hostile                   a real torch.save of a state dict holding an
                            object whose __reduce__ names posix.system (the
                            way os.system pickles): a reader must refuse it

expected.json holds the inputs and, per weight set (f32, f16, bf16), the
logits: float64 on the stored weights, rounded to float32.
"""

import collections
import importlib.util
import json
import os

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SOURCE = os.path.join(ROOT, "model", "testdata", "tiny-bert")

spec = importlib.util.spec_from_file_location("golden", os.path.join(ROOT, "model", "testdata", "golden.py"))
golden = importlib.util.module_from_spec(spec)
spec.loader.exec_module(golden)

# Sizes of the source model and what they shrink to.
SHRINK = {32: 16, 37: 20, 99: 30, 64: 16}
ARCH = "BertForSequenceClassification"


def shrunk_model():
    arrays, _, _ = golden.load_safetensors(os.path.join(SOURCE, "model.safetensors"))
    sd = {}
    for name in sorted(arrays):
        t = torch.from_numpy(arrays[name])
        for dim, n in enumerate(t.shape):
            t = t.narrow(dim, 0, SHRINK.get(n, n))
        sd[name] = t.contiguous().clone()
    with open(os.path.join(SOURCE, "config.json")) as f:
        cfg = json.load(f)
    cfg.update(hidden_size=16, intermediate_size=20, vocab_size=30, max_position_embeddings=16)
    return sd, cfg


def state_dict(d):
    """d as Module.state_dict() returns it: an OrderedDict carrying the
    modules' versions in its _metadata attribute (pickled with BUILD)."""
    sd = collections.OrderedDict(sorted(d.items()))
    sd._metadata = collections.OrderedDict([("", {"version": 1}), ("bert", {"version": 1})])
    return sd


def write_folder(name, cfg):
    d = os.path.join(HERE, name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    return d


def save_twin(name, sd, cfg, dtype):
    d = write_folder(name, cfg)
    tensors = {k: (dtype, v.float().numpy()) for k, v in sd.items()}
    golden.save_safetensors(os.path.join(d, "model.safetensors"), tensors)


def legacy_names(sd, cfg):
    out = {}
    for k, v in sd.items():
        k = k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
        out[k] = v
    # as transformers < 4.31 registered it: arange(max).expand((1, -1))
    out["bert.embeddings.position_ids"] = torch.arange(cfg["max_position_embeddings"]).expand((1, -1))
    return out


def strided(sd):
    out = dict(sd)
    p = "bert.encoder.layer.0."
    q = sd[p + "attention.self.query.weight"]
    out[p + "attention.self.query.weight"] = q.t().contiguous().t()
    kv = torch.cat([sd[p + "attention.self.key.weight"], sd[p + "attention.self.value.weight"]])
    out[p + "attention.self.key.weight"], out[p + "attention.self.value.weight"] = kv[:16], kv[16:]
    b = sd[p + "attention.self.query.bias"]
    out[p + "attention.self.query.bias"] = torch.cat([torch.full((5,), 9.0), b, torch.full((3,), 9.0)])[5:5 + b.numel()]
    w = sd[p + "intermediate.dense.weight"]
    out[p + "intermediate.dense.weight"] = torch.stack([w, torch.full_like(w, 7.0)], dim=-1)[..., 0]
    out["bert.pooler.dense.weight"] = torch.nn.Parameter(sd["bert.pooler.dense.weight"].clone())
    return out


def save_sharded(d, sd):
    names = sorted(sd)
    half = len(names) // 2
    weight_map = {}
    for i, part in enumerate((names[:half], names[half:])):
        shard = f"pytorch_model-{i + 1:05d}-of-00002.bin"
        torch.save(state_dict({k: sd[k] for k in part}), os.path.join(d, shard))
        weight_map.update({k: shard for k in part})
    total = sum(v.numel() * v.element_size() for v in sd.values())
    with open(os.path.join(d, "pytorch_model.bin.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2, sort_keys=True)
        f.write("\n")


class Hostile:
    """Pickles as a call of posix.system; never loaded, only written."""

    def __reduce__(self):
        return (os.system, ("true",))


def logits(sd, cfg, inputs):
    P = {k: v.double() for k, v in sd.items()}
    return golden.model_forward(P, golden.runtime_cfg(cfg), ARCH, inputs)["logits"]


def main():
    sd32, cfg = shrunk_model()
    weights = {
        "f32": sd32,
        "f16": {k: v.half() for k, v in sd32.items()},
        "bf16": {k: v.bfloat16() for k, v in sd32.items()},
    }
    for w, sd in weights.items():
        save_twin("safetensors-" + w, sd, cfg, w.upper())

    torch.save(state_dict(sd32), os.path.join(write_folder("zip", cfg), "pytorch_model.bin"))
    torch.save(state_dict(legacy_names(sd32, cfg)), os.path.join(write_folder("legacy", cfg), "pytorch_model.bin"),
               _use_new_zipfile_serialization=False)
    for w in ("f16", "bf16"):
        torch.save(state_dict(weights[w]), os.path.join(write_folder(w, cfg), "pytorch_model.bin"))
    save_sharded(write_folder("sharded", cfg), sd32)
    torch.save(strided(sd32), os.path.join(write_folder("strided", cfg), "pytorch_model.bin"))
    d = os.path.join(HERE, "protocols")
    os.makedirs(d, exist_ok=True)
    w = torch.arange(6.0).reshape(2, 3).t()
    tiny = {"w": w, "h": w.half()}
    torch.save(tiny, os.path.join(d, "p1-legacy.bin"), pickle_protocol=1, _use_new_zipfile_serialization=False)
    for p in (4, 5):
        torch.save(tiny, os.path.join(d, f"p{p}.bin"), pickle_protocol=p)

    hostile = dict(sd32)
    hostile["classifier.extra"] = Hostile()
    torch.save(hostile, os.path.join(write_folder("hostile", cfg), "pytorch_model.bin"))

    # The files as torch itself reads them back: same tensors, same values.
    for name in ("zip", "f16", "bf16", "strided"):
        back = torch.load(os.path.join(HERE, name, "pytorch_model.bin"))
        ref = weights.get(name, sd32)
        assert all(torch.equal(back[k], ref[k]) for k in ref), name
    assert not strided(sd32)["bert.encoder.layer.0.attention.self.query.weight"].is_contiguous()

    inputs = golden.make_inputs(golden.runtime_cfg(cfg), ARCH, seed=7)
    expected = {
        "inputs": {k: v.tolist() for k, v in inputs.items() if k != "labels"},
        "logits": {w: golden.f32list(logits(sd, cfg, inputs)) for w, sd in weights.items()},
    }
    golden.dump_json(os.path.join(HERE, "expected.json"), expected)


if __name__ == "__main__":
    main()
