#!/usr/bin/env bash
# The full-epoch reader run on a GPU-less machine: resumable, and rebuilt from git alone after a reset.
#
#   nohup bash scripts/train_reader_on_cpu.sh >> ~/qa-runs/cpu-full/run.out 2>&1 &   # start or resume
#   pkill -f "qa.train.reader --train-file"      # stop (it resumes from the last checkpoint, every 50 steps)
#
# Why a script: the run needs 9.5-12.5 hours on 2 cores, so it spans sessions, and twice the machine
# was replaced between sessions, taking ~/qa-runs with it. Everything it starts from is rebuilt here
# when missing: the start weights from reader v4's int8 ONNX file in git (qa.train.recover), the
# hard distractors from the product's own retriever (qa.train.data.mining, 9-30 minutes). Reader v5's recipe
# (scripts/train_reader_on_gpu.sh, variant b: shared normalisation over a question's windows and two
# mined distractors) for one epoch, checkpointed every 50 steps; jemalloc preloaded when installed
# (apt-get install libjemalloc2: 1.44-1.48x the steps per hour, benchmarks §21).
# Needs the `train` extra. When it ends, compare final/ with the shipped reader on the held-out
# train articles (bench/heldout_readers.py) before anything ships.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-$HOME/qa-runs/cpu-full}
SQUAD=${SQUAD:-../shared/data/squad}
PY=${PY:-$PWD/.venv/bin/python}
START_COMMIT=${START_COMMIT:-54d6438}  # reader v4, the start of reader v5's run
export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
source scripts/reader_recipe.sh
mkdir -p "$RUNS"

if [ ! -f "$RUNS/start/config.json" ]; then
  v4="$RUNS/start-onnx"
  mkdir -p "$v4"
  for f in reader.onnx reader.json tokenizer.json; do git show "$START_COMMIT:qa/models/reader/$f" > "$v4/$f"; done
  "$PY" -m qa.train.recover --reader-dir "$v4" --out "$RUNS/start"
fi
if [ ! -s "$RUNS/mined.json" ]; then
  "$PY" -m qa.train.data.mining --train-file "$SQUAD/train-v1.1.json.gz" --out "$RUNS/mined.json" --work "$RUNS/embedder"
fi
jemalloc=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
if [ -f "$jemalloc" ]; then
  export LD_PRELOAD="$jemalloc" MALLOC_CONF="dirty_decay_ms:-1,muzzy_decay_ms:-1"
fi
if [ ! -f "$RUNS/train/final/model.safetensors" ]; then
  "$PY" -m qa.train.reader --train-file "$SQUAD/train-v1.1.json.gz" --mined "$RUNS/mined.json" \
    --base-model "$RUNS/start" --out-dir "$RUNS/train" \
    "${READER_DATA[@]}" "${READER_SHARED_NORM[@]}" --epochs 1 --seed 33 --save-every 50 --threads "$(nproc)"
fi
echo "done: $RUNS/train/final"
