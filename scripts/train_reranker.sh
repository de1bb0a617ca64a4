#!/usr/bin/env bash
# The cross-encoder reranker (issue 12), end to end and resumable: the first 3 layers of the bundled
# MiniLM with a one-logit head, trained listwise on SQuAD v1.1 train questions against the hard
# distractors the mining step found (shared with the reader: scripts/train_reader.sh step 1), then
# exported to ONNX and int8 (the variant with the best held-out recall@1) as qa/models/reranker/.
#
#   bash scripts/train_reranker.sh          # run or resume (checkpoint.pt every 200 steps); a finished run only exports
#   RUNS=~/qa-runs/reranker-v1 MINED=~/qa-runs/reader-v2/mined.json OUT=/tmp/reranker bash scripts/train_reranker.sh
#   EXTRA='--layers 2 --max-length 192' bash scripts/train_reranker.sh   # any qa.reranker_train option
#
# The checkpoint with the best recall@1 on the held-out train articles is kept ($RUNS/best); SQuAD dev
# is never used. Then measure: python bench/rerank.py --reranker qa/models/reranker --limit 2000.
# Needs the `train` extra: pip install -e '.[train]'.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-$HOME/qa-runs/reranker-v1}
MINED=${MINED:-$HOME/qa-runs/reader-v2/mined.json}
SQUAD=${SQUAD:-../shared/data/squad}
PY=${PY:-.venv/bin/python}
export HF_HUB_OFFLINE=1
mkdir -p "$RUNS" "$(dirname "$MINED")"

if [ ! -s "$MINED" ]; then
  "$PY" -m qa.mining --train-file "$SQUAD/train-v1.1.json.gz" --out "$MINED" --work "$(dirname "$MINED")/../embedder"
fi
# shellcheck disable=SC2086  # EXTRA is a list of options
"$PY" -m qa.reranker_train --train-file "$SQUAD/train-v1.1.json.gz" --mined "$MINED" --out-dir "$RUNS" \
  --questions 40000 --epochs 1 --batch-size 16 --lr 5e-5 --eval-questions 500 --save-every 200 --threads "$(nproc)" \
  --export-to "${OUT:-qa/models/reranker}" ${EXTRA:-}
echo "wrote ${OUT:-qa/models/reranker}: write its model card (README.md) from reranker.json before committing"
