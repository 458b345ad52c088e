#!/bin/sh
# The model card's downstream runs for a model folder: full fine-tuning, run_glue's settings with
# warmup 0.06, 3 epochs, seeds 42-46, learning rates 3e-4 and 1e-4; SST-2 on its first 4,000
# training rows, STS-B on its first 2,000, MRPC on all 3,668. Two runs at a time on one thread
# each; a run whose eval_results.json exists is skipped, so a second call resumes.
#
#   models/card/downstream.sh MODEL OUT [TASKS]    # TASKS default "sst2 stsb mrpc"; SUBTUNE=path/to/subtune
#
# Each run goes to OUT/<task>-lr<lr>-seed<seed>; the last step prints mean ± std per task and rate.
set -e
cd "$(dirname "$0")/../.."
S=${SUBTUNE:-bin/subtune}
M=$1
OUT=$2
TASKS=${3:-sst2 stsb mrpc}
[ -n "$M" ] && [ -n "$OUT" ] || { echo "usage: $0 MODEL OUT [TASKS]" >&2; exit 2; }
for task in $TASKS; do
  case $task in sst2 | stsb | mrpc) ;; *) echo "$0: task $task: want sst2, stsb or mrpc" >&2; exit 2 ;; esac
done
mkdir -p "$OUT"
for task in $TASKS; do
  case $task in
  sst2) n="--max_train_samples 4000" ;;
  stsb) n="--max_train_samples 2000" ;;
  mrpc) n="" ;;
  esac
  for lr in 3e-4 1e-4; do
    for seed in 42 43 44 45 46; do
      d=$OUT/$task-lr$lr-seed$seed
      [ -f "$d/eval_results.json" ] && continue
      echo "$S finetune --model_name_or_path $M --task_name $task --output_dir $d --do_train --do_eval $n --num_train_epochs 3 --learning_rate $lr --warmup_ratio 0.06 --per_device_eval_batch_size 64 --eval_strategy no --save_strategy no --seed $seed --threads 1 >$d.log 2>&1"
    done
  done
done | xargs -P 2 -I{} sh -c '{} || echo "failed: {}"'
python3 - "$OUT" $TASKS <<'PY'
import json, os, statistics as st, sys
out, tasks = sys.argv[1], sys.argv[2:]
keys = {"sst2": ["eval_accuracy"], "stsb": ["eval_pearson"], "mrpc": ["eval_f1", "eval_accuracy"]}
for task in tasks:
    for lr in ("3e-4", "1e-4"):
        for key in keys[task]:
            xs = [100 * json.load(open(f))[key] for seed in range(42, 47)
                  for f in [f"{out}/{task}-lr{lr}-seed{seed}/eval_results.json"] if os.path.exists(f)]
            if len(xs) >= 2:
                print(f"{task} lr {lr} {key[5:]}: {st.mean(xs):.1f} ± {st.stdev(xs):.1f} over {len(xs)} seeds ({', '.join(f'{x:.1f}' for x in xs)})")
PY
