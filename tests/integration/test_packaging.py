"""The package as pip builds it: a wheel that carries every shipped model file."""

from __future__ import annotations

import subprocess
import sys
import zipfile

from tests.conftest import ROOT


def test_a_built_wheel_carries_every_shipped_model_file(tmp_path):
    """`pip install .` (not -e) must give a working product: every file under qa/models goes into the wheel.

    Built without isolation, offline, with the venv's setuptools (torch 2.13 requires >= 77.0.3, as pyproject does)."""
    run = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "is absent from the `packages` configuration" not in run.stderr
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {p.relative_to(ROOT).as_posix() for p in (ROOT / "qa" / "models").rglob("*") if p.is_file() and not p.name.startswith(".")}
    assert shipped and {"qa/models/reader/reader.onnx", "qa/models/embedder/embedder.json"} <= shipped
    assert shipped <= names, sorted(shipped - names)
