"""The index on disk: incremental rebuilds, stale detection, atomic swaps, locking, recovery from a broken index,
files that change while they are read."""

from __future__ import annotations

import json
import os
import shutil
import signal

import pytest

from qa import embedder
from qa.indexer import detect_changes
from qa.local_store import LocalStore
from qa.pipeline import QAPipeline
from qa.store import IndexBusy, IndexProblem
from tests.broken_index import BREAKAGES, NEEDS_FULL_REBUILD, REBUILT
from tests.conftest import build, build_until, open_version


def _chunk_texts(store) -> dict[str, list[str]]:
    out = {}
    for doc_id, info in store.documents.items():
        first, count = info["chunks"]
        out[doc_id] = [c.text for c in store.chunks(list(range(first, first + count)))]
    return out


def test_index_on_disk_has_manifest_vectors_and_exact_chunks(index_dir, seeds_dir):
    store = open_version(index_dir)
    m = store.manifest
    assert m["format_version"] == 2
    assert m["seeds"] == str(seeds_dir.resolve())  # the index remembers its folder
    assert m["settings"]["extraction"] >= 1 and len(m["settings"]["embedder"]["fingerprint"]) == 16
    assert m["settings"]["embedder"]["model"] == embedder.MODEL_NAME
    assert m["settings"]["splitter"]["chunk_size"] > 0
    assert set(m["documents"]) == {"harbour.html", "nato-russia-council.txt", "notes/aurora station.md"}
    assert "image.png" in m["skipped"]
    assert store.faiss.ntotal == store.n_chunks == sum(d["chunks"][1] for d in m["documents"].values())
    for doc_id in m["documents"]:
        text = store.document_text(doc_id)
        first, count = m["documents"][doc_id]["chunks"]
        for c in store.chunks(list(range(first, first + count))):
            assert text[c.start : c.end] == c.text
    # the stored vectors are the sentence-transformers embeddings (fp32 reference), normalised
    c0 = store.chunks([0])[0]
    ref = embedder.DocumentEmbedder(precision="fp32")([c0.text])[0]
    tolerance = 5e-3 if embedder.DocumentEmbedder().precision == "bf16" else 1e-4  # bf16 where the CPU does it natively
    assert abs(float(store.faiss.reconstruct(0) @ ref) - 1.0) < tolerance


def test_onnx_query_embedder_matches_sentence_transformers(index_dir):
    version = open_version(index_dir)
    folder = index_dir / version.manifest["query_embedder"]  # content-addressed, named by the version
    assert folder.parent == index_dir / "models" and folder.name == embedder.EmbedderSpec.choose().key()
    meta = json.loads((folder / "embedder.json").read_text())
    assert meta["min_cosine_vs_sentence_transformers"] >= 0.999 and meta["fingerprint"] == embedder.EmbedderSpec.choose().fingerprint()
    q = version.query_embedder()
    sents = ["What did Sherman say?", "Wer hat den „Leuchtturm“ gebaut – und wann?"]
    got, want = q(sents), embedder.DocumentEmbedder(precision="fp32")(sents)
    assert (got * want).sum(axis=1).min() >= 0.999


def test_incremental_rebuild_adds_changes_and_removes_only_what_changed(fresh):
    seeds, index = fresh
    before = open_version(index)
    n_before = before.n_chunks
    (seeds / "new.txt").write_text("The tram line to Saltvik opened in 1912 and closed in 1958.", encoding="utf-8")
    r = build(seeds, index)
    assert (r.changes.added, r.changes.changed, r.changes.removed) == (["new.txt"], [], [])
    assert r.chunks_embedded == 1 and r.chunks_reused == n_before and not r.full
    assert r.summary().startswith(f"+1 added, 0 changed, 0 removed, {n_before} chunks reused")

    md = seeds / "notes" / "aurora station.md"
    md.write_text(md.read_text(encoding="utf-8") + "\nThe station closed in 2019.\n", encoding="utf-8")
    (seeds / "harbour.html").unlink()
    r = build(seeds, index)
    assert (r.changes.added, r.changes.changed, r.changes.removed) == ([], ["notes/aurora station.md"], ["harbour.html"])
    store = open_version(index)
    assert set(store.documents) == {"nato-russia-council.txt", "notes/aurora station.md", "new.txt"}
    assert any("closed in 2019" in t for t in _chunk_texts(store)["notes/aurora station.md"])
    # reused vectors are still the right ones: every chunk is its own nearest neighbour
    vecs = store.faiss.reconstruct_n(0, store.n_chunks)
    fresh_vecs = embedder.DocumentEmbedder()([c.text for c in store.chunks(list(range(store.n_chunks)))])
    assert ((vecs * fresh_vecs).sum(axis=1) > 0.9999).all()

    r = build(seeds, index)
    assert not r.changes.any and r.chunks_embedded == 0


def test_touching_a_file_without_changing_it_reuses_everything(fresh):
    seeds, index = fresh
    os.utime(seeds / "nato-russia-council.txt", ns=(1, 1))
    r = build(seeds, index)
    assert not r.changes.any and r.chunks_embedded == 0


def test_changed_model_splitter_or_extraction_forces_full_rebuild(fresh, monkeypatch):
    seeds, index = fresh
    n = open_version(index).n_chunks
    monkeypatch.setattr(embedder, "model_fingerprint", lambda path=None: "a-different-model")
    r = build(seeds, index)
    assert r.full and r.chunks_embedded == n and r.chunks_reused == 0
    assert any("changed" in note for note in r.notes)
    monkeypatch.undo()
    import qa.indexer

    monkeypatch.setattr(qa.indexer, "EXTRACTION_VERSION", 999)  # a changed HTML extractor, say
    r = build(seeds, index)
    assert r.full and r.chunks_reused == 0
    assert open_version(index).manifest["settings"]["extraction"] == 999


def test_switching_embedder_weights_rebuilds_in_full_and_queries_match(fresh, monkeypatch):
    """The shipped fine-tuned layers and the plain bundled MiniLM are different models: switching
    re-embeds everything, and each index answers queries with the export of its own weights."""
    assert embedder.SHIPPED_OVERLAY.is_file(), "the fine-tuned embedder layers ship with the package"
    seeds, index = fresh  # built with the default, the fine-tuned layers
    tuned = open_version(index)
    tuned.query_embedder()  # loaded before the switch, as a serving process has it (the switch drops the old files)
    n = tuned.n_chunks
    monkeypatch.setenv("QA_EMBEDDER", "bundled")
    r = build(seeds, index)
    assert r.full and r.chunks_embedded == n and r.chunks_reused == 0
    assert any("embedding model" in note for note in r.notes)
    plain = open_version(index)
    assert (tuned.manifest["settings"]["embedder"]["weights"], plain.manifest["settings"]["embedder"]["weights"]) == (
        "bundled+overlay",
        "bundled",
    )
    assert plain.manifest["query_embedder"] != tuned.manifest["query_embedder"]
    # each index's vectors are its own model's, and its query export agrees with that model
    text = plain.chunks([0])[0].text
    specs = {"plain": embedder.EmbedderSpec.choose("bundled"), "tuned": embedder.EmbedderSpec.choose("auto")}
    ref = {k: embedder.DocumentEmbedder(precision="fp32", spec=v)([text])[0] for k, v in specs.items()}
    assert float(ref["plain"] @ ref["tuned"]) < 0.999  # the fine-tuning really moved the vectors
    assert abs(float(plain.faiss.reconstruct(0) @ ref["plain"]) - 1.0) < 5e-3  # bf16 documents, fp32 reference
    assert abs(float(tuned.faiss.reconstruct(0) @ ref["tuned"]) - 1.0) < 5e-3
    for version, key in ((plain, "plain"), (tuned, "tuned")):
        q = version.query_embedder()(["What did Sherman say?"])[0]
        want = embedder.DocumentEmbedder(precision="fp32", spec=specs[key])(["What did Sherman say?"])[0]
        assert float(q @ want) >= 0.999
    monkeypatch.delenv("QA_EMBEDDER")
    r = build(seeds, index)  # and back
    assert r.full and open_version(index).manifest["settings"] == tuned.manifest["settings"]


def test_embedder_setting_must_name_weights(fresh, monkeypatch, tmp_path):
    seeds, index = fresh
    monkeypatch.setenv("QA_EMBEDDER", str(tmp_path / "no-such-folder"))
    with pytest.raises(ValueError, match="QA_EMBEDDER"):
        build(seeds, index)
    assert open_version(index).n_chunks > 0  # the index is untouched


def test_stale_index_is_detected(fresh):
    seeds, index = fresh
    store = open_version(index)
    assert not detect_changes(store, seeds).any
    (seeds / "nato-russia-council.txt").write_text("rewritten", encoding="utf-8")
    (seeds / "extra.md").write_text("# extra", encoding="utf-8")
    c = detect_changes(store, seeds)
    assert (c.added, c.changed, c.removed) == (["extra.md"], ["nato-russia-council.txt"], [])


def test_missing_or_corrupt_index_raises_clear_problem(fresh, tmp_path):
    _, index = fresh
    with pytest.raises(IndexProblem, match="qa index"):
        open_version(tmp_path / "nothing-here")
    store = open_version(index)
    (store.dir / "vectors.faiss").write_bytes(b"garbage")
    with pytest.raises(IndexProblem, match="corrupt"):
        open_version(index)


def test_newer_format_is_refused(fresh):
    _, index = fresh
    store = open_version(index)
    m = json.loads((store.dir / "manifest.json").read_text())
    m["format_version"] = 99
    (store.dir / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(IndexProblem, match="newer version"):
        open_version(index)


def test_killed_build_leaves_previous_index_usable_and_next_build_completes(fresh):
    seeds, index = fresh
    before = open_version(index)
    old_version, n = before.dir.name, before.n_chunks
    (seeds / "big.txt").write_text(
        "\n\n".join(f"Paragraph {i} about the harbour and its lighthouse keepers." * 6 for i in range(60)), encoding="utf-8"
    )
    proc = build_until(seeds, index, "embedded 16/", "kill")  # killed mid-embedding, after the first batch
    assert proc.wait(timeout=300) == -signal.SIGKILL, proc.communicate()
    after = open_version(index)
    assert after.dir.name == old_version and after.n_chunks == n
    r = build(seeds, index)
    assert r.changes.added == ["big.txt"]
    assert not list((index / "versions").glob(".building-*"))


def test_second_builder_waits_for_the_lock_then_gives_up_clearly(fresh):
    _, index = fresh
    store = LocalStore(index)
    with store.building(wait_s=1):
        with pytest.raises(IndexBusy, match="another `qa index`"):
            with store.building(wait_s=0.5):
                pass


def test_removing_a_document_folder_entirely(fresh):
    seeds, index = fresh
    shutil.rmtree(seeds / "notes")
    r = build(seeds, index)
    assert r.changes.removed == ["notes/aurora station.md"]


# ---- a broken index, and files that change while they are read

QUESTION = "Who is the NATO Secretary General?"


@pytest.mark.parametrize("breakage", REBUILT)
def test_next_incremental_build_recovers_from_a_broken_index(fresh, pipeline, breakage):
    seeds, index = fresh
    BREAKAGES[breakage][0](index)
    report = build(seeds, index)
    assert report.n_documents == 3 and [s.path for s in report.skipped] == ["image.png"], report.skipped
    if breakage in NEEDS_FULL_REBUILD:
        assert report.full and report.chunks_reused == 0
        assert any("everything was" in n for n in report.notes), report.notes
    # the rebuilt index answers, from exact spans, through every part (vectors, BM25, query embedder)
    p = QAPipeline(index, seeds, reader=pipeline.reader)
    r = p(QUESTION)
    assert any(x.bm25_rank for x in r.passages) and any(x.dense_rank for x in r.passages)
    for a in r.answers:
        assert p.document_text(a.document)[a.start : a.end] == a.text


def test_file_that_disappears_or_changes_while_indexing(fresh):
    seeds, index = fresh
    (seeds / "vanishing.txt").write_text("This file is deleted after the scan found it.", encoding="utf-8")
    (seeds / "rewritten.txt").write_text("First draft: the ferry leaves at nine.", encoding="utf-8")
    final = "Final text: the ferry to Hestholm leaves at half past ten from the north quay."
    article = seeds / "nato-russia-council.txt"
    old_article = article.read_text(encoding="utf-8")
    seen = []

    def meddle(message: str, fraction: float) -> None:
        seen.append(message)
        if message == "reading vanishing.txt":
            (seeds / "vanishing.txt").unlink()
        elif message == "reading rewritten.txt":
            (seeds / "rewritten.txt").write_text(final, encoding="utf-8")
        elif message == "reading nato-russia-council.txt":  # an indexed file, changed after the scan
            article.write_text(old_article + "\nA late paragraph about the tram to Saltvik.\n", encoding="utf-8")

    report = build(seeds, index, progress=meddle)
    assert {"reading vanishing.txt", "reading rewritten.txt", "reading nato-russia-council.txt"} <= set(seen)
    reasons = {s.path: s.reason for s in report.skipped}
    assert "disappeared" in reasons["vanishing.txt"]
    store = open_version(index)
    assert store.document_text("rewritten.txt") == final  # what was read, not what the scan saw
    assert store.document_text("nato-russia-council.txt") == old_article  # as it was when the scan saw it
    assert {"harbour.html", "notes/aurora station.md"} <= set(store.documents)
    # the manifest describes each file as it was read: the next look sees exactly the late change
    changes = detect_changes(store, seeds)
    assert (changes.added, changes.changed, changes.removed) == ([], ["nato-russia-council.txt"], [])
    report = build(seeds, index)
    assert report.changes.changed == ["nato-russia-council.txt"] and not report.changes.added
    assert "tram to Saltvik" in open_version(index).document_text("nato-russia-council.txt")


def test_skipped_file_that_is_fixed_counts_as_new_again(fresh):
    seeds, index = fresh
    (seeds / "later.md").write_bytes(b"")
    report = build(seeds, index)
    assert [(s.path, s.reason) for s in report.skipped if s.path == "later.md"] == [("later.md", "empty (no text)")]
    assert not detect_changes(open_version(index), seeds).any  # still empty: nothing to do
    (seeds / "later.md").write_text("# Later\n\nThe museum reopens in May.\n", encoding="utf-8")
    assert detect_changes(open_version(index), seeds).added == ["later.md"]  # `qa ask` calls the index stale
    assert build(seeds, index).changes.added == ["later.md"]
