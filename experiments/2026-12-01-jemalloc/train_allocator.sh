#!/usr/bin/env bash
# Reader training on the CPU, glibc malloc against jemalloc, side by side: the same 40 steps twice each, alternating.
#
# Why: on 2 cores a training step spent a third of its CPU time in the kernel (about 100,000 minor page
# faults a second): glibc's malloc hands each step's large activation buffers back to the kernel and
# faults them in again on the next step. jemalloc keeps them. Same seed, same batches, so the losses
# must come out identical; only the time may differ.
#
#   MINED=PATH/TO/mined.json BASE=PATH/TO/start-model bash experiments/2026-12-01-jemalloc/train_allocator.sh > results.txt
#
# MINED: qa.train.data.mining's output; BASE: a --base-model folder (qa.train.recover). Needs Debian's libjemalloc2.
set -uo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
JEMALLOC=${JEMALLOC:-/usr/lib/x86_64-linux-gnu/libjemalloc.so.2}
WORK=${WORK:-/tmp/train-allocator}
SQUAD=${SQUAD:-../shared/data/squad/train-v1.1.json.gz}
[ -f "$JEMALLOC" ] || { echo "no $JEMALLOC: apt-get install libjemalloc2" >&2; exit 2; }
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
source scripts/reader_recipe.sh
args=(--train-file "$SQUAD" --mined "${MINED:?set MINED}" --base-model "${BASE:?set BASE}" --max-questions 3000 --max-steps 40
  "${READER_DATA[@]}" "${READER_SHARED_NORM[@]}" --seed 33 --save-every 1000000 --threads 2)
mkdir -p "$WORK"
echo "# $(date -u +%FT%TZ) $(git rev-parse --short HEAD), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs) x $(nproc): bash experiments/2026-12-01-jemalloc/train_allocator.sh"
for alloc in glibc jemalloc glibc jemalloc; do
  rm -rf "${WORK:?}/$alloc"
  f0=$(awk '/^pgfault /{print $2}' /proc/vmstat); t0=$(date +%s.%N)
  if [ "$alloc" = jemalloc ]; then
    LD_PRELOAD=$JEMALLOC MALLOC_CONF="dirty_decay_ms:-1,muzzy_decay_ms:-1" \
      "$PY" -m qa.train.reader "${args[@]}" --out-dir "$WORK/$alloc" > "$WORK/$alloc.log" 2>&1
  else
    "$PY" -m qa.train.reader "${args[@]}" --out-dir "$WORK/$alloc" > "$WORK/$alloc.log" 2>&1
  fi
  f1=$(awk '/^pgfault /{print $2}' /proc/vmstat); t1=$(date +%s.%N)
  echo "$alloc: wall $(echo "$t1 - $t0" | bc) s, minor page faults $((f1 - f0)); $(grep -E 'step (20|40)/' "$WORK/$alloc.log" | tr '\n' ' ')"
done
