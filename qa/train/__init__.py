"""Training: makes the shipped models under qa/models/ (reader, embedder layers, ranker).

Nothing on the query or index path imports this package (an import-linter contract checks it),
and the wheel leaves it out: training runs from a checkout with `pip install -e '.[train]'`.
Every tool runs as `python -m qa.train.<tool>`; docs/training.md says which makes what.
"""
