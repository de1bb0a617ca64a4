"""Settings: defaults, then QA_* variables, then explicit overrides; a bad value names its variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.settings import Settings


def test_settings_env_then_overrides(clean_env):
    assert Settings.from_env() == Settings()  # nothing set: the defaults
    clean_env.setenv("QA_MAX_FILE_MB", "1.5")
    clean_env.setenv("QA_FLAT_LIMIT", "100")
    clean_env.setenv("QA_THREADS", "3")
    clean_env.setenv("QA_SEEDS", "/tmp/my seeds")
    s = Settings.from_env()
    assert s.max_file_mb == 1.5 and s.max_file_bytes == int(1.5 * 1024 * 1024) == 1_572_864
    assert s.flat_limit == 100 and isinstance(s.flat_limit, int)
    assert s.threads == 3
    assert s.seeds == Path("/tmp/my seeds")
    # explicit overrides beat the environment; None means "not given"
    s = Settings.from_env(flat_limit=7, threads=None, chunk_size=500, max_file_mb=None)
    assert s.flat_limit == 7 and s.threads == 3 and s.max_file_mb == 1.5
    assert s.splitter()["chunk_size"] == 500
    # an empty variable is unset
    clean_env.setenv("QA_THREADS", "")
    assert Settings.from_env().threads == Settings().threads


@pytest.mark.parametrize(
    "var, raw",
    [("QA_FLAT_LIMIT", "lots"), ("QA_FLAT_LIMIT", "1e5"), ("QA_MAX_FILE_MB", "big"), ("QA_THREADS", "2.5"), ("QA_EMBED_PRECISION", "fp16")],
)
def test_settings_bad_value_names_the_variable(clean_env, var, raw):
    clean_env.setenv(var, raw)
    with pytest.raises(ValueError, match=var) as err:
        Settings.from_env()
    assert repr(raw) in str(err.value)


def test_settings_with_ignores_none(clean_env):
    s = Settings.from_env().with_(top_k=9, threads=None)
    assert s.top_k == 9 and s.threads == Settings().threads
