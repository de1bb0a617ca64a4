"""Helpers every benchmark shares: where things live, what machine ran it, how results are written.

Each results file says which command produced it, on which machine, when and at which git
commit, so that every figure in docs/benchmarks.md can be traced back and re-run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
WORK = BENCH / "work"  # git-ignored: indexes, cached vectors, corpora
DEV_INDEX = WORK / "squad-dev-index"  # the 2,067-paragraph index that latency, open_qa and baseline share
DEFAULT_SQUAD = ROOT.parent / "shared" / "data" / "squad"
SEED_QUESTIONS = [
    "What did Sherman say?",
    "Who is the NATO Secretary General?",
    "When did the meeting begin?",
    "Where is NATO headquarters?",
    "Who visited NATO headquarters from Moscow?",
    "How long had the NATO-Russia Council not met?",
    "What does NATO call Moscow's wish list?",
    "How many soldiers are deployed on the borders with Ukraine?",
    "How many NATO members are there?",
    "What are Moscow's demands for security guarantees?",
]

if str(ROOT) not in sys.path:  # `python bench/x.py` from anywhere imports the repo's qa package
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def base_parser(description: str, name: str) -> argparse.ArgumentParser:
    """Options every script takes: data location, sample size, where the results go."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument(
        "--squad",
        type=Path,
        default=Path(os.environ.get("QA_SQUAD_DIR", DEFAULT_SQUAD)),
        help="folder holding dev-v1.1.json.gz / train-v1.1.json.gz (read in place, never copied)",
    )
    p.add_argument("--limit", type=int, default=0, help="questions (or documents) to use; 0 = all")
    p.add_argument("--out", type=Path, default=RESULTS / f"{name}.json", help="results file")
    p.add_argument("--work", type=Path, default=WORK / name, help="scratch folder (git-ignored)")
    p.add_argument("--no-progress", action="store_true", help="no tqdm bars")
    return p


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    """What the numbers depend on: CPU, cores, memory, load (a busy machine reads slower), library versions."""
    info = {"cpu_model": cpu_model(), "cores": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}
    try:
        import psutil

        info["memory_gb"] = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        pass
    info["loadavg_at_start"] = [round(x, 2) for x in os.getloadavg()]
    versions = {}
    from importlib import metadata

    for dist in ("onnxruntime", "torch", "transformers", "sentence-transformers", "faiss-cpu", "bm25s", "numpy"):
        try:
            versions[dist] = metadata.version(dist)  # metadata only: importing torch here would skew memory figures
        except metadata.PackageNotFoundError:
            continue
    info["versions"] = versions
    info["threads_env"] = {k: os.environ.get(k, "") for k in ("QA_THREADS", "OMP_NUM_THREADS")}  # "" = library default (all cores)
    return info


def reader_info() -> dict:
    """Which ONNX reader the product uses in this run (QA_READER_DIR or the shipped one), and how it was made."""
    from qa.reader import default_model_dir

    d = default_model_dir()
    try:
        cfg = json.loads((d / "reader.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cfg = {}
    return {
        "dir": _rel(d),
        "variant": cfg.get("variant"),
        "training_step": cfg.get("training_step"),
        "note": cfg.get("note"),
        "no_answer_threshold": cfg.get("no_answer_threshold"),
    }


def git_commit() -> dict:
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=20).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}


class Run:
    """One benchmark run: collects provenance at start, writes the results file at the end."""

    def __init__(self, name: str, args: argparse.Namespace):
        self.name = name
        self.args = args
        self.started = dt.datetime.now(dt.timezone.utc)
        self.t0 = time.perf_counter()
        self.meta = {
            "benchmark": name,
            "command": "python " + " ".join(shlex.quote(a) for a in [*_program(), *sys.argv[1:]]),
            "date_utc": self.started.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "git": git_commit(),
            "machine": machine(),
            "reader": reader_info(),
            "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        }

    def write(self, results: dict) -> Path:
        out = Path(self.args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            **self.meta,
            "wall_s": round(time.perf_counter() - self.t0, 1),
            "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
            "results": results,
        }
        tmp = out.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(payload, indent=1, ensure_ascii=False, default=_jsonable) + "\n", encoding="utf-8")
        os.replace(tmp, out)
        print(f"wrote {_rel(out)}", file=sys.stderr)
        return out


def _program() -> list[str]:
    """How this process was started, to record a command that reruns it: `-m bench.tune.x` or `bench/x.py`."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None and spec.name not in ("__main__", None):
        return ["-m", spec.name]
    return [_rel(sys.argv[0])]


def _rel(p) -> str:
    try:
        return str(Path(p).resolve().relative_to(ROOT))
    except ValueError:
        return str(p)


def _jsonable(o):
    if hasattr(o, "item"):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(type(o).__name__)


def squad_file(squad_dir: Path, name: str) -> Path:
    """The file, or a clear message: the data lives outside the repo and is never copied in."""
    for cand in (squad_dir / f"{name}.json.gz", squad_dir / f"{name}.json"):
        if cand.exists():
            return cand
    sys.exit(f"SQuAD file {name} not found in {squad_dir} (pass --squad DIR)")


def add_holdout_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--holdout-every", type=int, default=50, help="every n-th train article is held out (as qa.train.data.mining does)")


def holdout_train(args) -> Path:
    """The held-out SQuAD train articles (qa.train.data.mining's choice) as a SQuAD file of their own in the script's
    scratch folder: what the settings above the trained models are chosen on."""
    from qa.train.data.mining import write_holdout_squad

    return write_holdout_squad(squad_file(args.squad, "train-v1.1"), args.work / "holdout-train.json", args.holdout_every)


def dev_corpus(dev: Path, limit_docs: int = 0) -> tuple[Path, dict[str, str]]:
    """SQuAD dev, one paragraph per document, written where `qa eval` writes it (outside the repo's git).

    Returns the seeds folder and paragraph id -> document id. With limit_docs, a smaller
    corpus made of the first paragraphs goes to its own folder."""
    from qa.evaluate import corpus_dir, write_corpus
    from qa.squad import load_squad

    data = load_squad(dev)
    if limit_docs and limit_docs < len(data.paragraphs):
        keep = list(data.paragraphs)[:limit_docs]
        data.paragraphs = {k: data.paragraphs[k] for k in keep}
        seeds = corpus_dir(dev).with_name(corpus_dir(dev).name + f"-first{limit_docs}") / "seeds"
    else:
        seeds = corpus_dir(dev) / "seeds"
    return seeds, write_corpus(data, seeds)


def cached_json(path: Path, key: dict, reuse: bool, make):
    """`make()`'s JSON-able result, saved at `path` with `key`; read back instead when `reuse` is set
    and the saved key matches (same file, sample, reader...), so that new rules are swept without reading again."""
    if reuse and path.exists():
        saved = json.loads(path.read_text(encoding="utf-8"))
        if saved.get("key") == key:
            return saved["value"]
    value = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"key": key, "value": value}), encoding="utf-8")
    return value


def pct(values: list[float], q: float) -> float:
    """Percentile by linear interpolation (q in 0..100)."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def summary_ms(seconds: list[float]) -> dict:
    """p50 / p95 / mean in milliseconds."""
    ms = [1000 * s for s in seconds]
    return {
        "p50_ms": round(pct(ms, 50), 2),
        "p95_ms": round(pct(ms, 95), 2),
        "mean_ms": round(statistics.fmean(ms), 2) if ms else float("nan"),
        "n": len(ms),
    }


def _vm_hwm_mb(pid: int | str = "self") -> float | None:
    """VmHWM: the peak RSS of this address space only. ru_maxrss is not used because Linux carries the
    parent's high-water mark into a child across fork/exec, so a child of a big process looks big."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return None


def peak_rss_mb() -> float:
    """Peak resident memory of this process."""
    hwm = _vm_hwm_mb()
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def git_tree(ref: str, dest: Path, *paths: str) -> Path:
    """`paths` of this repository as committed at git `ref`, unpacked into `dest` (a baseline to run side by side)."""
    import io
    import tarfile

    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, *paths], check=True, capture_output=True).stdout
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as t:
        t.extractall(dest, filter="data")
    return dest


def run_child(cmd: list[str], env: dict | None = None, timeout: float = 900, cwd: Path | None = None) -> tuple[float, float, int, str, str]:
    """Run a process; (wall seconds, its peak RSS in MB, exit code, stdout, stderr).

    The peak is the child's VmHWM, polled every 5 ms until it exits (the last reading is kept)."""
    import tempfile

    with tempfile.TemporaryFile("w+") as fo, tempfile.TemporaryFile("w+") as fe:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=fo, stderr=fe, text=True, cwd=cwd or ROOT, env={**os.environ, **(env or {})})
        peak = 0.0
        while proc.poll() is None:
            hwm = _vm_hwm_mb(proc.pid)
            if hwm is not None:
                peak = max(peak, hwm)
            if time.perf_counter() - t > timeout:
                proc.kill()
            time.sleep(0.005)
        wall = time.perf_counter() - t
        fo.seek(0)
        fe.seek(0)
        return wall, peak, proc.returncode, fo.read(), fe.read()


def progress_bar(items, desc: str, disable: bool, **kw):
    from tqdm import tqdm

    return tqdm(items, desc=desc, disable=disable, dynamic_ncols=True, **kw)
