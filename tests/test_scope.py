"""Asking within some documents: the chosen documents answer even when another document holds a
better-scoring passage, because every store search is filtered before fusion and ranking."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from qa.errors import NoMatchingDocuments
from qa.followup import Turn

QUESTION = "Who built the lighthouse at Port Elwyn?"
CHOSEN, DISTRACTOR, OTHER = "notes/port-elwyn.md", "faq/lighthouse.txt", "faq/ferry.txt"
CHOSEN_TEXT = """# Port Elwyn

Port Elwyn grew up around its herring fleet in the early nineteenth century, and for most of that
century its harbour had no light at all. After the loss of the schooner Marigold in 1869 the town
council raised money for one. The work went to Thomas Quayle, an engineer from Douglas, and the
tower on the northern breakwater was finished in 1874.

"A harbour without a light is a harbour that buries its sons," said Thomas Quayle at the opening.

The keepers' cottages were added in 1881. The lamp was converted to electricity in 1931.
"""
# the question word for word, answered with another name: it outscores the chosen document everywhere
DISTRACTOR_TEXT = """Lighthouse questions and answers

Who built the lighthouse at Port Elwyn? The lighthouse at Port Elwyn was built by the stonemason Edwin Marlow.

Is the lighthouse at Port Elwyn open to visitors? Yes, on summer weekends.

"The council paid me half of what it promised," Quayle said in a letter to the harbour master.
"""
OTHER_TEXT = "The Port Elwyn ferry to the island of Skerrow leaves at 07:15 every weekday and takes forty minutes.\n"


def write_scope_seeds(folder: Path) -> Path:
    """A chosen document (notes/), a distractor that answers its question better, and a third (both in faq/)."""
    for doc_id, text in [(CHOSEN, CHOSEN_TEXT), (DISTRACTOR, DISTRACTOR_TEXT), (OTHER, OTHER_TEXT)]:
        (folder / doc_id).parent.mkdir(parents=True, exist_ok=True)
        (folder / doc_id).write_text(text, encoding="utf-8")
    return folder


def build_scope_index(root: Path, index_dir: Path) -> tuple[Path, Path]:
    """The scope seeds under `root` and their index, reusing the session index's exported query
    embedder (a content-addressed folder) instead of exporting it again."""
    from tests.conftest import build

    seeds = write_scope_seeds(root / "seeds")
    shutil.copytree(index_dir / "models", root / "index" / "models")
    build(seeds, root / "index")
    return seeds, root / "index"


@pytest.fixture(scope="module")
def scoped(tmp_path_factory, index_dir):
    from qa.pipeline import QAPipeline

    seeds, index = build_scope_index(tmp_path_factory.mktemp("scope"), index_dir)
    pipe = QAPipeline(index, seeds)
    pipe.warm_up()
    return pipe


def test_asked_within_one_document_the_answer_comes_from_it_past_a_better_distractor(scoped):
    everywhere = scoped(QUESTION)
    assert everywhere.answers[0].document == DISTRACTOR and "Marlow" in everywhere.answers[0].text
    assert "documents" not in everywhere.to_json()
    for patterns in ([CHOSEN], ["port-elwyn.md"], ["notes/"], ["*.md"]):
        res = scoped(QUESTION, documents=patterns)
        assert res.answers and "Quayle" in res.answers[0].text, (patterns, res.answers)
        assert {a.document for a in res.answers} == {CHOSEN} and {p.document for p in res.passages} == {CHOSEN}
        assert res.to_json()["documents"] == [CHOSEN]
        a = res.answers[0]
        assert scoped.document_text(CHOSEN)[a.start : a.end] == a.text
    within_faq = scoped(QUESTION, documents=["faq"])
    assert {p.document for p in within_faq.passages} == {DISTRACTOR, OTHER} and within_faq.to_json()["documents"] == [OTHER, DISTRACTOR]


def test_what_x_said_and_follow_ups_keep_to_the_chosen_documents(scoped):
    said = scoped("What did Quayle say?")
    assert {a.document for a in said.answers} == {CHOSEN, DISTRACTOR}  # both documents quote him
    within = scoped("What did Quayle say?", documents=[CHOSEN])
    assert [a.text for a in within.answers] == ["A harbour without a light is a harbour that buries its sons"]
    first = scoped(QUESTION, history=[], documents=["notes"])
    follow = scoped("Who paid him?", history=[Turn.of(first)], documents=["notes"])
    assert follow.resolved_question != follow.question  # read in the conversation's context...
    assert {p.document for p in follow.passages} == {CHOSEN}  # ...and still within the chosen document


def test_retrieval_within_documents_is_filtered_in_every_mode(scoped):
    for mode in ("hybrid", "dense", "bm25"):
        passages = scoped.retrieve(QUESTION, top_k=5, mode=mode, documents=[CHOSEN])
        assert [p.document for p in passages] == [CHOSEN], mode
        assert DISTRACTOR in {p.document for p in scoped.retrieve(QUESTION, top_k=5, mode=mode)}


def test_a_pattern_that_names_no_document_is_an_error_not_an_empty_answer(scoped):
    with pytest.raises(NoMatchingDocuments, match=r"no document matches 'lighthouse\.md'; the index holds faq/ferry\.txt"):
        scoped(QUESTION, documents=["lighthouse.md"])
    with pytest.raises(NoMatchingDocuments, match="'nope/'"):
        scoped.retrieve(QUESTION, documents=[CHOSEN, "nope/"])


def test_hnsw_filters_as_exact_search_does(scoped, tmp_path, index_dir):
    """Above QA_FLAT_LIMIT the vectors are in HNSW: a filtered search reads the chosen chunks' vectors
    exactly when they are few, FAISS' id selector otherwise; either way the flat index's hits."""
    from qa.indexer import build_index
    from qa.local_store import LocalStore

    shutil.copytree(index_dir / "models", tmp_path / "index" / "models")
    store = LocalStore(tmp_path / "index", flat_limit=1)
    build_index(store, scoped.seeds)
    hnsw, flat = store.open(), scoped.version
    assert hnsw.manifest["faiss"] == "IndexHNSWFlat" and flat.manifest["faiss"] == "IndexFlatIP"
    vector = flat.query_embedder()([QUESTION])[0]
    for chosen in ({CHOSEN}, {DISTRACTOR, OTHER}):  # one chunk: exact; two (over the limit): the selector
        got, want = hnsw.search_dense(vector, 5, chosen), flat.search_dense(vector, 5, chosen)
        assert [i for i, _ in got] == [i for i, _ in want] and np.allclose([s for _, s in got], [s for _, s in want], atol=1e-5)
        assert {c.document for c in hnsw.chunks([i for i, _ in got])} == chosen
    hnsw.close()


def test_bm25_within_every_document_is_bm25_of_the_whole_index(scoped):
    """BM25 within documents swaps each term's IDF for its IDF among the chosen chunks: chosen all, it is bm25s' own."""
    version = scoped.version
    for q in (QUESTION, "What did Quayle say?", "ferry Skerrow 07:15 weekday"):
        plain = version.search_lexical(q, 10)
        within = version.search_lexical(q, 10, set(version.documents))
        assert [i for i, _ in within] == [i for i, _ in plain] and np.allclose([s for _, s in within], [s for _, s in plain], rtol=1e-5)
