#!/usr/bin/env bash
# Reader v2, end to end and resumable: mine negatives, train, export to int8 ONNX, calibrate.
#
#   bash scripts/train_reader.sh            # run or resume; each step is skipped once its output exists
#   RUNS=~/qa-runs/reader-v2 SQUAD=../shared/data/squad bash scripts/train_reader.sh
#
# Checkpoints live outside the work tree ($RUNS), so a later session resumes where this one stopped
# (training saves every 100 steps). Needs the `train` extra: pip install -e '.[train]'.
# Steps:
#  1. qa.train.data.mining: hard distractors from the product's own hybrid retrieval over all train paragraphs,
#     entity-swapped unanswerables, and the held-out train articles used for model selection.
#  2. qa.train.reader: all of SQuAD v1.1 train (minus the held-out articles) for 2 epochs, plus the
#     negatives; per-window "no answer here" on every window without the answer.
#  3. qa.train.export_reader: ONNX, int8 variants chosen on the held-out train articles, the null-aware
#     score fitted and the threshold calibrated on dev-v2.0-part-a (the only use of a dev set).
#     The answer-score priors (rank_prior, ranker_prior) of the reader it replaces are carried over;
#  4. then re-choose them for the new reader on held-out train questions and put the chosen values
#     in reader.json: python bench/interpolation.py --limit 600 --holdout-limit 0
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-$HOME/qa-runs/reader-v2}
SQUAD=${SQUAD:-../shared/data/squad}
PY=${PY:-.venv/bin/python}
export HF_HUB_OFFLINE=1
mkdir -p "$RUNS"

if [ ! -s "$RUNS/mined.json" ]; then
  "$PY" -m qa.train.data.mining --train-file "$SQUAD/train-v1.1.json.gz" --out "$RUNS/mined.json" --work "$RUNS/../embedder"
fi
if [ ! -f "$RUNS/final/config.json" ]; then
  "$PY" -m qa.train.reader --train-file "$SQUAD/train-v1.1.json.gz" --out-dir "$RUNS" \
    --mined "$RUNS/mined.json" --distractor-ratio 0.5 --swap-ratio 0.2 \
    --epochs 2 --batch-size 32 --lr 1.5e-4 --max-length 256 --stride 96 --save-every 100 --threads "$(nproc)"
fi
"$PY" -m qa.train.export_reader --checkpoint "$RUNS/final" --work "$RUNS/export" --out "${OUT:-qa/models/reader}" \
  --select "$SQUAD/train-v1.1.json.gz" --mined "$RUNS/mined.json" --dev-v2 "$SQUAD/dev-v2.0-part-a.json.gz"
