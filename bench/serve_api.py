"""The HTTP API under load, with logins on: N clients (httpx, each with a user's bearer token) ask
questions for S seconds against a real `qa serve --users FILE`, and a writer rebuilds the index
halfway (after adding a document). Every request must succeed; latency percentiles are reported,
overall and for the requests that overlapped the rebuild, and the added document must be
answerable once the rebuild returns.

    python bench/serve_api.py [--clients 20] [--seconds 60]
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

NEW_DOC = "The Brackwater ferry was launched in 1911 by the shipwright Mirela Castagno, who named it after her mother.\n"
NEW_QUESTION = "Who launched the Brackwater ferry?"


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * (len(s) - 1) + 0.5))] if s else float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(seeds: Path, index: Path, users: Path, log: Path, timeout: float = 600) -> tuple[subprocess.Popen, str]:
    port = free_port()
    cmd = [sys.executable, "-m", "qa.cli", "serve", "--seeds", str(seeds), "--index", str(index), "--port", str(port)]
    cmd += ["--users", str(users), "--no-watch"]
    proc = subprocess.Popen(
        cmd, stdout=open(log, "w"), stderr=subprocess.STDOUT, cwd=common.ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"}
    )
    deadline = time.monotonic() + timeout
    while "ready at" not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            sys.exit(f"qa serve did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    return proc, f"http://127.0.0.1:{port}"


def main() -> None:
    p = common.base_parser(__doc__.splitlines()[0], "serve_api")
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--seeds", type=Path, default=common.ROOT / "seeds", help="the documents served (copied to --work)")
    args = p.parse_args()
    run = common.Run("serve_api", args)
    import httpx

    from qa.users import Users

    shutil.rmtree(args.work, ignore_errors=True)
    seeds, index = args.work / "seeds", args.work / "index"
    shutil.copytree(args.seeds, seeds)
    users = Users(args.work / "users.json")
    users.add("writer", "bench-writer-pw", "write")
    users.add("reader", "bench-reader-pw", "read")
    tokens = {"writer": users.new_token("writer"), "reader": users.new_token("reader")}
    t_start = time.perf_counter()
    proc, url = start_server(seeds, index, users.path, args.work / "server.log")
    startup_s = time.perf_counter() - t_start
    records: list[tuple[float, float, int]] = []  # (start, end, status) per request, perf_counter seconds
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.perf_counter() + args.seconds
    rebuild: dict = {}

    def client(worker: int) -> None:
        headers = {"Authorization": f"Bearer {tokens['reader']}"}
        with httpx.Client(base_url=url, timeout=300) as http:
            i = worker
            while time.perf_counter() < stop_at:
                question = common.SEED_QUESTIONS[i % len(common.SEED_QUESTIONS)]
                i += args.clients
                t0 = time.perf_counter()
                try:
                    r = http.post("/api/ask", json={"question": question, "top_k": 5}, headers=headers)
                    ok = r.status_code == 200 and r.json().get("question") == question
                    status = r.status_code
                    problem = "" if ok else f"{r.status_code}: {r.text[:200]}"
                except httpx.HTTPError as e:
                    status, problem = 0, f"{type(e).__name__}: {e}"
                t1 = time.perf_counter()
                with lock:
                    records.append((t0, t1, status))
                    if problem:
                        errors.append(problem)

    def rebuild_halfway() -> None:
        time.sleep(args.seconds / 2)
        (seeds / "ferry.txt").write_text(NEW_DOC, encoding="utf-8")
        headers = {"Authorization": f"Bearer {tokens['writer']}"}
        t0 = time.perf_counter()
        try:
            r = httpx.post(url + "/api/rebuild", headers=headers, timeout=600)
            rebuild["status"], rebuild["summary"] = r.status_code, r.json().get("summary") or r.text[:300]
            rebuild["window"] = (t0, time.perf_counter())
            answer = httpx.post(url + "/api/ask", json={"question": NEW_QUESTION}, headers=headers, timeout=300).json()
            rebuild["new_document_answered"] = any("Castagno" in a["text"] for a in answer.get("answers", []))
        except httpx.HTTPError as e:
            errors.append(f"rebuild: {type(e).__name__}: {e}")
        rebuild.setdefault("window", (t0, time.perf_counter()))

    threads = [threading.Thread(target=client, args=(w,)) for w in range(args.clients)]
    threads.append(threading.Thread(target=rebuild_halfway))
    t0 = time.perf_counter()
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        wall = time.perf_counter() - t0
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
    lat = [end - start for start, end, _ in records]
    lo, hi = rebuild.get("window", (0.0, 0.0))
    during = [end - start for start, end, _ in records if start < hi and end > lo]
    results = {
        "clients": args.clients,
        "seconds": args.seconds,
        "requests": len(records),
        "errors": len(errors),
        "error_samples": errors[:10],
        "statuses": {str(s): sum(1 for *_, st in records if st == s) for s in sorted({st for *_, st in records})},
        "throughput_rps": round(len(records) / wall, 2),
        "latency_s": {
            "p50": round(statistics.median(lat), 3),
            "p95": round(percentile(lat, 0.95), 3),
            "p99": round(percentile(lat, 0.99), 3),
            "max": round(max(lat), 3),
        },
        "during_rebuild": {"requests": len(during), "p95_s": round(percentile(during, 0.95), 3) if during else None},
        "rebuild": {
            "status": rebuild.get("status"),
            "seconds": round(hi - lo, 2),
            "summary": rebuild.get("summary"),
            "new_document_answered": rebuild.get("new_document_answered"),
        },
        "server_startup_s": round(startup_s, 1),
        "server_concurrency": _concurrency(args.work / "server.log"),
    }
    run.write(results)
    print(json.dumps({k: v for k, v in results.items() if k != "error_samples"}, indent=1))
    if errors or rebuild.get("status") != 200:
        sys.exit(f"{len(errors)} errors; rebuild status {rebuild.get('status')}: {errors[:3]}")


def _concurrency(log: Path) -> int:
    import re

    m = re.search(r"concurrency (\d+)", log.read_text())
    return int(m.group(1)) if m else 0


if __name__ == "__main__":
    main()
