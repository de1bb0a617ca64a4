"""Every setting in one typed object, read from the environment when it is made (never at import).

The ones that shape what an index holds (`index_settings`) are saved in each index version's
manifest: an index built with other ones is rebuilt in full rather than mixed. README.md has
the table of all of them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

EMBED_PRECISIONS = ("auto", "fp32", "bf16")


@dataclass(frozen=True)
class Settings:
    # folders
    seeds: Path = Path("seeds")  # QA_SEEDS: the documents folder (an index remembers its own)
    index: Path = Path("index")  # QA_INDEX: where the index lives
    # documents
    max_file_mb: float = 20.0  # QA_MAX_FILE_MB: larger files are skipped with a reason
    # chunking: ~800 characters is ~180 word pieces, so a chunk plus a question fits the reader's
    # 256-token window in one pass and stays under MiniLM's 256-token embedding limit
    chunk_size: int = 800
    chunk_overlap: int = 120
    # indexing
    embed_batch: int = 256  # chunks per embedding call (and per progress update)
    embed_precision: str = "auto"  # QA_EMBED_PRECISION: auto (bf16 where the CPU has it natively), fp32, bf16
    embedder: str = "auto"  # QA_EMBEDDER: auto (the shipped fine-tuned layers), bundled (plain MiniLM) or an overlay folder
    flat_limit: int = 50_000  # QA_FLAT_LIMIT: exact FAISS search up to this many chunks, HNSW above
    lock_wait_s: float = 300.0  # QA_LOCK_WAIT: how long a second `qa index` waits for the first
    # retrieval
    top_k: int = 5  # passages read per question
    retrieval_candidates: int = 50  # taken from each of the dense and BM25 lists before fusion
    # reciprocal-rank fusion of the dense and BM25 lists: w / (k + rank), BM25's weight 1; chosen for the
    # fine-tuned embedder on the train articles it never saw (bench/fusion.py --holdout-from)
    rrf_k: int = 100
    dense_weight: float = 0.6
    # ranking: the feature ranker (qa.ranker) reorders fusion's top candidates (as many as it was trained on)
    ranker: str = "auto"  # QA_RANKER: auto (the shipped ranker.json), off (fusion's order), or a ranker.json
    # reading
    reader_dir: Path | None = None  # QA_READER_DIR: a retrained reader instead of the shipped one
    span_candidates: int = 20  # best starts x best ends considered per window
    max_answer_tokens: int = 30
    max_answers: int = 10  # distinct answers above the threshold returned per question
    threads: int = 0  # QA_THREADS: ONNX Runtime threads (0: all cores)
    # serving
    ui_concurrency: int = 0  # QA_UI_CONCURRENCY: questions answered at once by `qa serve` (0: cores, 2..8)

    def __post_init__(self):
        if self.embed_precision not in EMBED_PRECISIONS:
            raise ValueError(f"QA_EMBED_PRECISION={self.embed_precision!r} is not one of {', '.join(EMBED_PRECISIONS)}")

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        """Defaults, then QA_* environment variables, then explicit overrides (None means unset)."""
        env = {
            "seeds": ("QA_SEEDS", Path), "index": ("QA_INDEX", Path), "max_file_mb": ("QA_MAX_FILE_MB", float),
            "flat_limit": ("QA_FLAT_LIMIT", int), "lock_wait_s": ("QA_LOCK_WAIT", float),
            "reader_dir": ("QA_READER_DIR", Path), "threads": ("QA_THREADS", int),
            "ui_concurrency": ("QA_UI_CONCURRENCY", int), "embed_precision": ("QA_EMBED_PRECISION", str),
            "embedder": ("QA_EMBEDDER", str), "ranker": ("QA_RANKER", str),
        }  # fmt: skip
        values = {}
        for name, (var, cast) in env.items():
            raw = os.environ.get(var)
            if raw:
                try:
                    value = cast(raw)
                    if isinstance(value, (int, float)) and not 0 <= value < float("inf"):
                        raise ValueError
                except ValueError:
                    kind = "path" if cast is Path else f"non-negative {'whole ' if cast is int else ''}number"
                    raise ValueError(f"{var}={raw!r} is not a valid {kind}") from None
                values[name] = value
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def with_(self, **changes) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    @property
    def concurrency(self) -> int:
        return self.ui_concurrency or max(2, min(8, os.cpu_count() or 2))

    def splitter(self) -> dict:
        return {"splitter": "RecursiveCharacterTextSplitter", "chunk_size": self.chunk_size, "chunk_overlap": self.chunk_overlap}
