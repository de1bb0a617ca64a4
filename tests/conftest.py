"""Shared fixtures: real seed files, a real index on disk, the real shipped reader; markers by folder.

tests/unit/ gets the `unit` marker, tests/integration/ `integration` and tests/train/ `train`
(pyproject.toml registers them); the component tests at the top level get none.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
SEED_ARTICLE = ROOT / "seeds" / "nato-russia-council.txt"
SQUAD_DIR = Path(os.environ.get("QA_SQUAD_DIR", ROOT.parent / "shared" / "data" / "squad"))
# the extra recall row `qa eval` reports when the feature ranker ships (QA_RANKER=auto finds it)
STAGES = ["rank"] if (ROOT / "qa" / "models" / "ranker" / "ranker.json").is_file() else []
RERANKED = {"hybrid+rank"} if STAGES else set()

MD_DOC = """# Field notes – the “Aurora” station

The *Aurora* research station was founded in 1987 by the glaciologist Ingrid Halvorsen.
It sits on the Kvitøya ice cap — about 400 km north‑east of Longyearbyen.

## Supplies
Supplies arrive twice a year by the icebreaker “Polarstjerna”; the crew calls it ‘the red ship’.
"""

HTML_DOC = """<!doctype html><html><head><title>Harbour history</title>
<style>p { color: red }</style><script>window.__pwned = 1; var secret = "zzyzx";</script></head>
<body><h1>Harbour history</h1>
<p>The lighthouse at Port Elwyn was built in <b>1874</b> by the engineer Thomas Quayle.</p>
<p>Its lamp was converted to electricity in 1931 — the keeper’s “last flame” ceremony drew 300 people.</p>
<p><a href="javascript:alert(1)">click</a> <img src=x onerror="window.__pwned=1"></p>
</body></html>"""


FOLDER_MARKERS = ("unit", "integration", "train")


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config, items) -> None:
    """Mark each test by the folder it is in, so `pytest -m unit` runs exactly tests/unit."""
    here = Path(__file__).parent
    for item in items:
        try:
            folder = item.path.relative_to(here).parts[0]
        except ValueError:
            continue
        if folder in FOLDER_MARKERS:
            item.add_marker(folder)


def write_seeds(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(SEED_ARTICLE, folder / SEED_ARTICLE.name)
    (folder / "notes").mkdir(exist_ok=True)
    (folder / "notes" / "aurora station.md").write_text(MD_DOC, encoding="utf-8")
    (folder / "harbour.html").write_text(HTML_DOC, encoding="utf-8")
    (folder / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    return folder


@pytest.fixture()
def clean_env(monkeypatch):
    """No QA_* variable set, whatever the environment the tests run in has; the monkeypatch to set some."""
    for var in [v for v in os.environ if v.startswith("QA_")]:
        monkeypatch.delenv(var)
    return monkeypatch


@pytest.fixture(scope="session")
def seeds_dir(tmp_path_factory) -> Path:
    """Read-only seeds shared by the session (copy it before changing anything)."""
    return write_seeds(tmp_path_factory.mktemp("seeds"))


@pytest.fixture(scope="session")
def index_dir(seeds_dir, tmp_path_factory) -> Path:
    """A real index built once from `seeds_dir` (read-only for tests)."""
    d = tmp_path_factory.mktemp("index")
    build(seeds_dir, d)
    return d


def stop_process(proc: subprocess.Popen, wait_s: float = 20) -> None:
    """Terminate a server the test started; kill it if it does not exit within `wait_s`."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(wait_s)
        except subprocess.TimeoutExpired:
            proc.kill()


def build(seeds: Path, index: Path, **kwargs):
    """`build_index` into the local store at `index`."""
    from qa.backends import open_store
    from qa.indexer import build_index

    return build_index(open_store(index), seeds, **kwargs)


def open_version(index: Path):
    """The live version of the local index at `index`."""
    from qa.backends import open_store

    return open_store(index).open()


# A build in another process that stops at a named step (a progress message prefix), to kill it
# or hold it there at a known moment: no sleeps, no guessing how far it got.
#   argv: seeds index step action [go-file]    action: kill | pause (until go-file exists)
STEP_SCRIPT = """
import os, signal, sys, time
from pathlib import Path
from qa.indexer import build_index
from qa.settings import Settings
from qa.backends import open_store

seeds, index, step, action = sys.argv[1:5]
def progress(message, fraction):
    if message.startswith(step):
        if action == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        print("AT-STEP", message, flush=True)
        while not Path(sys.argv[5]).exists():
            time.sleep(0.02)

report = build_index(open_store(index), Path(seeds), Settings.from_env(embed_batch=16), progress=progress)
print(report.summary(), flush=True)
"""


def build_until(seeds: Path, index: Path, step: str, action: str, go_file: Path | None = None) -> subprocess.Popen:
    """Start a build in a subprocess that is killed at, or pauses at, the first progress message
    starting with `step` (with `pause`, wait for its "AT-STEP" line before relying on it)."""
    args = [sys.executable, "-c", STEP_SCRIPT, str(seeds), str(index), step, action] + ([str(go_file)] if go_file else [])
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture()
def fresh(tmp_path, index_dir, seeds_dir):
    """A private copy of seeds and index that a test may change."""
    return copy_seeds_and_index(seeds_dir, index_dir, tmp_path)


def copy_seeds_and_index(seeds_dir: Path, index_dir: Path, dest: Path) -> tuple[Path, Path]:
    """Copies of the seeds and the index, the index as if it had been built from the copied seeds."""
    s, i = dest / "seeds", dest / "index"
    shutil.copytree(seeds_dir, s, symlinks=True)
    shutil.copytree(index_dir, i, symlinks=True)
    for manifest in i.glob("versions/*/manifest.json"):
        m = json.loads(manifest.read_text(encoding="utf-8"))
        m["seeds"] = str(s.resolve())
        manifest.write_text(json.dumps(m, indent=1, ensure_ascii=False), encoding="utf-8")
    return s, i


@pytest.fixture(scope="session")
def pipeline(index_dir, seeds_dir):
    from qa.pipeline import QAPipeline

    p = QAPipeline(index_dir, seeds_dir)
    p.warm_up()
    return p


@pytest.fixture(scope="session")
def trained_ranker(tmp_path_factory) -> Path:
    """A ranker fitted here by qa.train.ranker (the hand-written SQuAD file's articles all held out,
    indexed by the product, 4 candidates): its ranker.json."""
    from qa.train.ranker import main
    from tests.squad_fixture import write_tiny_squad

    tmp = tmp_path_factory.mktemp("ranker")
    main(
        [
            "--train-file",
            str(write_tiny_squad(tmp / "tiny.json")),
            "--out",
            str(tmp / "model"),
            "--work",
            str(tmp / "work"),
            "--holdout-every",
            "1",
            "--candidates",
            "4",
            "--no-progress",
        ]
    )
    return tmp / "model" / "ranker.json"


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium through Playwright (no browser download)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def run_qa(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """The installed CLI in a subprocess, as a person would run it."""
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "qa.cli", *args], capture_output=True, text=True, env=full_env, cwd=cwd or ROOT, timeout=timeout
    )
