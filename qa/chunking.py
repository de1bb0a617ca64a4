"""Split documents into passages that fit the reader's window, with exact offsets.

`doc.text[chunk.start:chunk.end] == chunk.text` holds for every chunk: citations are
only as good as this invariant.
"""

from __future__ import annotations

from qa.documents import Document


def split_document(doc: Document, chunk_size: int = 800, chunk_overlap: int = 120) -> list[tuple[int, int]]:
    """(start, end) character ranges of the document's chunks (sizes: Settings.chunk_size, chunk_overlap)."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap, strip_whitespace=True)
    spans: list[tuple[int, int]] = []
    cursor = 0
    for piece in splitter.split_text(doc.text):
        # The splitter returns substrings; find each one at or after the previous start.
        start = doc.text.find(piece, cursor)
        if start < 0:
            start = doc.text.find(piece)
        if start < 0:  # cannot happen with strip_whitespace splitting, but never cite wrong text
            raise AssertionError(f"chunk not found in {doc.id}")
        spans.append((start, start + len(piece)))
        cursor = start + 1
    return spans


_STEMMER = None


def bm25_tokenize(texts: list[str]) -> list[list[str]]:
    """Lower-cased, stop-worded, Snowball-stemmed tokens (the same for chunks and questions, and for
    every store: the local one indexes them with bm25s, the Milvus one with its BM25 function)."""
    global _STEMMER
    import bm25s

    if _STEMMER is None:
        import Stemmer

        _STEMMER = Stemmer.Stemmer("english")
    return bm25s.tokenize(texts, stopwords="en", stemmer=_STEMMER, return_ids=False, show_progress=False)
