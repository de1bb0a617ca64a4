# Reader v5's training recipe, in one place: sourced by scripts/train_reader.sh and by the allocator
# experiment (experiments/2026-12-01-jemalloc/train_allocator.sh), so that the runs cannot drift.
# READER_DATA: the examples and their batching (hard distractors, made-up unanswerables, cut paragraphs,
# "What did X say?" copies) and the optimiser; READER_SHARED_NORM: one softmax over a question's
# windows and two of its mined distractors.
# shellcheck shell=bash disable=SC2034  # used by the scripts that source this file
READER_DATA=(--distractor-ratio 0.5 --swap-ratio 0.4 --perturb-ratio 0.6 --cut-ratio 0.4 --quote-copies 2
  --batch-size 64 --lr 5e-5 --max-length 256 --stride 96 --freeze-word-embeddings true)
READER_SHARED_NORM=(--shared-norm 1.0 --group-distractors 2)
