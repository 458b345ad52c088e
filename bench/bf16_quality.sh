#!/bin/sh
# Quality of --bf16 against float32 on the shipped model (README, Speed and memory): SST-2 on its
# first 4,000 training rows and STS-B on its first 2,000, 3 epochs, seeds 42-46, the quick
# profile's settings. Per seed: full fine-tuning in float32 (recording the trajectory) and with
# --bf16; the subspace extracted from the float32 run (32 directions per layer, delta rows); and
# intrinsic fine-tuning inside it in both precisions. Finished runs are kept, so a second call
# resumes; the last step prints the table.
#
#   bench/bf16_quality.sh [OUT]      # default runs/bf16-quality; SUBTUNE=path/to/subtune
set -e
cd "$(dirname "$0")/.."
S=${SUBTUNE:-bin/subtune}
OUT=${1:-runs/bf16-quality}
M=models/subtune-bert-mini
mkdir -p "$OUT"
for spec in sst2:4000:12 stsb:2000:6; do # task, examples, steps between trajectory checkpoints (32 in all)
  task=${spec%%:*}; rest=${spec#*:}; n=${rest%%:*}; every=${rest##*:}
  for seed in 42 43 44 45 46; do
    d=$OUT/$task-seed$seed
    common="--model_name_or_path $M --task_name $task --max_train_samples $n --num_train_epochs 3 --do_train --do_eval
      --per_device_train_batch_size 32 --per_device_eval_batch_size 64 --learning_rate 1e-4 --warmup_ratio 0.06
      --seed $seed --eval_strategy no --save_strategy no --logging_steps 50"
    [ -f $d/full-f32/all_results.json ] || $S finetune $common --save_trajectory steps:$every --output_dir $d/full-f32 >$d.full-f32.log 2>&1
    [ -f $d/subspace.safetensors ] || $S extract --trajectory $d/full-f32/trajectory --output $d/subspace.safetensors --dim 32 --rows delta >$d.extract.log 2>&1
    [ -f $d/full-bf16/all_results.json ] || $S finetune $common --bf16 --output_dir $d/full-bf16 >$d.full-bf16.log 2>&1
    [ -f $d/intrinsic-f32/all_results.json ] || $S finetune $common --subspace $d/subspace.safetensors --output_dir $d/intrinsic-f32 >$d.intrinsic-f32.log 2>&1
    [ -f $d/intrinsic-bf16/all_results.json ] || $S finetune $common --bf16 --subspace $d/subspace.safetensors --output_dir $d/intrinsic-bf16 >$d.intrinsic-bf16.log 2>&1
    echo "$task seed $seed done $(date +%T)"
  done
done
python3 - "$OUT" <<'PY'
import json, os, statistics as st, sys
root = sys.argv[1]
metric = {"sst2": "eval_accuracy", "stsb": "eval_pearson"}
print("| task | method | float32, 5 seeds | --bf16, 5 seeds | difference of means | within float32's s.d. |")
print("|---|---|---|---|---|---|")
for task, key in metric.items():
    for method in ("full", "intrinsic"):
        runs = {p: [json.load(open(f))[key] * 100 for seed in range(42, 47)
                    for f in [f"{root}/{task}-seed{seed}/{method}-{p}/all_results.json"] if os.path.exists(f)]
                for p in ("f32", "bf16")}
        a, b = runs["f32"], runs["bf16"]
        if len(a) < 2 or len(b) < 2:
            continue
        d = st.mean(b) - st.mean(a)
        cell = lambda x: f"{st.mean(x):.2f} ± {st.stdev(x):.2f} ({', '.join(f'{v:.1f}' for v in x)})"
        ok = "yes" if abs(d) <= st.stdev(a) else "no"  # the float32 runs' spread over seeds
        print(f"| {task} ({key[5:]}) | {method} | {cell(a)} | {cell(b)} | {d:+.2f} | {ok} |")
PY
