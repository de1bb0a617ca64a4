#!/usr/bin/env bash
# Every product benchmark in sequence, then the report (tables in docs/benchmarks.md and docs/scaling.md,
# the plot docs/latency_vs_corpus.png). Sample sizes come from the environment, so a short run and a
# full run use the same script; each step logs to bench/work/logs/.
#
#   bench/run_all.sh                                     # everything, full sizes (hours on 2 cores)
#   STEPS="open_qa latency" LIMIT_OPEN_QA=500 bench/run_all.sh
#
# reader.py and baseline.py compare the shipped ONNX reader with the same weights in PyTorch: CHECKPOINT
# is a Hugging Face folder of those weights (the training run's final folder; when it is missing, it is
# rebuilt from the shipped reader.onnx by qa.train.recover). scaling.py needs the scale and test extras
# (pymilvus, Ray, Milvus Lite); nonwiki.py needs man and col to render man pages.
set -euo pipefail
cd "$(dirname "$0")/.."
LOGS=bench/work/logs
mkdir -p "$LOGS"
CHECKPOINT=${CHECKPOINT:-runs/reader/final}
fp32_arg=()
[ -n "${ONNX_FP32:-}" ] && fp32_arg=(--onnx-fp32-dir "$ONNX_FP32")  # the fp32 ONNX export, when the training run kept it
need_checkpoint() { [ -f "$CHECKPOINT/config.json" ] || python -m qa.train.recover --out "$CHECKPOINT"; }
step() { echo "== $(date -u +%H:%M:%S) $*" | tee -a "$LOGS/run_all.log"; "$@" 2> "$LOGS/$(basename "$2" .py).log"; }
for s in ${STEPS:-reader open_qa latency indexing scale scaling pdf_pages upload ocr baseline ranking nonwiki}; do
  case $s in
    reader)    need_checkpoint
               step python bench/reader.py --checkpoint "$CHECKPOINT" "${fp32_arg[@]}" --limit "${LIMIT_READER:-400}"
               step python bench/reader.py --checkpoint "$CHECKPOINT" --engines onnx-int8 --limit 0 \
                 --out bench/results/reader_full_dev.json --work bench/work/reader_full ;;
    open_qa)   step python bench/open_qa.py --limit "${LIMIT_OPEN_QA:-2000}" --top-k "${TOP_KS:-1,3,5,10}" ;;
    latency)   step python bench/latency.py --cold-runs "${COLD_RUNS:-5}" --questions "${LIMIT_LATENCY:-200}" \
                 ${BASELINE_REF:+--baseline-ref "$BASELINE_REF"} ;;
    indexing)  step python bench/indexing.py ;;
    scale)     step python bench/scale.py --sizes 1000,10000,100000 --questions "${SCALE_QUESTIONS:-100}" ;;
    scaling)   step python bench/scaling.py --sizes 10000,100000 --real 30720 --questions 200 --ray-chunks 512 ;;
    pdf_pages) step python bench/pdf_pages.py --pages 300 ;;
    upload)    step python bench/upload.py ;;
    ocr)       step python bench/ocr.py ;;  # needs the ocr extra
    baseline)  need_checkpoint
               step python bench/baseline.py --checkpoint "$CHECKPOINT" --limit "${LIMIT_BASELINE:-200}" ;;
    ranking)   step python bench/ranking.py --limit "${LIMIT_RANKING:-2000}" ;;
    nonwiki)   step python bench/nonwiki.py ;;
    *)         echo "unknown step $s" >&2; exit 2 ;;
  esac
done
python bench/report.py
