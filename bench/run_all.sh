#!/usr/bin/env bash
# Every benchmark in sequence, then the report. Sizes come from the environment so a short run
# (busy machine, little time) and a full run use the same script; each step logs to bench/work/logs/.
#
#   bench/run_all.sh                                   # full run with the shipped reader and runs/reader/final
#   READER=midtrain LIMIT_READER=500 ... bench/run_all.sh
#
# READER=midtrain first exports the latest training checkpoint (bench/midtrain.py) and benchmarks that.
set -euo pipefail
cd "$(dirname "$0")/.."
LOGS=bench/work/logs
mkdir -p "$LOGS"
CHECKPOINT=${CHECKPOINT:-runs/reader/final}
ONNX_FP32=${ONNX_FP32:-runs/export/fp32}
if [ "${READER:-shipped}" = midtrain ]; then
  [ -n "${SKIP_EXPORT:-}" ] || python bench/midtrain.py --checkpoint "${MIDTRAIN_FROM:-runs/reader/checkpoint.pt}" 2>&1 | tail -1 | tee "$LOGS/midtrain.log"
  CHECKPOINT=$(python -c "import json; print(json.load(open('bench/work/midtrain/step.json'))['hf'])")
  export QA_READER_DIR=bench/work/midtrain/onnx-int8
  ONNX_FP32=bench/work/midtrain/onnx-fp32
fi
fp32_arg=()
[ -f "$ONNX_FP32/reader.onnx" ] && fp32_arg=(--onnx-fp32-dir "$ONNX_FP32")
step() { echo "== $(date -u +%H:%M:%S) $*" | tee -a "$LOGS/run_all.log"; "$@" 2> "$LOGS/$(basename "$2" .py).log"; }
for s in ${STEPS:-reader latency baseline open_qa ranking indexing scale}; do
  case $s in
    reader)   step python bench/reader.py --checkpoint "$CHECKPOINT" ${QA_READER_DIR:+--onnx-dir "$QA_READER_DIR"} "${fp32_arg[@]}" --limit "${LIMIT_READER:-2000}" ;;
    latency)  step python bench/latency.py --cold-runs "${COLD_RUNS:-5}" --questions "${LIMIT_LATENCY:-200}" ;;
    baseline) step python bench/baseline.py --checkpoint "$CHECKPOINT" --limit "${LIMIT_BASELINE:-200}" ;;
    open_qa)  step python bench/open_qa.py --limit "${LIMIT_OPEN_QA:-1000}" --top-k "${TOP_KS:-1,3,5,10}" ;;
    ranking)  step python bench/ranking.py --limit "${LIMIT_RANKING:-2000}" ;;
    indexing) step python bench/indexing.py ;;
    scale)    step python bench/scale.py --limit "${LIMIT_SCALE_PARAGRAPHS:-0}" --sizes 1000,10000,100000 --questions "${SCALE_QUESTIONS:-100}" ;;
  esac
done
python bench/report.py
