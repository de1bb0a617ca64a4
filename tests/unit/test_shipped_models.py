"""The model files that ship with the package: where they are, how big, what the reader's config holds."""

from __future__ import annotations

import json

from qa.reader import default_model_dir


def test_shipped_model_is_package_data_and_small():
    d = default_model_dir()
    files = {p.name: p.stat().st_size for p in d.iterdir()}
    assert {"reader.onnx", "tokenizer.json", "reader.json"} <= set(files)
    assert sum(files.values()) < 40 * 2**20
    cfg = json.loads((d / "reader.json").read_text())
    assert 0.0 < cfg["no_answer_threshold"] < 1.0
