"""docs/configuration.md is generated from the Settings metadata, and every variable named there sets its setting."""

from __future__ import annotations

import importlib.util
import typing
from dataclasses import fields
from pathlib import Path

import pytest

from qa.settings import EMBED_PRECISIONS, Settings
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def configuration_doc():
    spec = importlib.util.spec_from_file_location("configuration_doc", ROOT / "scripts" / "configuration_doc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_configuration_page_is_what_the_settings_say(configuration_doc):
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert page == configuration_doc.render(), "docs/configuration.md is stale: run `python scripts/configuration_doc.py`"


def test_the_page_names_every_setting_and_variable(configuration_doc):
    page = configuration_doc.render()
    for f in fields(Settings):
        assert f.metadata.get("doc"), f"{f.name} has no doc"
        assert f"| `{f.name}` |" in page
        for var in Settings.variables(f.name):
            assert var.startswith("QA_") and f"`{var}`" in page


def _sample(name: str) -> tuple[str, object]:
    """A value for the setting's variable other than its default, and what it parses to."""
    hint = typing.get_type_hints(Settings)[name]
    if name == "embed_precision":
        value = next(p for p in EMBED_PRECISIONS if p != Settings.embed_precision)
        return value, value
    if hint is int:
        return "7", 7
    if hint is float:
        return "1.5", 1.5
    if hint is str:
        return "custom", "custom"
    return "/tmp/qa-setting", Path("/tmp/qa-setting")  # Path, Path | None


@pytest.mark.parametrize("name", [f.name for f in fields(Settings) if Settings.variables(f.name)])
def test_each_variable_sets_its_setting(clean_env, name):
    raw, parsed = _sample(name)
    for var in Settings.variables(name):
        clean_env.setenv(var, raw)
        assert getattr(Settings.from_env(), name) == parsed, var
        clean_env.delenv(var)
    assert getattr(Settings.from_env(), name) == getattr(Settings(), name)


def test_qa_store_wins_over_qa_index(clean_env):
    clean_env.setenv("QA_INDEX", "/tmp/a")
    clean_env.setenv("QA_STORE", "milvus://localhost:19530/docs")
    assert Settings.env_text("index") == "milvus://localhost:19530/docs"  # the CLI takes the text: a URL is not a path
    clean_env.setenv("QA_STORE", "")
    assert Settings.env_text("index") == "/tmp/a"
