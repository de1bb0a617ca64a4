#!/usr/bin/env bash
# Install test dependencies into .venv and run the whole suite (what CI runs, via .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -e '.[test,scale]'  # scale: the Milvus store and Ray tests run too
if [ ! -x /usr/bin/chromium ]; then  # headless browser for the UI tests (Debian package; no browser download)
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium chromium-driver >/dev/null; fi
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .  # the formatter decides the layout; no hand-wrapped exceptions
# Declared dependencies vs imports (config in pyproject.toml): the whole package, then the runtime
# modules alone with every extra treated as absent, so a runtime import of an extra's package fails.
.venv/bin/deptry qa ui
.venv/bin/deptry qa ui --extend-exclude 'qa/train/|qa/(milvus_store|distributed|ocr)\.py|ui/agent_tools\.py' --optional-dependencies-dev-groups train,test,bench,scale,mcp,ocr
# The module graph: data flows one way, no cycles (contracts in pyproject.toml).
PYTHONPATH=. .venv/bin/lint-imports
# The type check: the runtime, qa/ without qa/train/, and ui/ (config in pyproject.toml).
.venv/bin/mypy
# One worker per core (pytest-xdist), an idle worker taking tests queued on a busy one (worksteal);
# the slowest tests named, to keep the suite near 10 minutes.
HF_HUB_OFFLINE=1 .venv/bin/python -m pytest -q -n auto --maxprocesses 4 --dist worksteal --durations=12 "$@"
