#!/usr/bin/env bash
# The cross-encoder reranker (issue 12), end to end and resumable: the first 2 layers of the trained
# reader (MiniLM fine-tuned for extractive QA, so question-passage attention is already learned)
# with a one-logit head on the mean token state, trained listwise on SQuAD v1.1 train questions
# against the hard distractors the mining step found (shared with the reader), 128 tokens, then
# exported to ONNX and int8 (the variant with the best held-out recall@1) as qa/models/reranker/.
#
#   bash scripts/train_reranker.sh          # run or resume (checkpoint.pt every 200 steps); a finished run only exports
#   RUNS=~/qa-runs/reranker-v1 READER=~/qa-runs/reader-v2-e1/final OUT=/tmp/reranker bash scripts/train_reranker.sh
#   EXTRA='--layers 3 --max-length 192' bash scripts/train_reranker.sh   # any qa.reranker_train option
#
# READER is the torch checkpoint of the shipped reader (scripts/train_reader.sh writes it). The
# checkpoint with the best recall@1 on the held-out train articles is kept ($RUNS/best); SQuAD dev
# is never used. Then choose candidates, length and μ within the latency budget and measure:
#   python bench/rerank.py --reranker qa/models/reranker --limit 2000 --holdout-limit 1000
# Needs the `train` extra: pip install -e '.[train]'.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-$HOME/qa-runs/reranker-rinit}
READER=${READER:-$HOME/qa-runs/reader-v2-e1/final}
MINED=${MINED:-$HOME/qa-runs/reader-v2/mined.json}
SQUAD=${SQUAD:-../shared/data/squad}
PY=${PY:-.venv/bin/python}
export HF_HUB_OFFLINE=1
[ -f "$READER/model.safetensors" ] || { echo "no reader checkpoint at $READER: run scripts/train_reader.sh first, or set READER" >&2; exit 2; }
mkdir -p "$RUNS" "$(dirname "$MINED")"

if [ ! -s "$MINED" ]; then
  "$PY" -m qa.mining --train-file "$SQUAD/train-v1.1.json.gz" --out "$MINED" --work "$(dirname "$MINED")/../embedder"
fi
# shellcheck disable=SC2086  # EXTRA is a list of options
"$PY" -m qa.reranker_train --train-file "$SQUAD/train-v1.1.json.gz" --mined "$MINED" --out-dir "$RUNS" \
  --questions 40000 --epochs 1 --batch-size 16 --lr 7e-5 --eval-questions 500 --save-every 200 --threads "$(nproc)" \
  --layers 2 --max-length 128 --init-from "$READER" --export-to "${OUT:-qa/models/reranker}" ${EXTRA:-}
echo "wrote ${OUT:-qa/models/reranker}: run bench/rerank.py, set its choice in reranker.json, write the model card"
