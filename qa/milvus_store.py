"""The Milvus store: the same versions as the local store, kept on a Milvus server (`milvus://HOST:PORT[/NAME]`).

This module is the only one that knows the collection layout (NAME defaults to `qa`):

    NAME_chunks   one row per chunk: id (stable across versions), doc_key, doc_id, start, end,
                  born, dead, text, lex (the chunk's BM25 tokens) -> sparse (Milvus' BM25
                  function), vector (HNSW, inner product)
    NAME_docs     each document's text in pieces, and its info (hash, size, time, chunk ids) on
                  piece 0: key "<born>:<doc_key>:<part>", doc_key, doc_id, part, born, dead, info, text
    NAME_meta     key -> value: "current" (the live version number) and "manifest:<v>:<i>", the
                  pieces of each kept version's manifest
    NAME_lock     exists while a build runs (create is atomic on the server); its one row names
                  the owner and when its lease ends

Version V sees the rows with `born <= V < dead`. A build of V+1 inserts the rows of added and
changed documents with born = V+1 and sets dead = V+1 on the rows of changed and removed ones
(an upsert of those rows only); unchanged documents' rows are not touched and nothing is
re-embedded. The build then writes the manifest of V+1 and switches "current" (one row, so
readers see the old version or the new one, never half), and finally deletes the rows no kept
version sees. A build killed before the switch leaves V answering; the next build first undoes
what it left (rows born after V, dead marks after V).

The query embedder (ONNX) cannot live in the server: each machine keeps it in its model cache
(`qa.embedder.model_cache_dir`), content-addressed by the model fingerprint the manifest records,
and exports it there on first need.

Lexical search is Milvus' BM25 function over the chunk's tokens as `qa.chunking.bm25_tokenize`
makes them (stemmed, stop-worded, joined by spaces), with bm25s' k1 and b, so its ranking is the
local store's; the retriever fuses the dense and BM25 lists itself, as for the local store
(Milvus' hybrid_search has no weighted reciprocal-rank fusion). Its statistics cover every row in
the collection, including those only older kept versions see, so scores can differ slightly from
the local store's until the old rows are gone.

Needs the `scale` extra (pymilvus); it is imported only when a `milvus://` store is opened.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Collection
from contextlib import contextmanager
from typing import cast
from urllib.parse import urlsplit

import numpy as np

from qa.chunking import bm25_tokenize
from qa.embedder import EmbedderSpec, QueryEmbedder
from qa.schema import Chunk
from qa.store import DocumentChanges, IndexBusy, IndexProblem, ManifestFacts, StoreVersion

FORMAT_VERSION = 1
ALIVE = 2**62  # `dead` of a row no version has removed yet
KEEP_VERSIONS = 3  # the live version and the two before it stay answerable (qa.pipeline keeps 3 open)
CONNECT_TIMEOUT_S = 10.0  # a refused connection fails at once; this bounds a server that does not answer
# no keepalive pings: servers with gRPC's default policy (Milvus Lite) allow one ping in 5 minutes and
# answer pymilvus' default (every 10 s) with GOAWAY "too_many_pings", which drops the connection of an
# idle `qa serve` or of a slow call. Every call has its own deadline (TIMEOUT_S), so no ping is needed.
GRPC_OPTIONS = {"grpc.keepalive_time_ms": 2**31 - 1, "grpc.keepalive_permit_without_calls": False}
TIMEOUT_S = 60.0
LOCK_TTL_S = 30.0  # a builder that stops renewing its lease for this long is taken to be dead
TEXT_PIECE = 16_000  # characters of document text per row (VARCHAR holds 65,535 bytes)
META_PIECE = 60_000  # characters of manifest JSON (ASCII) per row
BATCH = 500
HNSW = {"M": 32, "efConstruction": 80}  # as the local store's HNSW (bench/scale.py)
BM25 = {"bm25_k1": 1.5, "bm25_b": 0.75}  # bm25s' defaults, so the ranking matches the local store's
MAX_DOC_ID = 4096


def milvus_client(address: str, timeout: float = CONNECT_TIMEOUT_S):
    """A pymilvus client for HOST:PORT with our channel options. pymilvus shares one channel per
    address in a process, made with the options of the first client, so every client of ours
    (tests and benchmarks included) is made here."""
    from pymilvus import MilvusClient

    return MilvusClient(uri=f"http://{address}", timeout=timeout, grpc_options=GRPC_OPTIONS)


def doc_key(doc_id: str) -> int:
    """A document's integer key (63 bits of its id's SHA-256): filters compare integers, never quoted paths."""
    return int.from_bytes(hashlib.sha256(doc_id.encode("utf-8")).digest()[:8], "big") >> 1


def _visible(v: int) -> str:
    return f"born <= {v} and dead > {v}"


class MilvusStore:
    """An index on a Milvus server. `open()` gives the live version; `writer()` builds the next one."""

    def __init__(self, url: str, dim: int = 384, embedder_choice: str = "auto"):
        parts = urlsplit(url)
        name = parts.path.strip("/") or "qa"
        if parts.scheme != "milvus" or not parts.hostname or not name.replace("_", "").isalnum() or "/" in name:
            raise IndexProblem(f"bad store URL {url!r}: expected milvus://HOST:PORT or milvus://HOST:PORT/NAME (NAME: letters, digits, _)")
        try:
            port = parts.port or 19530
        except ValueError:
            raise IndexProblem(f"bad port in store URL {url!r}") from None
        self.location = url
        self.address = f"{parts.hostname}:{port}"
        self.name = name
        self.dim = dim
        self.embedder_choice = embedder_choice  # Settings.embedder: which weights a reader may export for
        self.chunks_c, self.docs_c, self.meta_c, self.lock_c = (f"{name}_{s}" for s in ("chunks", "docs", "meta", "lock"))
        self.fix = f"run `qa index --full --store {url}` to rebuild it"
        self._client = None
        self._embedder: QueryEmbedder | None = None

    # --- connection and collections ---

    @property
    def client(self):
        """The pymilvus client, connected on first use; IndexProblem if pymilvus or the server is missing."""
        if self._client is None:
            try:
                import pymilvus  # noqa: F401
            except ImportError:
                raise IndexProblem("a milvus:// store needs the scale extra: pip install 'qa-docs[scale]'") from None
            logging.getLogger("pymilvus").setLevel(logging.CRITICAL)  # its RPC errors become our one-line messages
            try:
                self._client = milvus_client(self.address)
            except Exception as e:
                raise IndexProblem(f"cannot reach the Milvus server at {self.address} ({_reason(e)}); is it running?") from None
        return self._client

    def _call(self, what: str, fn, *args, **kwargs):
        """One server call; a failure becomes an IndexProblem that says which call and why."""
        try:
            return fn(*args, timeout=TIMEOUT_S, **kwargs)
        except IndexProblem:
            raise
        except Exception as e:
            raise IndexProblem(f"Milvus at {self.address}: {what} failed ({_reason(e)})") from None

    def _schemas(self) -> dict:
        from pymilvus import DataType, Function, FunctionType, MilvusClient

        def schema(*fields, functions=()):
            s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
            for name, dtype, kw in fields:
                s.add_field(name, dtype, **kw)
            for f in functions:
                s.add_function(f)
            return s

        vc = DataType.VARCHAR
        tiny = ("_v", DataType.FLOAT_VECTOR, {"dim": 2})  # Milvus wants a vector field in every collection
        chunks = schema(
            ("id", DataType.INT64, {"is_primary": True}),
            ("doc_key", DataType.INT64, {}),
            ("doc_id", vc, {"max_length": MAX_DOC_ID}),
            ("start", DataType.INT64, {}),
            ("end", DataType.INT64, {}),
            ("born", DataType.INT64, {}),
            ("dead", DataType.INT64, {}),
            ("text", vc, {"max_length": 65535}),
            ("lex", vc, {"max_length": 65535, "enable_analyzer": True, "analyzer_params": {"tokenizer": "standard"}}),
            ("sparse", DataType.SPARSE_FLOAT_VECTOR, {}),
            ("vector", DataType.FLOAT_VECTOR, {"dim": self.dim}),
            functions=[Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["lex"], output_field_names=["sparse"])],
        )
        docs = schema(
            ("key", vc, {"is_primary": True, "max_length": 64}),
            ("doc_key", DataType.INT64, {}),
            ("doc_id", vc, {"max_length": MAX_DOC_ID}),
            ("part", DataType.INT64, {}),
            ("born", DataType.INT64, {}),
            ("dead", DataType.INT64, {}),
            ("info", vc, {"max_length": 65535}),
            ("text", vc, {"max_length": 65535}),
            tiny,
        )
        meta = schema(("key", vc, {"is_primary": True, "max_length": 128}), ("value", vc, {"max_length": 65535}), tiny)
        lock = schema(
            ("key", vc, {"is_primary": True, "max_length": 16}), ("owner", vc, {"max_length": 1024}), ("expires", DataType.DOUBLE, {}), tiny
        )
        return {self.chunks_c: chunks, self.docs_c: docs, self.meta_c: meta, self.lock_c: lock}

    def _index_params(self, collection: str):
        p = self.client.prepare_index_params()
        if collection == self.chunks_c:
            p.add_index("vector", index_type="HNSW", metric_type="IP", params=HNSW)
            p.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params=BM25)
        else:
            p.add_index("_v", index_type="FLAT", metric_type="L2")
        return p

    def _check_schema(self, collection: str, want) -> None:
        """A collection of that name made by something else (or another qa) must never be read or written."""
        have = self._call(f"describing {collection}", self.client.describe_collection, collection)
        got = {f["name"]: (int(f["type"]), int((f.get("params") or {}).get("dim", 0))) for f in have.get("fields", [])}
        expect = {f.name: (int(f.dtype), int(f.params.get("dim", 0))) for f in want.fields}
        if got != expect:
            diff = sorted(set(got.items()) ^ set(expect.items()))
            names = ", ".join(dict.fromkeys(name for name, _ in diff))
            raise IndexProblem(
                f"collection {collection} on {self.address} has another schema (fields that differ: {names}); it was not made by "
                f"this version of qa. Use another name (--store milvus://{self.address}/OTHER_NAME) or drop that collection"
            )

    def _ensure_collections(self, create: bool) -> bool:
        """Check (and with `create`, make) the collections; False when there is no index yet."""
        existing = set(self._call("listing collections", self.client.list_collections))
        for name, schema in self._schemas().items():
            if name == self.lock_c:
                continue
            if name in existing:
                self._check_schema(name, schema)
                state = self._call(f"checking {name}", self.client.get_load_state, name)
                if "NotLoad" in str(state.get("state")):
                    self._call(f"loading {name}", self.client.load_collection, name)
            elif create:
                self._call(
                    f"creating {name}",
                    self.client.create_collection,
                    name,
                    schema=schema,
                    index_params=self._index_params(name),
                    consistency_level="Strong",
                )
            else:
                return False
        return True

    def _meta(self, key: str) -> str | None:
        rows = self._call(f"reading {key}", self.client.query, self.meta_c, filter=f'key == "{key}"', output_fields=["value"])
        return rows[0]["value"] if rows else None

    def _set_meta(self, key: str, value: str) -> None:
        self._call(f"writing {key}", self.client.upsert, self.meta_c, [{"key": key, "value": value, "_v": [0.0, 0.0]}])

    def _current(self) -> int | None:
        value = self._meta("current")
        return int(value) if value else None

    # --- the Store protocol ---

    def exists(self) -> bool:
        return self._ensure_collections(create=False) and self._current() is not None

    def open(self) -> MilvusVersion:
        if not self._ensure_collections(create=False) or (v := self._current()) is None:
            raise IndexProblem(f"no index at {self.location}: run `qa index --store {self.location}` first")
        return MilvusVersion(self, v, self._manifest(v))

    def writer(self, base: StoreVersion | None, spec: EmbedderSpec) -> MilvusWriter:
        self._ensure_collections(create=True)
        return MilvusWriter(self, cast("MilvusVersion | None", base), spec)  # a version this store opened

    @contextmanager
    def building(self, wait_s: float):
        """One builder at a time per store: the lock collection, created atomically by the server and
        kept alive by a lease the builder renews; a builder that died (same host, process gone; or
        lease over) is replaced."""
        self._ensure_collections(create=True)  # a down server or a foreign schema fails now, before any embedding
        me = {"host": socket.gethostname(), "pid": os.getpid(), "token": uuid.uuid4().hex}
        deadline = time.monotonic() + wait_s
        empty_since: float | None = None
        while True:
            if self._try_create_lock():
                break
            holder = self._lock_holder()
            if holder is None:  # created, its row not written yet (or its creator died in between)
                empty_since = empty_since or time.monotonic()
                stale = time.monotonic() - empty_since > LOCK_TTL_S
            else:
                empty_since = None
                stale = _lock_is_stale(holder)
            if stale:
                self._call("dropping a dead builder's lock", self.client.drop_collection, self.lock_c)
                continue
            if time.monotonic() >= deadline:
                who = f" (process {holder['pid']} on {holder['host']})" if holder else ""
                raise IndexBusy(f"another `qa index`{who} is building {self.location}; try again when it finishes")
            time.sleep(0.2)
        stop = threading.Event()

        def renew():
            while True:
                self._write_lock(me)
                if stop.wait(LOCK_TTL_S / 6):
                    return

        renew_thread = threading.Thread(target=renew, name="milvus-lock-lease", daemon=True)
        self._write_lock(me)
        renew_thread.start()
        try:
            yield
        finally:
            stop.set()
            renew_thread.join()
            holder = self._lock_holder()
            if holder and holder.get("token") == me["token"]:
                self._call("releasing the build lock", self.client.drop_collection, self.lock_c)

    def _try_create_lock(self) -> bool:
        try:
            self.client.create_collection(
                self.lock_c,
                schema=self._schemas()[self.lock_c],
                index_params=self._index_params(self.lock_c),
                consistency_level="Strong",
                timeout=TIMEOUT_S,
            )
            return True
        except Exception as e:
            if "exist" in str(e).lower():
                return False
            raise IndexProblem(f"Milvus at {self.address}: taking the build lock failed ({_reason(e)})") from None

    def _lock_holder(self) -> dict | None:
        try:
            rows = self.client.query(self.lock_c, filter='key == "owner"', output_fields=["owner", "expires"], timeout=TIMEOUT_S)
        except Exception:  # dropped meanwhile, or not loaded yet
            return None
        return {**json.loads(rows[0]["owner"]), "expires": rows[0]["expires"]} if rows else None

    def _write_lock(self, me: dict) -> None:
        row = {"key": "owner", "owner": json.dumps(me), "expires": time.time() + LOCK_TTL_S, "_v": [0.0, 0.0]}
        self._call("renewing the build lock", self.client.upsert, self.lock_c, [row])

    # --- manifests ---

    def _manifest(self, v: int) -> dict:
        rows = self._call(
            "reading a manifest", self.client.query, self.meta_c, filter=f'key like "manifest:{v}:%"', output_fields=["key", "value"]
        )
        pieces = sorted(rows, key=lambda r: int(r["key"].rsplit(":", 1)[1]))
        try:
            manifest = json.loads("".join(r["value"] for r in pieces))
        except ValueError:
            raise IndexProblem(f"the manifest of version {v} at {self.location} is missing or corrupt; {self.fix}") from None
        fmt = manifest.get("format_version") if isinstance(manifest, dict) else None
        if fmt != FORMAT_VERSION:
            raise IndexProblem(f"the index at {self.location} has format {fmt}, this qa reads {FORMAT_VERSION}; {self.fix}")
        return manifest

    def _write_manifest(self, v: int, manifest: dict) -> None:
        text = json.dumps(manifest, ensure_ascii=True)
        rows = [
            {"key": f"manifest:{v}:{i}", "value": text[o : o + META_PIECE], "_v": [0.0, 0.0]}
            for i, o in enumerate(range(0, max(1, len(text)), META_PIECE))
        ]
        self._call("writing a manifest", self.client.upsert, self.meta_c, rows)

    # --- rows ---

    def query_all(self, collection: str, filter: str, fields: list[str]) -> list[dict]:
        """Every row matching `filter`, read in batches (a plain query stops at 16,384 rows)."""
        try:
            it = self.client.query_iterator(collection, batch_size=1000, filter=filter, output_fields=fields, timeout=TIMEOUT_S)
            out: list[dict] = []
            try:
                while batch := it.next():
                    out.extend(batch)
            finally:
                it.close()
            return out
        except Exception as e:
            raise IndexProblem(f"Milvus at {self.address}: reading {collection} failed ({_reason(e)})") from None

    def documents_at(self, v: int) -> dict[str, dict]:
        rows = self.query_all(self.docs_c, f"part == 0 and {_visible(v)}", ["doc_id", "info"])
        return {r["doc_id"]: json.loads(r["info"]) for r in rows}

    def query_embedder(self, manifest: dict):
        """The ONNX query embedder matching `manifest`'s model, from this machine's model cache."""
        if self._embedder is None:
            from qa import embedder

            want = manifest["settings"]["embedder"].get("fingerprint")
            try:
                spec = embedder.EmbedderSpec.matching(want, self.embedder_choice)
            except ValueError as e:
                raise IndexProblem(f"the index at {self.location}: {e}") from None
            try:
                self._embedder = embedder.QueryEmbedder.from_dir(embedder.ensure_query_embedder(embedder.model_cache_dir(), spec))
            except Exception as e:
                raise IndexProblem(f"cannot load or export the query embedder into {embedder.model_cache_dir()} ({_reason(e)})") from None
        return self._embedder


class MilvusVersion(ManifestFacts):
    """A read-only view of one version: every query filters on it."""

    def __init__(self, store: MilvusStore, v: int, manifest: dict):
        self.store = store
        self.v = v
        self.name = f"v{v}"
        self.manifest = {**manifest, "documents": store.documents_at(v)}
        if len(self.manifest["documents"]) != manifest.get("n_documents"):
            raise IndexProblem(
                f"version {v} at {store.location} holds {len(self.manifest['documents'])} documents, "
                f"its manifest says {manifest.get('n_documents')}; {store.fix}"
            )

    def check(self) -> None:
        """Load the query embedder now: a problem shows before the first question."""
        self.query_embedder()

    def query_embedder(self):
        return self.store.query_embedder(self.manifest)

    def _search(self, data, field: str, k: int, params: dict, documents: Collection[str] | None = None) -> list:
        """One search of this version; with `documents`, Milvus filters by their keys inside the search."""
        s = self.store
        where, n = _visible(self.v), self.n_chunks
        if documents is not None:
            chosen = [d for d in documents if d in self.documents]
            n = sum(self.documents[d]["chunks"][1] for d in chosen)
            if n == 0:
                return []
            where = f"doc_key in {sorted(doc_key(d) for d in chosen)} and {where}"
        res = s._call(
            "searching",
            s.client.search,
            s.chunks_c,
            data=data,
            anns_field=field,
            limit=min(k, n),
            filter=where,
            output_fields=["id"],
            search_params=params,
        )
        return res[0] if res else []

    def search_dense(self, vector: np.ndarray, k: int, documents: Collection[str] | None = None) -> list[tuple[int, float]]:
        if self.n_chunks == 0:
            return []
        vec = np.asarray(vector, np.float32).reshape(-1).tolist()
        hits = self._search([vec], "vector", k, {"metric_type": "IP", "params": {"ef": max(64, k)}}, documents)
        return [(int(h["id"]), float(h["distance"])) for h in hits]

    def search_lexical(self, question: str, k: int, documents: Collection[str] | None = None) -> list[tuple[int, float]]:
        tokens = bm25_tokenize([question])[0]
        if self.n_chunks == 0 or not tokens:
            return []
        hits = self._search([" ".join(tokens)], "sparse", k, {"metric_type": "BM25"}, documents)
        # Milvus returns the BM25 score; Milvus Lite its negative ("smaller is closer"): the order is the same
        return [(int(h["id"]), abs(float(h["distance"]))) for h in hits if h["distance"] != 0]

    def chunks(self, ids: list[int]) -> list[Chunk]:
        if not ids:
            return []
        s = self.store
        # a primary-key lookup (ids are never reused, so one row per id), then this version's view of it
        rows = s._call(
            "reading chunks",
            s.client.get,
            s.chunks_c,
            ids=[int(i) for i in ids],
            output_fields=["id", "doc_id", "start", "end", "text", "born", "dead"],
        )
        by_id = {
            r["id"]: Chunk(int(r["id"]), r["doc_id"], int(r["start"]), int(r["end"]), r["text"])
            for r in rows
            if r["born"] <= self.v < r["dead"]
        }
        return [by_id[i] for i in ids if i in by_id]

    def document_text(self, doc_id: str) -> str | None:
        """A primary-key lookup of the document's text rows, which its info names (born, parts)."""
        info = self.documents.get(doc_id)
        if info is None:
            return None
        s, (born, parts) = self.store, info["text_rows"]
        keys = [f"{born}:{doc_key(doc_id)}:{p}" for p in range(parts)]
        rows = s._call("reading a document", s.client.get, s.docs_c, ids=keys, output_fields=["doc_id", "part", "text"])
        rows = sorted((r for r in rows if r["doc_id"] == doc_id), key=lambda r: r["part"])
        if len(rows) != parts:
            raise IndexProblem(f"version {self.v} at {s.location} lacks the text of {doc_id}; {s.fix}")
        return "".join(r["text"] for r in rows)

    def document_chunks(self, doc_id: str) -> tuple[list[tuple[int, int]], np.ndarray]:
        """Chunk offsets and vectors of one document, checked against the manifest."""
        rows = self.chunk_rows([doc_id], ["id", "start", "end", "vector"])
        count = self.documents[doc_id]["chunks"][1]
        if len(rows) != count:
            raise IndexProblem(f"the previous index lacks the chunks of {doc_id}")
        rows.sort(key=lambda r: r["id"])
        vectors = np.asarray([r["vector"] for r in rows], np.float32).reshape(count, self.store.dim)
        return [(int(r["start"]), int(r["end"])) for r in rows], vectors

    def chunk_rows(self, doc_ids: list[str], fields: list[str]) -> list[dict]:
        """The stored chunk rows of these documents in this version."""
        s, out = self.store, []
        for i in range(0, len(doc_ids), BATCH):
            keys = [doc_key(d) for d in doc_ids[i : i + BATCH]]
            out += s.query_all(s.chunks_c, f"doc_key in {keys} and {_visible(self.v)}", fields)
        return out

    def close(self) -> None:
        """Nothing to release: the store's client is shared by its versions."""


class MilvusWriter(DocumentChanges):
    """The next version: the base version's documents, minus `remove`d ones, plus `add`ed ones.
    Rows of documents that do not change are never read or written."""

    def __init__(self, store: MilvusStore, base: MilvusVersion | None, spec: EmbedderSpec):
        super().__init__()
        self.spec = spec
        self.store = store
        self.base = base

    def add(self, doc_id: str, text: str, info: dict, spans: list[tuple[int, int]], vectors: np.ndarray) -> None:
        if len(doc_id.encode("utf-8")) > MAX_DOC_ID:
            raise ValueError(f"{doc_id[:80]}…: document paths longer than {MAX_DOC_ID} bytes do not fit the Milvus store")
        super().add(doc_id, text, info, spans, vectors)

    def commit(self, manifest: dict, progress=None) -> str:
        """Write the rows of what changed, then switch "current" to the new version, then drop what
        no kept version sees. `progress` hears each step ("writing index: switching", ...)."""
        from qa import embedder

        say = progress or (lambda message: None)
        s = self.store
        live = s._current() or 0
        if self.base is not None and self.base.v != live:
            raise IndexProblem(f"the index at {s.location} moved on while this build ran (version {live}, not {self.base.v})")
        query_embedder = embedder.ensure_query_embedder(embedder.model_cache_dir(), self.spec).name  # export on the builder once
        say("writing index: cleaning up an unfinished build")
        self._undo_unfinished(live)
        v = live + 1
        old_docs = self.base.documents if self.base else (s.documents_at(live) if live else {})
        next_id = int(s._meta("next_id") or 0)  # chunk ids are never reused, so kept versions never disagree on one
        docs = {d: dict(info) for d, info in old_docs.items() if d not in self.removed and d not in self.added} if self.base else {}
        gone_chunks: list[str] = []  # documents whose chunk rows this version no longer sees
        chunk_rows, doc_rows = [], []
        # documents whose text and info rows it replaces or drops
        gone_docs = [d for d in old_docs if d in self.removed or d in self.added or self.base is None]
        for doc_id in sorted(self.added):
            text, info, spans, vectors = self.added[doc_id]
            prev = old_docs.get(doc_id) if self.base else None
            if prev and prev.get("sha256") == info.get("sha256") and prev.get("chars") == len(text):
                first, count = prev["chunks"]  # touched, not changed: same chunks, new size and time
            else:
                first, count = next_id, len(spans)
                next_id += count
                if prev:
                    gone_chunks.append(doc_id)
                chunk_rows += _chunk_rows(doc_id, text, spans, vectors, first, v)
            parts = max(1, -(-len(text) // TEXT_PIECE))
            docs[doc_id] = {**info, "chars": len(text), "chunks": [first, count], "text_rows": [v, parts]}
            doc_rows += _doc_rows(doc_id, text, docs[doc_id], v)
        if self.base is None:
            gone_chunks = list(old_docs)
        else:
            gone_chunks += [d for d in self.removed if d in old_docs]
        say(f"writing index: {len(chunk_rows)} chunk rows, {len(gone_chunks) + len(gone_docs)} documents retired")
        self._mark_dead(s.chunks_c, gone_chunks, live, v, ["id", "doc_key", "doc_id", "start", "end", "born", "text", "lex", "vector"])
        self._mark_dead(s.docs_c, gone_docs, live, v, ["key", "doc_key", "doc_id", "part", "born", "info", "text"])
        for collection, rows in ((s.chunks_c, chunk_rows), (s.docs_c, doc_rows)):
            for i in range(0, len(rows), BATCH):
                s._call(f"writing {collection}", s.client.insert, collection, rows[i : i + BATCH])
        for collection in (s.chunks_c, s.docs_c):  # seal what was written, so it is indexed (unsealed rows are searched by brute force)
            s._call(f"flushing {collection}", s.client.flush, collection)
        n_chunks = sum(d["chunks"][1] for d in docs.values())
        s._write_manifest(
            v,
            {
                **manifest,
                "format_version": FORMAT_VERSION,
                "n_chunks": n_chunks,
                "n_documents": len(docs),
                "query_embedder": query_embedder,
                "dense_index": "HNSW",
            },
        )
        s._set_meta("next_id", str(next_id))
        say("writing index: switching")
        s._set_meta("current", str(v))  # the switch: one row
        say("writing index: dropping old rows")
        self._drop_old(v)
        return f"v{v}"

    def _mark_dead(self, collection: str, doc_ids: list[str], live: int, v: int, fields: list[str]) -> None:
        """Set dead = v on these documents' rows that the live version sees (an upsert of those rows only)."""
        s = self.store
        for i in range(0, len(doc_ids), BATCH):
            keys = [doc_key(d) for d in doc_ids[i : i + BATCH]]
            rows = s.query_all(collection, f"doc_key in {keys} and {_visible(live)}", fields)
            self._upsert_dead(collection, rows, v)

    def _upsert_dead(self, collection: str, rows: list[dict], dead: int) -> None:
        s = self.store
        for r in rows:
            r["dead"] = dead
            if collection == s.docs_c:
                r["_v"] = [0.0, 0.0]
        for i in range(0, len(rows), BATCH):
            s._call(f"updating {collection}", s.client.upsert, collection, rows[i : i + BATCH])

    def _undo_unfinished(self, live: int) -> None:
        """What a build killed before its switch left behind: rows born after the live version, and
        dead marks set after it."""
        s = self.store
        fields = {
            s.chunks_c: ["id", "doc_key", "doc_id", "start", "end", "born", "text", "lex", "vector"],
            s.docs_c: ["key", "doc_key", "doc_id", "part", "born", "info", "text"],
        }
        for collection, cols in fields.items():
            s._call(f"cleaning {collection}", s.client.delete, collection, filter=f"born > {live}")
            rows = s.query_all(collection, f"dead > {live} and dead < {ALIVE}", cols)
            self._upsert_dead(collection, rows, ALIVE)
        s._call("cleaning manifests", s.client.delete, s.meta_c, filter=f'key like "manifest:{live + 1}:%"')

    def _drop_old(self, v: int) -> None:
        """Rows and manifests that none of the kept versions (v and the KEEP_VERSIONS - 1 before it) sees."""
        s = self.store
        oldest = v - KEEP_VERSIONS + 1
        for collection in (s.chunks_c, s.docs_c):
            s._call(f"dropping old rows of {collection}", s.client.delete, collection, filter=f"dead <= {oldest}")
        for old in range(max(1, oldest - 3), oldest):  # earlier ones were dropped by earlier builds
            s._call("dropping old manifests", s.client.delete, s.meta_c, filter=f'key like "manifest:{old}:%"')


def _chunk_rows(doc_id: str, text: str, spans: list[tuple[int, int]], vectors: np.ndarray, first: int, v: int) -> list[dict]:
    key = doc_key(doc_id)
    pieces = [text[a:b] for a, b in spans]
    lex = [" ".join(t) for t in bm25_tokenize(pieces)] if pieces else []
    vecs = np.asarray(vectors, np.float32).reshape(len(spans), -1)
    return [
        {
            "id": first + i,
            "doc_key": key,
            "doc_id": doc_id,
            "start": a,
            "end": b,
            "born": v,
            "dead": ALIVE,
            "text": pieces[i],
            "lex": lex[i],
            "vector": vecs[i].tolist(),
        }
        for i, (a, b) in enumerate(spans)
    ]


def _doc_rows(doc_id: str, text: str, info: dict, v: int) -> list[dict]:
    key = doc_key(doc_id)
    info_json = json.dumps(info, ensure_ascii=True)
    if len(info_json) > 65535:
        raise ValueError(f"{doc_id}: its page list is too long for the Milvus store")
    parts = [text[o : o + TEXT_PIECE] for o in range(0, len(text), TEXT_PIECE)] or [""]
    return [
        {
            "key": f"{v}:{key}:{p}",
            "doc_key": key,
            "doc_id": doc_id,
            "part": p,
            "born": v,
            "dead": ALIVE,
            "info": info_json if p == 0 else "",
            "text": piece,
            "_v": [0.0, 0.0],
        }
        for p, piece in enumerate(parts)
    ]


def _lock_is_stale(holder: dict) -> bool:
    if holder.get("expires", 0) < time.time():
        return True
    if holder.get("host") == socket.gethostname():
        try:
            os.kill(int(holder["pid"]), 0)
        except ProcessLookupError:
            return True
        except (OSError, ValueError, KeyError):
            return False
    return False


def _reason(e: Exception) -> str:
    """The server's message without pymilvus' wrapping: one line."""
    msg = getattr(e, "message", None) or str(e)
    return " ".join(str(msg).split())[:300] or type(e).__name__
