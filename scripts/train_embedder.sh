#!/usr/bin/env bash
# The shipped retrieval embedder's layers, end to end and resumable: the mined negatives (shared with the
# reader), the fine-tune of the bundled MiniLM's six transformer layers on SQuAD v1.1 train questions ->
# their chunks, and the fp16 overlay of the best checkpoint written to $OUT.
#
#   bash scripts/train_embedder.sh                  # run or resume; mining is skipped once $MINED exists
#   OUT=/tmp/embedder bash scripts/train_embedder.sh   # then: QA_EMBEDDER=/tmp/embedder qa index (a full rebuild)
#
# The checkpoint with the best recall@1 (then @5) on the held-out train articles is the one kept
# ($RUNS/best); SQuAD dev is never used. Work goes to $RUNS (default ~/qa-runs/embedder); QA_RUNS, SQUAD,
# PY and MINED are in scripts/train_common.sh. docs/training.md has the details; the feature ranker's
# dense features are in this embedder's scale, so refit the ranker after it (scripts/train_ranker.sh).
set -euo pipefail
source "$(dirname "$0")/train_common.sh"
RUNS=${RUNS:-$QA_RUNS/embedder}
OUT=${OUT:-qa/models/embedder}
need_squad train-v1.1.json.gz
mkdir -p "$RUNS"

mine_negatives
"$PY" -m qa.train.embedder --train-file "$SQUAD/train-v1.1.json.gz" --mined "$MINED" --out-dir "$RUNS" \
  --questions 12000 --batch-size 32 --lr 3e-5 --eval-questions 500 --save-every 50
mkdir -p "$OUT"
cp "$RUNS/best/encoder-layers.safetensors" "$RUNS/best/embedder.json" "$OUT/"
echo "wrote $OUT (its model card, qa/models/embedder/README.md, quotes the figures in embedder.json)"
