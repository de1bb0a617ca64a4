"""Embedding spread over a Ray cluster: `qa index --ray [ADDRESS]`.

Indexing is bound by embedding (20-60 chunks/s on one machine), so the chunks are cut into
batches, longest-last like the in-process path, and handed to a pool of Ray actors, one CPU each.
Each actor loads the ONNX export of the model (`OnnxDocumentEmbedder`: the very vectors the
query side makes) once, from bytes the driver puts in Ray's object store, so workers need
qa-docs and ONNX Runtime but neither torch nor a copy of the model. The driver keeps writing to
the store: only vectors come back.

Needs the `scale` extra (ray) on the driver and on every worker node.
"""

from __future__ import annotations

import os

import numpy as np

from qa import embedder

LOCAL = "local"  # `--ray` without an address: a Ray started for this run (or the one RAY_ADDRESS names)


class _Worker:
    """One Ray actor: the ONNX document embedder, loaded once, one thread (Ray gave it one CPU)."""

    def __init__(self, files: dict[str, bytes]):
        import tempfile
        from pathlib import Path

        folder = Path(tempfile.mkdtemp(prefix="qa-embedder-"))
        for name, data in files.items():
            (folder / name).write_bytes(data)
        self.model = embedder.OnnxDocumentEmbedder(folder, threads=1)

    def embed(self, idx: list[int], texts: list[str]) -> tuple[list[int], np.ndarray]:
        return idx, self.model(texts)


class RayEmbedder:
    """`qa.indexer.Embed` on Ray: `address` is a cluster (HOST:PORT, "auto") or LOCAL."""

    def __init__(self, address: str = LOCAL, workers: int = 0, batch: int = 64, spec: embedder.EmbedderSpec | None = None):
        self.address = address
        self.spec = spec or embedder.EmbedderSpec.choose()  # the weights the index is built with (Settings.embedder)
        self.workers = workers  # 0: one per CPU of the cluster
        self.batch = batch

    def __call__(self, texts: list[str], progress) -> np.ndarray:
        try:
            import ray
            from ray.util import ActorPool
        except ImportError:
            raise RuntimeError("qa index --ray needs the scale extra: pip install 'qa-docs[scale]'") from None
        out = np.zeros((len(texts), embedder.DIM), np.float32)
        if not texts:
            return out
        model_dir = embedder.ensure_query_embedder(embedder.model_cache_dir(), self.spec)
        files = {p.name: p.read_bytes() for p in model_dir.iterdir() if p.is_file()}
        if self.address == LOCAL:  # a busy machine can take longer than Ray's 30 s to start its GCS
            os.environ.setdefault("RAY_gcs_server_port_wait_time_s", "180")
        try:
            # logging_level: Ray takes a level's name as well as its number, whatever its annotation says
            # (unused-ignore: without the scale extra, ray is untyped)
            ray.init(
                address=None if self.address == LOCAL else self.address,
                include_dashboard=False,
                log_to_driver=False,
                logging_level="ERROR",  # type: ignore[arg-type, unused-ignore]
                configure_logging=False,
            )
        except ConnectionError as e:
            raise RuntimeError(f"cannot reach the Ray cluster at {self.address} ({e})") from None
        try:
            n = self.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
            model = ray.put(files)
            actor = ray.remote(num_cpus=1)(_Worker)
            pool = ActorPool([actor.remote(model) for _ in range(n)])
            order = np.argsort([len(t) for t in texts], kind="stable").tolist()
            batches = [order[i : i + self.batch] for i in range(0, len(order), self.batch)]
            done = 0
            work = [(idx, [texts[j] for j in idx]) for idx in batches]  # the pool submits them all at once either way
            for idx, vectors in pool.map_unordered(lambda a, b: a.embed.remote(*b), work):
                out[idx] = vectors
                done += len(idx)
                progress(f"embedded {done}/{len(texts)} chunks on {n} Ray workers", 0.15 + 0.75 * done / len(texts))
        finally:
            ray.shutdown()
        return out
