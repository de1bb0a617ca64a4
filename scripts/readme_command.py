"""Print the shell command that README.md marks with `<!-- NAME -->`: the first ```bash block after it.

CI runs what the README says, not a copy of it, so the two cannot drift.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path


def marked_command(readme: str, name: str) -> str:
    # the first block after the marker, and before any other marker
    m = re.search(rf"<!--\s*{re.escape(name)}\s*-->(?:(?!<!--).)*?```(?:bash|sh)\n(.*?)```", readme, re.S)
    if not m:
        raise SystemExit(f"README has no ```bash block after <!-- {name} -->")
    return "\n".join(ln for ln in m.group(1).splitlines() if ln.strip() and not ln.lstrip().startswith("#"))


if __name__ == "__main__":
    print(marked_command(Path(sys.argv[1]).read_text(encoding="utf-8"), sys.argv[2]))
