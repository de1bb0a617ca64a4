"""Every setting in one typed object, read from the environment when it is made (never at import).

Each field carries its own documentation in its metadata: `doc` says what it does, and `env`
names the QA_* variable that sets it (a setting without one changes only in code: the shipped
models were trained and tuned with its default). `from_env` reads the variables from there, and
docs/configuration.md is generated from there (`scripts/configuration_doc.py`), so the code,
the variables and the documentation cannot drift apart. Code that needs a single variable
before a `Settings` exists (a command-line default, the model cache) reads it with `env_value`.

The ones that shape what an index holds (`index_settings`) are saved in each index version's
manifest: an index built with other ones is rebuilt in full rather than mixed.
"""

from __future__ import annotations

import functools
import os
import types
import typing
from dataclasses import Field, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from qa.errors import BadSetting

EMBED_PRECISIONS = ("auto", "fp32", "bf16")


def _setting(default: Any, doc: str, env: str | tuple[str, ...] | None = None) -> Any:
    """A field with its documentation; `env`: the variable that sets it (a tuple: the first one set wins)."""
    return field(default=default, metadata={"doc": doc, **({"env": env} if env else {})})


@dataclass(frozen=True)
class Settings:
    # folders
    seeds: Path = _setting(
        Path("seeds"), "The documents folder. A command on an existing index uses the folder it was built from.", "QA_SEEDS"
    )
    index: Path = _setting(
        Path("index"),
        "Where the index lives: a folder, or `milvus://HOST:PORT[/NAME]` for a Milvus server "
        "(the scale extra). `QA_STORE` wins when both are set.",
        ("QA_STORE", "QA_INDEX"),
    )
    model_cache: Path | None = _setting(
        None,
        "Where stores that live on a server keep the query embedder on this machine "
        "(unset: `$XDG_CACHE_HOME/qa/models`, `~/.cache/qa/models`).",
        "QA_MODEL_CACHE",
    )
    # documents
    max_file_mb: float = _setting(20.0, "Larger files are skipped, with the reason, without being read.", "QA_MAX_FILE_MB")
    ocr_page_seconds: float = _setting(
        30.0,
        "Seconds each scanned PDF page (no text layer) may take to read by OCR, added to the 120 s a file may take; "
        "a PDF over its total is skipped with the reason (the `ocr` extra).",
        "QA_OCR_PAGE_SECONDS",
    )
    # chunking: ~800 characters is ~180 word pieces, under MiniLM's 256-token embedding limit too
    chunk_size: int = _setting(800, "Characters per chunk: with a question, it fits the reader's 256-token window in one pass.")
    chunk_overlap: int = _setting(120, "Characters that neighbouring chunks share, so an answer on a boundary is whole in one.")
    # indexing
    embed_batch: int = _setting(256, "Chunks per embedding call (and per progress update).")
    embed_precision: str = _setting(
        "auto", "Document embedding: `auto` (bf16 where the CPU has it natively, else fp32), `fp32` or `bf16`.", "QA_EMBED_PRECISION"
    )
    embedder: str = _setting(
        "auto",
        "Which weights embed: `auto` (the shipped fine-tuned layers), `bundled` (plain MiniLM), "
        "or a folder holding an overlay written by `qa.train.embedder`.",
        "QA_EMBEDDER",
    )
    flat_limit: int = _setting(50_000, "Exact FAISS search up to this many chunks, HNSW above.", "QA_FLAT_LIMIT")
    lock_wait_s: float = _setting(300.0, "Seconds a second `qa index` waits for the first to finish (0: fail at once).", "QA_LOCK_WAIT")
    # retrieval
    top_k: int = _setting(5, "Passages read per question (`qa ask --top-k`).")
    retrieval_candidates: int = _setting(50, "Taken from each of the dense and BM25 lists before fusion.")
    # reciprocal-rank fusion of the dense and BM25 lists: w / (k + rank), BM25's weight 1; chosen for the
    # fine-tuned embedder on the train articles it never saw (python -m bench.tune.fusion --holdout)
    rrf_k: int = _setting(100, "Reciprocal-rank fusion's k: each list adds weight / (k + rank).")
    dense_weight: float = _setting(0.6, "The dense list's weight in fusion (BM25's is 1).")
    # ranking
    ranker: str = _setting(
        "auto",
        "The feature ranker that reorders fusion's top candidates: `auto` (the shipped one), "
        "`off` (fusion's order), or a `ranker.json` written by `qa.train.ranker`.",
        "QA_RANKER",
    )
    # reading
    reader_dir: Path | None = _setting(None, "A retrained reader's folder (unset: the shipped reader).", "QA_READER_DIR")
    span_candidates: int = _setting(20, "Best starts x best ends the reader considers per window.")
    max_answer_tokens: int = _setting(30, "The longest answer, in word pieces.")
    max_answers: int = _setting(10, "Distinct answers above the reader's threshold returned per question.")
    threads: int = _setting(0, "ONNX Runtime threads for the reader and the query embedder (0: all cores).", "QA_THREADS")
    # serving
    ui_concurrency: int = _setting(
        0, "Questions `qa serve` answers at once; the rest queue (0: the cores, clamped to 2-8).", "QA_UI_CONCURRENCY"
    )
    users: Path | None = _setting(
        None, "The users file `qa serve` checks logins against (`qa users add`); required beyond loopback.", "QA_USERS"
    )

    def __post_init__(self) -> None:
        if self.embed_precision not in EMBED_PRECISIONS:
            raise BadSetting(f"QA_EMBED_PRECISION={self.embed_precision!r} is not one of {', '.join(EMBED_PRECISIONS)}")

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Defaults, then QA_* environment variables, then explicit overrides (None means unset)."""
        values = {f.name: v for f in fields(cls) if (v := cls.env_value(f.name)) is not None}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @classmethod
    def variables(cls, name: str) -> tuple[str, ...]:
        """The environment variables that set one setting, the one that wins first (none: fixed)."""
        env = _field(name).metadata.get("env") or ()
        return (env,) if isinstance(env, str) else tuple(env)

    @classmethod
    def env_text(cls, name: str) -> str | None:
        """The raw text the environment gives one setting; None when its variables are unset or empty."""
        return next((os.environ[var] for var in cls.variables(name) if os.environ.get(var)), None)

    @classmethod
    def env_value(cls, name: str) -> Any:
        """The value the environment gives one setting, parsed and checked; None when it gives none."""
        raw = cls.env_text(name)
        if raw is None:
            return None
        var = next(v for v in cls.variables(name) if os.environ.get(v))
        cast = _value_type(name)
        try:
            value = cast(raw)
            if isinstance(value, (int, float)) and not 0 <= value < float("inf"):
                raise ValueError
        except ValueError:
            kind = "path" if cast is Path else f"non-negative {'whole ' if cast is int else ''}number"
            raise BadSetting(f"{var}={raw!r} is not a valid {kind}") from None
        return value

    def with_(self, **changes: Any) -> Settings:
        """A copy with the given settings changed (None leaves one as it is)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    @property
    def concurrency(self) -> int:
        return self.ui_concurrency or max(2, min(8, os.cpu_count() or 2))

    def splitter(self) -> dict:
        return {"splitter": "RecursiveCharacterTextSplitter", "chunk_size": self.chunk_size, "chunk_overlap": self.chunk_overlap}


def _field(name: str) -> Field:
    for f in fields(Settings):
        if f.name == name:
            return f
    raise KeyError(f"no setting named {name!r}")


@functools.cache
def _value_type(name: str) -> type:
    """What a variable's text becomes: the field's type, without its `| None`."""
    hint = typing.get_type_hints(Settings)[name]
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    return hint
