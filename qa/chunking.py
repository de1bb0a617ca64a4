"""Split documents into passages that fit the reader's window, with exact offsets.

`doc.text[chunk.start:chunk.end] == chunk.text` holds for every chunk: citations are
only as good as this invariant.
"""

from __future__ import annotations

from dataclasses import dataclass

from qa.documents import Document

# ~800 characters is ~180 word pieces: a chunk plus a question fits the reader's
# 256-token window in one pass, and it stays under MiniLM's 256-token embedding limit.
CHUNK_SIZE = 800
CHUNK_OVERLAP = 120


@dataclass
class Chunk:
    id: int  # row in the FAISS index
    doc_id: str
    start: int
    end: int
    text: str


def splitter_settings(chunk_size: int = CHUNK_SIZE, chunk_overlap: int = CHUNK_OVERLAP) -> dict:
    return {"splitter": "RecursiveCharacterTextSplitter", "chunk_size": chunk_size, "chunk_overlap": chunk_overlap}


def split_document(doc: Document, chunk_size: int = CHUNK_SIZE, chunk_overlap: int = CHUNK_OVERLAP) -> list[tuple[int, int]]:
    """(start, end) character ranges of the document's chunks."""
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
