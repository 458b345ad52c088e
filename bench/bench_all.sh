#!/bin/sh
# Every benchmark of the README's speed table, Go and PyTorch alternating, float32 and bf16 mixed
# precision (PyTorch: autocast); run it on an idle machine.
# Both sides run the OpenBLAS kernel family CORE (default SkylakeX) and print the one they ran.
cd "$(dirname "$0")/.."
CORE=${CORE:-SkylakeX}
PYKERNELS='"openblas_core": "[A-Za-z]*"'
go test -c -o /tmp/model.test ./model && go test -c -o /tmp/trainer.test ./trainer || exit 1
for r in 1 2 3; do
  echo "== round $r layer $(date +%T)"
  /usr/bin/python3 bench/pytorch_bench.py --layer --openblas-coretype "$CORE" 2>/dev/null | grep -o "$PYKERNELS"'\|"bench": "layer_[a-z_]*\|"median_ms": [0-9.]*\|"min_ms": [0-9.]*' | paste -sd' '
  (cd model && OPENBLAS_CORETYPE="$CORE" /tmp/model.test -test.run '^$' -test.bench 'Layer' -test.benchtime 10x | grep -E '^Benchmark| kernels' | awk '!seen[$0]++')
done
# train MODEL STEPS BENCH: PyTorch in float32 and under autocast, then subtune's
# BenchmarkTrainStep/BENCH (float32 and --bf16), two rounds.
train() {
  for r in 1 2; do
    echo "== round $r train $1 $(date +%T)"
    for flag in "" --bf16; do
      /usr/bin/python3 bench/pytorch_bench.py --train "$1" --openblas-coretype "$CORE" --"$1"-steps "$2" $flag 2>/dev/null | grep -o "$PYKERNELS"'\|"dtype": "[a-z0-9]*"\|"padding": "[a-z]*", "batch_size": 32, "examples_per_s": [0-9.]*'
    done
    (cd trainer && OPENBLAS_CORETYPE="$CORE" /tmp/trainer.test -test.run '^$' -test.bench "TrainStep/$3" -test.benchtime "$2"x | grep -E '^Benchmark| kernels')
  done
}
train small 10 4x256
train base 3 base
echo "== pre-training step, 4x256, 64x128 $(date +%T)"
(cd model && OPENBLAS_CORETYPE="$CORE" /tmp/model.test -test.run '^$' -test.bench 'MLMStep' -test.benchtime 10x | grep -E '^Benchmark')
echo "== done $(date +%T)"
