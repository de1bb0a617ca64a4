#!/usr/bin/env bash
# The fine-tuned retrieval embedder (issue 12), end to end and resumable: mine hard negatives with
# the bundled MiniLM (shared with the reader: scripts/train_reader.sh step 1), fine-tune the
# transformer layers on SQuAD v1.1 train questions -> their chunks, write the fp16 overlay that
# ships in qa/models/embedder/.
#
#   bash scripts/train_embedder.sh          # run or resume; mining is skipped once mined.json exists
#   RUNS=~/qa-runs/embedder-v1 MINED=~/qa-runs/reader-v2/mined.json bash scripts/train_embedder.sh
#
# The checkpoint with the best recall@1 (then @5) on the held-out train articles is the one kept
# ($RUNS/best); SQuAD dev is never used. Needs the `train` extra: pip install -e '.[train]'.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-$HOME/qa-runs/embedder-v1}
MINED=${MINED:-$HOME/qa-runs/reader-v2/mined.json}
SQUAD=${SQUAD:-../shared/data/squad}
PY=${PY:-.venv/bin/python}
export HF_HUB_OFFLINE=1
mkdir -p "$RUNS" "$(dirname "$MINED")"

if [ ! -s "$MINED" ]; then
  "$PY" -m qa.train.data.mining --train-file "$SQUAD/train-v1.1.json.gz" --out "$MINED" --work "$(dirname "$MINED")/../embedder"
fi
"$PY" -m qa.train.embedder --train-file "$SQUAD/train-v1.1.json.gz" --mined "$MINED" --out-dir "$RUNS" \
  --questions 12000 --batch-size 32 --lr 3e-5 --eval-questions 500 --save-every 50
mkdir -p qa/models/embedder
cp "$RUNS/best/encoder-layers.safetensors" "$RUNS/best/embedder.json" qa/models/embedder/
echo "wrote qa/models/embedder/ (the model card, qa/models/embedder/README.md, quotes the figures in embedder.json)"
