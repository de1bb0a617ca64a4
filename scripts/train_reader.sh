#!/usr/bin/env bash
# The shipped reader (reader v5), end to end and resumable: its start (reader v4, from git), the mined
# negatives, the fine-tune, then the product's export to int8 ONNX and its calibration, into $OUT. It ships
# (copied into qa/models/reader/) only if it beats the shipped reader on the held-out train articles.
#
#   bash scripts/train_reader.sh                    # DEVICE=auto: a CUDA GPU when torch sees one, else the CPU
#   DEVICE=cuda bash scripts/train_reader.sh        # minutes of training on one data-centre GPU
#   DEVICE=cpu nohup bash scripts/train_reader.sh >> ~/qa-runs/reader.out 2>&1 &   # hours; run again to resume
#
# Each step before the export is skipped once its output exists, so running it again resumes (training
# checkpoints every 50 steps on the CPU) and then exports again. Work goes to $RUNS (default
# ~/qa-runs/reader); the settings every training script shares (QA_RUNS, SQUAD, PY, MINED) are in
# scripts/train_common.sh. docs/training.md tells the recipe, how long each step takes, and how reader v5
# came from v2, v3 and v4.
#
#   DEVICE      auto | cpu | cuda
#   OUT         where the exported reader goes (default $RUNS/model; try it with QA_READER_DIR=$OUT qa ask ...)
#   START       a reader folder (reader.onnx, reader.json, tokenizer.json) to start from; default:
#               reader v4's files at START_COMMIT (54d6438, the commit that shipped it)
#   MAX_STEPS   2935: where reader v5's 2-epoch plan ended (half an epoch); 0 trains the whole plan
set -euo pipefail
source "$(dirname "$0")/train_common.sh"
source scripts/reader_recipe.sh
RUNS=${RUNS:-$QA_RUNS/reader}
OUT=${OUT:-$RUNS/model}
DEVICE=${DEVICE:-auto}
START_COMMIT=${START_COMMIT:-54d6438}
MAX_STEPS=${MAX_STEPS:-2935}
# warm-up as a share of the steps: 0.24 x 2,935 = 704 steps, the warm-up of reader v5's 2-epoch plan (0.06 x 11,738)
if [ "$MAX_STEPS" = 0 ]; then WARMUP=${WARMUP:-0.06}; else WARMUP=${WARMUP:-0.24}; fi
need_squad train-v1.1.json.gz dev-v2.0-part-a.json.gz
mkdir -p "$RUNS"

if [ "$DEVICE" = auto ]; then
  DEVICE=$("$PY" -c 'import torch; print("cuda" if torch.cuda.is_available() else "cpu")')
fi
case "$DEVICE" in
  cpu)
    device_flags=(--device cpu --threads "$(nproc)" --save-every 50)
    # jemalloc keeps each step's activation buffers instead of handing them back to the kernel: same
    # losses, about 1.45x the steps per hour (Debian: apt-get install libjemalloc2)
    jemalloc=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
    if [ -f "$jemalloc" ]; then
      export LD_PRELOAD="$jemalloc" MALLOC_CONF="dirty_decay_ms:-1,muzzy_decay_ms:-1"
    fi
    ;;
  cuda) device_flags=(--device cuda --save-every 500) ;;
  *) echo "error: DEVICE must be auto, cpu or cuda, not '$DEVICE'" >&2; exit 2 ;;
esac
echo "training reader v5's recipe on $DEVICE in $RUNS"

# 1. The start: torch weights rebuilt from a reader's int8 ONNX file (qa.train.recover).
if [ ! -f "$RUNS/start/config.json" ]; then
  if [ -z "${START:-}" ]; then
    START="$RUNS/start-onnx"
    mkdir -p "$START"
    for f in reader.onnx reader.json tokenizer.json; do
      git show "$START_COMMIT:qa/models/reader/$f" > "$START/$f"
    done
  fi
  "$PY" -m qa.train.recover --reader-dir "$START" --out "$RUNS/start"
fi

# 2. Hard distractors and entity-swapped unanswerables (shared with the embedder).
mine_negatives

# 3. The fine-tune: all of train but the held-out articles, every made-up kind, shared normalisation.
if [ ! -f "$RUNS/train/final/model.safetensors" ]; then
  "$PY" -m qa.train.reader --train-file "$SQUAD/train-v1.1.json.gz" --mined "$MINED" \
    --base-model "$RUNS/start" --out-dir "$RUNS/train" "${READER_DATA[@]}" "${READER_SHARED_NORM[@]}" \
    --epochs 2 --max-steps "$MAX_STEPS" --warmup "$WARMUP" --seed 31 "${device_flags[@]}"
fi

# 4. Export: int8 variants chosen on the held-out train articles, the score calibrated and the threshold
# chosen on dev-v2.0-part-a. The answer-score priors are carried over from the reader already in $OUT
# (a new $OUT starts with the shipped reader's reader.json for that); bench/tune/interpolation.py re-chooses them.
if [ ! -f "$OUT/reader.json" ]; then
  mkdir -p "$OUT"
  cp qa/models/reader/reader.json "$OUT/reader.json"
fi
"$PY" -m qa.train.export_reader --checkpoint "$RUNS/train/final" --work "$RUNS/export" --out "$OUT" \
  --select "$SQUAD/train-v1.1.json.gz" --mined "$MINED" --dev-v2 "$SQUAD/dev-v2.0-part-a.json.gz"
echo "wrote $OUT. Before it ships, compare it with the shipped reader on the held-out train articles:"
echo "  $PY -m bench.tune.heldout_readers --reader shipped=qa/models/reader --reader new=$OUT --out $RUNS/heldout_readers.json"
echo "and if it wins: cp $OUT/reader.onnx $OUT/reader.json $OUT/tokenizer.json qa/models/reader/"
