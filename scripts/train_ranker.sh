#!/usr/bin/env bash
# The shipped feature ranker, one command: index the held-out SQuAD train articles with the product
# (the shipped embedder and fusion), retrieve each of their questions, and fit the ranker's weights on
# them; writes $OUT/ranker.json (with fusion's and the ranker's leave-one-article-out recall inside).
# Minutes on 2 cores, most of it indexing. SQuAD dev is never read.
#
#   bash scripts/train_ranker.sh                    # writes qa/models/ranker/ranker.json
#   OUT=/tmp/ranker CANDIDATES=30 bash scripts/train_ranker.sh   # then: QA_RANKER=/tmp/ranker/ranker.json qa ask ...
#
# Scratch goes to $RUNS (default ~/qa-runs/ranker); QA_RUNS, SQUAD and PY are in scripts/train_common.sh.
# Then measure it on dev, side by side with fusion: python bench/ranking.py --limit 2000
set -euo pipefail
source "$(dirname "$0")/train_common.sh"
RUNS=${RUNS:-$QA_RUNS/ranker}
OUT=${OUT:-qa/models/ranker}
need_squad train-v1.1.json.gz
"$PY" -m qa.train.ranker --train-file "$SQUAD/train-v1.1.json.gz" --out "$OUT" \
  --candidates "${CANDIDATES:-20}" --work "$RUNS"
