"""Which documents a question is asked within: patterns (`qa ask --doc`, the UI's "Ask within",
`documents=` in the API) turned into the ids of the live version's documents.

A document's id is its path under the seeds folder (`notes/aurora station.md`). A pattern names it
by that path, by its file name (`aurora station.md`), by a glob over either (`*.md`, `notes/*`), or
by a folder it is in, as a path under the seeds folder (`notes` or `notes/`: everything under it). Every pattern must match something: a
typo is an error that says which documents exist, never a question quietly asked of all of them.
The stores filter by these ids inside their searches (`StoreVersion.search_dense(documents=)`), so
the other documents neither crowd out nor outrank the chosen ones.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from fnmatch import fnmatchcase

from qa.errors import NoMatchingDocuments

SHOWN = 5  # document names the error lists as examples
GLOB = set("*?[")


def clean_pattern(pattern: str) -> str:
    """A pattern as ids are written: forward slashes, no leading `./` or surrounding blanks."""
    p = str(pattern).strip().replace("\\", "/")
    while p.startswith("./"):
        p = p[2:]
    return p


def folders_of(doc_id: str) -> list[str]:
    """The folders a document is in, outermost first (`a/b/c.txt` -> `a`, `a/b`)."""
    parts = doc_id.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def matches(pattern: str, doc_id: str) -> bool:
    """Whether a (cleaned) pattern names this document: its path, its file name, a folder it is in, or a glob over them."""
    name = doc_id.rsplit("/", 1)[-1]
    folder = pattern.rstrip("/")
    if pattern in (doc_id, name) or folder in folders_of(doc_id):
        return True
    if GLOB.isdisjoint(pattern):
        return False
    return fnmatchcase(doc_id, pattern) or fnmatchcase(name, pattern) or any(fnmatchcase(f, folder) for f in folders_of(doc_id))


def select_documents(patterns: Sequence[str] | None, doc_ids: Collection[str]) -> frozenset[str] | None:
    """The ids the patterns name; None when no pattern is given (every document). Raises
    `NoMatchingDocuments` naming each pattern that matches no document, with some that exist."""
    wanted = [p for p in (clean_pattern(p) for p in patterns or []) if p]
    if not wanted:
        return None
    chosen: set[str] = set()
    unmatched = []
    for p in dict.fromkeys(wanted):
        hits = [d for d in doc_ids if matches(p, d)]
        if not hits:
            unmatched.append(p)
        chosen.update(hits)
    if unmatched:
        raise NoMatchingDocuments(no_match_message(unmatched, doc_ids))
    return frozenset(chosen)


def no_match_message(unmatched: Iterable[str], doc_ids: Collection[str]) -> str:
    names = ", ".join(repr(p) for p in unmatched)
    if not doc_ids:
        return f"no document matches {names}: the index holds no documents yet"
    shown = sorted(doc_ids)[:SHOWN]
    more = f", ... ({len(doc_ids)} in all)" if len(doc_ids) > SHOWN else ""
    return (
        f"no document matches {names}; the index holds {', '.join(shown)}{more}. A pattern is a document's path, "
        f"its file name, a glob such as '*.pdf', or a folder such as 'notes/'"
    )


def document_choices(doc_ids: Iterable[str]) -> list[str]:
    """What a person can pick to ask within: every folder (as `folder/`), then every document, sorted."""
    ids = sorted(doc_ids)
    folders = sorted({f + "/" for d in ids for f in folders_of(d)})
    return folders + ids
