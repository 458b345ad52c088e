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
for r in 1 2; do
  echo "== round $r train 4x256 $(date +%T)"
  for dt in f32 bf16; do
    flag=; [ $dt = bf16 ] && flag=--bf16
    /usr/bin/python3 bench/pytorch_bench.py --train small --openblas-coretype "$CORE" --small-steps 10 $flag 2>/dev/null | grep -o "$PYKERNELS"'\|"dtype": "[a-z0-9]*"\|"padding": "[a-z]*", "batch_size": 32, "examples_per_s": [0-9.]*'
  done
  (cd trainer && OPENBLAS_CORETYPE="$CORE" /tmp/trainer.test -test.run '^$' -test.bench 'TrainStep/4x256' -test.benchtime 10x | grep -E '^Benchmark| kernels')
done
for r in 1 2; do
  echo "== round $r train base $(date +%T)"
  for dt in f32 bf16; do
    flag=; [ $dt = bf16 ] && flag=--bf16
    /usr/bin/python3 bench/pytorch_bench.py --train base --openblas-coretype "$CORE" --base-steps 3 $flag 2>/dev/null | grep -o "$PYKERNELS"'\|"dtype": "[a-z0-9]*"\|"padding": "[a-z]*", "batch_size": 32, "examples_per_s": [0-9.]*'
  done
  (cd trainer && OPENBLAS_CORETYPE="$CORE" /tmp/trainer.test -test.run '^$' -test.bench 'TrainStep/base' -test.benchtime 3x | grep -E '^Benchmark| kernels')
done
echo "== pre-training step, 4x256, 64x128 $(date +%T)"
(cd model && OPENBLAS_CORETYPE="$CORE" /tmp/model.test -test.run '^$' -test.bench 'MLMStep' -test.benchtime 10x | grep -E '^Benchmark')
echo "== done $(date +%T)"
