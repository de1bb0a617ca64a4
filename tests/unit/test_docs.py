"""The documentation says true things about the tree: its links resolve, the paths it names exist,
the training scripts call modules that exist, and docs/architecture.md's list of the files on the
query path is the one the imports give. Read with `ast` and regular expressions only: no model,
no index, no import of the package.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "qa" / "models").glob("*/README.md"))]
# pages whose every backticked repository path must exist (the model cards and benchmarks quote old runs' paths)
PATH_CHECKED = [ROOT / "README.md", ROOT / "docs" / "architecture.md", ROOT / "docs" / "training.md"]
QUERY_PATH_HEADING = "Files on the query path (`qa ask`)"

LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^\s*(```|~~~)")
REPO_PATH = re.compile(r"`((?:qa|ui|bench|scripts|docs|tests|experiments)/[\w./-]*)`")


def prose(text: str) -> str:
    """The text outside fenced code blocks (a link in a code sample is not a link)."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return "\n".join(lines)


# --------------------------------------------------------------------------- links and paths


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_point_to_existing_files(doc: Path):
    broken = []
    for target in LINK.findall(prose(doc.read_text(encoding="utf-8"))):
        if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # a URL, mailto:, or an anchor on the same page
        path = target.split("#", 1)[0].split("?", 1)[0]
        if not (doc.parent / path).exists():
            broken.append(target)
    assert not broken, f"{doc.relative_to(ROOT)} links to files that do not exist: {broken}"


@pytest.mark.parametrize("doc", [d for d in PATH_CHECKED if d.exists()], ids=lambda p: str(p.relative_to(ROOT)))
def test_named_repository_paths_exist(doc: Path):
    missing = []
    for path in REPO_PATH.findall(doc.read_text(encoding="utf-8")):
        if any(c in path for c in "<*…") or path.endswith("."):
            continue  # a pattern (qa/train/<tool>.py), not a path
        if not (ROOT / path.rstrip("/")).exists():
            missing.append(path)
    assert not missing, f"{doc.relative_to(ROOT)} names paths that do not exist: {missing}"


def test_training_scripts_call_modules_that_exist():
    called = {}
    for script in sorted((ROOT / "scripts").glob("*.sh")):
        for module in re.findall(r"-m\s+(qa\.[\w.]+)", script.read_text(encoding="utf-8")):
            called.setdefault(module, script.name)
    assert "qa.train.reader" in called and "qa.train.embedder" in called and "qa.train.ranker" in called
    missing = {m: s for m, s in called.items() if module_file(m) is None}
    assert not missing, f"scripts run modules that do not exist: {missing}"


# --------------------------------------------------------------------------- the query path


def module_file(module: str) -> Path | None:
    base = ROOT / Path(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def qa_imports(node: ast.AST) -> set[str]:
    """The qa.* modules that `import` statements anywhere under `node` name (module or function level)."""
    found = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Import):
            found |= {a.name for a in n.names if a.name.split(".")[0] == "qa"}
        elif isinstance(n, ast.ImportFrom) and n.level == 0 and n.module and n.module.split(".")[0] == "qa":
            for a in n.names:  # `from qa import embedder` imports a module; `from qa.store import Store` a name
                found.add(f"{n.module}.{a.name}" if module_file(f"{n.module}.{a.name}") else n.module)
    return found


def ask_imports() -> set[str]:
    """What qa/cli.py imports for `qa ask`: its module-level imports and those inside the functions the
    command runs (the group's `invoke`, `main`, `ask`, and the helpers they call), not those of
    `index`, `eval` or `serve`."""
    tree = ast.parse((ROOT / "qa" / "cli.py").read_text(encoding="utf-8"))
    functions = {n.name: n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    found = qa_imports(ast.Module(body=[s for s in tree.body if isinstance(s, (ast.Import, ast.ImportFrom))], type_ignores=[]))
    todo, seen = ["main", "cli", "invoke", "ask"], set()
    while todo:
        name = todo.pop()
        if name in seen or name not in functions:
            continue
        seen.add(name)
        found |= qa_imports(functions[name])
        todo += [c.func.id for c in ast.walk(functions[name]) if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)]
    assert {"ask", "invoke", "_pipeline"} <= seen, "qa/cli.py changed shape: update ask_imports()"
    return found


def query_path() -> set[str]:
    """qa/cli.py plus the transitive closure of the qa.* modules `qa ask` imports (every import in each)."""
    todo, seen = sorted(ask_imports()), {"qa.cli"}
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        path = module_file(module)
        assert path is not None, f"{module} is imported but has no file"
        todo += sorted(qa_imports(ast.parse(path.read_text(encoding="utf-8"))))
    files = {module_file(m) for m in seen}
    return {str(f.relative_to(ROOT)) for f in files if f is not None and f.name != "__init__.py"}


def documented_query_path() -> set[str]:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split(QUERY_PATH_HEADING, 1)[1]
    section = re.split(r"^#+ ", section, maxsplit=1, flags=re.M)[0]
    return set(re.findall(r"^\s*[-*] `(qa/[\w/]+\.py)`", section, flags=re.M))


def test_query_path_is_the_import_closure_of_qa_ask():
    actual, documented = query_path(), documented_query_path()
    assert documented == actual, (
        f"docs/architecture.md, '{QUERY_PATH_HEADING}': missing {sorted(actual - documented)}, "
        f"not on the path {sorted(documented - actual)}"
    )


def test_query_path_leaves_out_training_and_other_commands():
    path = query_path()
    assert "qa/cli.py" in path and "qa/reader.py" in path and "qa/pipeline.py" in path
    assert not any(p.startswith("qa/train/") for p in path)
    assert "qa/evaluate.py" not in path and "qa/watch.py" not in path  # `qa eval`'s and `qa index --watch`'s
