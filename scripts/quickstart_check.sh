#!/usr/bin/env bash
# Run the README's quick-start command exactly as written, as a new user would: in a fresh clone,
# with its own new venv and no extras. Then, in that same base install, check that `qa eval` and
# `qa serve` start too. A runtime import that only an extra (or the test venv) provides fails here.
#
#   bash scripts/quickstart_check.sh            # clones this checkout's HEAD
#   QUICKSTART_REF=some-branch bash scripts/...  # clones that branch instead
#
# pip's own cache is reused (a re-download is not what this checks).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/qa-quickstart.XXXXXX")
trap 'kill "${serve_pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

cmd=$(python3 scripts/readme_command.py README.md quickstart)
echo "quick start (from README.md): $cmd"
git clone -q ${QUICKSTART_REF:+--branch "$QUICKSTART_REF"} "$repo" "$work/qa"
cd "$work/qa"

start=$(date +%s)
if ! bash -c "$cmd" >"$work/out.txt" 2>"$work/err.txt"; then
  echo "FAIL: the README quick start exited non-zero. Last lines of its output:" >&2
  tail -n 25 "$work/err.txt" >&2
  tail -n 5 "$work/out.txt" >&2
  exit 1
fi
echo "quick start ran in $(( $(date +%s) - start )) s; venv $(du -sm .venv | cut -f1) MB"
cat "$work/out.txt"
# A cited answer: the seed article, a line, character offsets, and no abstention.
if ! grep -Eq 'nato-russia-council\.txt:[0-9]+ .*\[characters [0-9]+-[0-9]+\]' "$work/out.txt" \
   || grep -q "The documents don't say" "$work/out.txt"; then
  echo "FAIL: the quick start did not print a cited answer to the README's question" >&2
  exit 1
fi

# The same base install: no test or train packages crept in.
if .venv/bin/python -c "import pytest" 2>/dev/null; then
  echo "FAIL: the quick-start venv has pytest: it is not a base install" >&2
  exit 1
fi

# `qa eval` on a tiny SQuAD-format file written here (no SQuAD data needed).
python3 - "$work/tiny.json" <<'PY'
import json, sys
ctx = "The lighthouse at Port Elwyn was built in 1874 by the engineer Thomas Quayle."
q = {"id": "q1", "question": "Who built the lighthouse?", "answers": [{"text": "Thomas Quayle", "answer_start": ctx.index("Thomas")}]}
json.dump({"data": [{"title": "t", "paragraphs": [{"context": ctx, "qas": [q]}]}]}, open(sys.argv[1], "w"))
PY
HF_HUB_OFFLINE=1 .venv/bin/qa eval "$work/tiny.json" --reader-only --json >"$work/eval.json"
python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert r['questions']==1 and 'f1' in r, r" "$work/eval.json"
echo "qa eval: ok"

# `qa serve` comes up and serves its page (polls until ready; no fixed sleep).
port=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
HF_HUB_OFFLINE=1 .venv/bin/qa serve --port "$port" >"$work/serve.txt" 2>&1 &
serve_pid=$!
for _ in $(seq 1 600); do
  if grep -q "ready at" "$work/serve.txt"; then break; fi
  if ! kill -0 "$serve_pid" 2>/dev/null; then echo "FAIL: qa serve exited:" >&2; tail -n 20 "$work/serve.txt" >&2; exit 1; fi
  sleep 0.5
done
python3 - "$port" <<'PY'
import sys, urllib.request
with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/", timeout=30) as r:
    assert r.status == 200 and b"Ask your documents" in r.read(), "qa serve did not serve its page"
PY
echo "qa serve: ok"
echo "quick start check passed"
