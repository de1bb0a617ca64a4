"""Many people at once: 200 questions from 20 gradio_client clients while the index is rebuilt.

Nothing may fail; throughput and latency are printed (the tracked figures come from bench/),
never asserted, since they depend on the machine.
"""

from __future__ import annotations

import os
import re
import statistics
import threading
import time

import pytest

from tests.conftest import copy_seeds_and_index
from tests.integration.test_ui import NEW_DOC, ServerProcess

CLIENTS, QUESTIONS = 20, 200
ASKED = [
    "What did Sherman say?",
    "Who is the NATO Secretary General?",
    "When did the meeting begin?",
    "Who founded the Aurora research station?",
    "Who built the lighthouse at Port Elwyn?",
    "What is the boiling point of mercury?",
    "How do supplies reach the station?",
    "Who launched the Brackwater ferry?",
]


@pytest.mark.slow
@pytest.mark.timeout(1200)  # about 2 minutes on an idle 2-core machine; more when it is shared
def test_concurrent_questions_during_a_rebuild(seeds_dir, index_dir, tmp_path):
    from gradio_client import Client

    seeds, index = copy_seeds_and_index(seeds_dir, index_dir, tmp_path)
    server = ServerProcess(seeds, index, tmp_path / "server.log")
    try:
        first = Client(server.url, verbose=False).predict(ASKED[0], 5, api_name="/ask")
        launch_to_first = time.perf_counter() - server.started
        assert first["question"] == ASKED[0]

        latencies: list[float] = []
        errors: list[str] = []
        results: list[dict] = []
        done = threading.Semaphore(0)
        lock = threading.Lock()
        rebuild: dict = {}

        def client_loop(worker: int) -> None:
            try:
                client = Client(server.url, verbose=False)
            except Exception as e:  # a client that cannot even connect is an error too
                with lock:
                    errors.append(f"client {worker}: {type(e).__name__}: {e}")
                return
            for i in range(worker, QUESTIONS, CLIENTS):
                t0 = time.perf_counter()
                try:
                    out = client.predict(ASKED[i % len(ASKED)], 5, api_name="/ask")
                except Exception as e:
                    with lock:
                        errors.append(f"question {i}: {type(e).__name__}: {e}")
                    continue
                finally:
                    done.release()
                with lock:
                    latencies.append(time.perf_counter() - t0)
                    results.append(out)

        def rebuild_midway() -> None:
            for _ in range(QUESTIONS // 2):  # wait until half the questions are answered
                if not done.acquire(timeout=600):
                    break
            (seeds / "notes" / "ferry.txt").write_text(NEW_DOC, encoding="utf-8")
            t0 = time.perf_counter()
            try:
                rebuild["summary"] = Client(server.url, verbose=False).predict(api_name="/rebuild")
            except Exception as e:
                errors.append(f"rebuild: {type(e).__name__}: {e}")
            rebuild["seconds"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        threads = [threading.Thread(target=client_loop, args=(w,), daemon=True) for w in range(CLIENTS)]
        threads.append(threading.Thread(target=rebuild_midway, daemon=True))
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=900)
        wall = time.perf_counter() - t0
    finally:
        server.stop()
        log = server.log.read_text()

    assert errors == []
    assert len(results) == QUESTIONS
    assert all(set(r) >= {"question", "no_answer", "answers"} and r["question"] in ASKED for r in results)
    assert "+1 added" in rebuild.get("summary", ""), rebuild
    lat = sorted(latencies)
    report = {
        "questions": QUESTIONS,
        "clients": CLIENTS,
        "errors": len(errors),
        "wall_s": round(wall, 2),
        "throughput_qps": round(QUESTIONS / wall, 2),
        "p50_s": round(statistics.median(lat), 3),
        "p95_s": round(lat[int(0.95 * (len(lat) - 1))], 3),
        "max_s": round(lat[-1], 3),
        "rebuild_s": round(rebuild["seconds"], 2),
        "launch_to_ready_s": round(server.launch_s, 2),
        "launch_to_first_answer_s": round(launch_to_first, 2),
        "server_concurrency": int(re.search(r"concurrency (\d+)", log).group(1)),
        "cpu_count": os.cpu_count(),
        "reader": os.environ.get("QA_READER_DIR", "qa/models/reader"),
    }
    print("\nserve load (measured figures: bench/):", report)
