#!/usr/bin/env bash
# Train reader candidates on a lent GPU, side by side, within one lease; bring back what changed.
#
# Why a script: a lease is 15 minutes, so everything runs in one prepared command. It starts from the
# shipped reader (qa.train.recover on the reader.onnx in git: no weights need to travel), trains the
# candidates at once on the one GPU (a MiniLM leaves it mostly idle), each cut to fit TIME_BUDGET
# seconds, and packs what training changed into shards small enough to come back (qa.train.shards).
#
# Carried (ignored) folder $DATA: train-v1.1.json.gz, mined.json.gz (qa.train.data.mining), base/ (the MiniLM
# config and tokenizer files). On this side afterwards:
#   python -m qa.train.recover --out runs/start --base-model .gpu/base   # the same start as there
#   python -m qa.train.shards unpack <returned>/a --base runs/start --out runs/a
set -euo pipefail
PY=${PY:-python3}
DATA=${DATA:-.gpu}
OUT=${OUT:-runs/gpu-out}
WORK=${WORK:-/tmp/reader-gpu}
TIME_BUDGET=${TIME_BUDGET:-480}
MAX_QUESTIONS=${MAX_QUESTIONS:-0}
EXTRA=${EXTRA:-}  # more train flags (a later one wins): a smoke run on the CPU
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=true
mkdir -p "$OUT" "$WORK"
"$PY" -m qa.train.recover --out "$WORK/start" --base-model "$DATA/base" >"$OUT/recover.log" 2>&1
source "$(dirname "$0")/reader_recipe.sh"
common=(--train-file "$DATA/train-v1.1.json.gz" --mined "$DATA/mined.json.gz" --base-model "$WORK/start"
  --max-questions "$MAX_QUESTIONS" "${READER_DATA[@]}" --epochs 2 --seed 31 --time-budget "$TIME_BUDGET" --save-every 1000000)
# a: every window on its own; b: a question's windows (its paragraph and 2 hard distractors) also under one softmax.
# VARIANTS=b gives b the GPU alone (reader v5's recipe, the time it needs for its 2 epochs: about 11 minutes on an H200)
declare -A flags=([a]="" [b]="${READER_SHARED_NORM[*]}")
pids=()
for v in ${VARIANTS:-a b}; do
  # shellcheck disable=SC2086  # the flags are words
  "$PY" -m qa.train.reader "${common[@]}" ${flags[$v]} $EXTRA --out-dir "$WORK/$v" >"$OUT/$v.log" 2>&1 &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
for v in ${VARIANTS:-a b}; do
  if [ -f "$WORK/$v/final/model.safetensors" ]; then
    "$PY" -m qa.train.shards pack "$WORK/$v/final" --base "$WORK/start" --out "$OUT/$v" >>"$OUT/$v.log" 2>&1 || status=1
  fi
done
exit $status
