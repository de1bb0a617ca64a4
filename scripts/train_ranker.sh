#!/usr/bin/env bash
# The feature ranker (issue 12), one command: index the held-out SQuAD train articles with the
# product (shipped embedder and fusion), retrieve each of their questions, and fit the ranker's
# weights on them; writes qa/models/ranker/ranker.json (recall of fusion and of the ranker,
# leave-one-article-out, inside). About 4 minutes on 2 cores. SQuAD dev is never read.
#
#   bash scripts/train_ranker.sh
#   OUT=/tmp/ranker CANDIDATES=30 bash scripts/train_ranker.sh     # then QA_RANKER=/tmp/ranker/ranker.json
#
# Then measure it on dev, side by side with fusion:  python bench/ranking.py --limit 2000
set -euo pipefail
cd "$(dirname "$0")/.."
SQUAD=${SQUAD:-../shared/data/squad}
PY=${PY:-.venv/bin/python}
export HF_HUB_OFFLINE=1
"$PY" -m qa.train.ranker --train-file "$SQUAD/train-v1.1.json.gz" --out "${OUT:-qa/models/ranker}" \
  --candidates "${CANDIDATES:-20}" --work "${WORK:-$HOME/qa-runs/ranker}"
