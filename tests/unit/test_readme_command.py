"""scripts/readme_command.py: the command block after a README marker, which CI runs."""

from __future__ import annotations

import importlib.util

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def readme_command():
    spec = importlib.util.spec_from_file_location("readme_command", ROOT / "scripts" / "readme_command.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


README_SAMPLE = """# Tool

```bash
echo not-this-one
```

<!-- quickstart -->
Some prose about the quick start.

```bash
# make a venv
python3 -m venv .venv

  # an indented comment
.venv/bin/pip install -e . && .venv/bin/qa ask "What?"
```

<!-- tests -->
```sh
bash scripts/test.sh
```
"""


def test_marked_command_takes_the_block_after_the_marker(readme_command):
    assert readme_command.marked_command(README_SAMPLE, "quickstart") == (
        'python3 -m venv .venv\n.venv/bin/pip install -e . && .venv/bin/qa ask "What?"'
    )
    assert readme_command.marked_command(README_SAMPLE, "tests") == "bash scripts/test.sh"


def test_marked_command_missing_marker_exits(readme_command):
    with pytest.raises(SystemExit, match="no ```bash block after <!-- quick -->"):
        readme_command.marked_command(README_SAMPLE, "quick")
    with pytest.raises(SystemExit):
        readme_command.marked_command("<!-- quickstart -->\n```python\nprint(1)\n```\n", "quickstart")


def test_marked_command_real_readme(readme_command):
    command = readme_command.marked_command((ROOT / "README.md").read_text(encoding="utf-8"), "quickstart")
    assert "pip install" in command and "qa ask" in command
    assert not any(line.lstrip().startswith("#") for line in command.splitlines())


def test_readme_marker_without_its_own_block_is_an_error(readme_command):
    readme = "<!-- quickstart -->\nno block here\n<!-- tests -->\n```bash\nbash scripts/test.sh\n```\n"
    with pytest.raises(SystemExit):
        readme_command.marked_command(readme, "quickstart")
