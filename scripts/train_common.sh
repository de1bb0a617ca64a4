# Shared by the training scripts (sourced, not run): where things are, and the one mining step.
#
#   QA_RUNS  where runs live (default ~/qa-runs): each script works in its own folder under it
#   SQUAD    a folder with train-v1.1.json.gz (and dev-v2.0-part-a.json.gz for the reader's
#            calibration); default ../shared/data/squad. docs/training.md, "Data", says what they are.
#   PY       a Python with the `train` extra (pip install -e '.[train]'); default .venv/bin/python
#   MINED    the mined negatives, shared by the reader and the embedder (default $QA_RUNS/mined.json)
# shellcheck shell=bash
cd "$(dirname "${BASH_SOURCE[0]}")/.."
QA_RUNS=${QA_RUNS:-$HOME/qa-runs}
SQUAD=${SQUAD:-../shared/data/squad}
PY=${PY:-$PWD/.venv/bin/python}
MINED=${MINED:-$QA_RUNS/mined.json}
export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1

# Exit 2 with a hint unless each named file is in $SQUAD.
need_squad() {
  local f
  for f in "$@"; do
    if [ ! -s "$SQUAD/$f" ]; then
      echo "error: $SQUAD/$f not found; set SQUAD to the folder with the SQuAD files (docs/training.md, Data)" >&2
      exit 2
    fi
  done
}

# The hard distractors and entity-swapped unanswerables both models train on (qa.train.data.mining:
# the product's hybrid retrieval with the bundled MiniLM over all train paragraphs), written once to
# $MINED; its scratch (the MiniLM's ONNX export, made when the folder is missing) is $QA_RUNS/mining.
# 10-30 minutes on 2 cores; skipped once $MINED exists.
mine_negatives() {
  if [ -s "$MINED" ]; then
    return
  fi
  need_squad train-v1.1.json.gz
  mkdir -p "$(dirname "$MINED")"
  "$PY" -m qa.train.data.mining --train-file "$SQUAD/train-v1.1.json.gz" --out "$MINED.part" --work "$QA_RUNS/mining"
  mv "$MINED.part" "$MINED"
}
