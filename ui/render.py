"""HTML and Markdown for the browser chat. Documents and questions are untrusted: every piece of
their text goes through `esc` (HTML panels) or `md_text` (chat messages) before it reaches a page."""

from __future__ import annotations

import html
import string
from dataclasses import dataclass

from qa.documents import line_of

NO_ANSWER = "The documents don't say."
DOC_WINDOW = 20_000  # characters shown either side of a cited span (a 20 MB document would stall the browser)
_MD_PUNCT = {ord(c): f"&#{ord(c)};" for c in string.punctuation}


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def md_text(text: str) -> str:
    """Text that Markdown shows literally: every ASCII punctuation character becomes a numeric
    character reference, which CommonMark treats as text, never as syntax (no links, images, HTML)."""
    return " ".join(str(text).split()).translate(_MD_PUNCT)


@dataclass
class Cite:
    """One clickable citation: a span of a document."""

    document: str
    start: int
    end: int
    line: int
    version: str = ""  # the index version whose text the offsets point into
    page: int | None = None  # 1-based, in a paged document (PDF)


def where(document: str, line: int, page: int | None = None) -> str:
    """`document · line N`, or `document · page P · line N` for a paged document."""
    return f"{document} · line {line}" if page is None else f"{document} · page {page} · line {line}"


def understood_as(result) -> str | None:
    """The question as it was read, when a conversation made it differ from the one typed."""
    resolved = getattr(result, "resolved_question", None)
    return resolved if resolved and resolved != result.question else None


def answer_message(result) -> str:
    """The chat message for a `qa.pipeline.Result`: the span, its confidence and `document · line N`;
    under it, how the question was understood when a follow-up was read in the conversation's context."""
    resolved = understood_as(result)
    notes = (f"\n\n*Understood as: {md_text(resolved)}*" if resolved else "") + "".join(f"\n\n*{md_text(w)}*" for w in result.warnings)
    if result.no_answer:
        guess = ""
        if result.answers:
            a = result.answers[0]
            guess = f"\n\nClosest guess (confidence {a.score:.2f}): “{md_text(a.text)}” — {md_text(where(a.document, a.line, a.page))}"
        shown = "the closest passages are under Sources" if result.passages else "nothing in the index matched"
        return f"{NO_ANSWER}\n\nNo passage answers this with enough confidence; {shown}.{guess}{notes}"
    if len(result.answers) == 1:
        a = result.answers[0]
        return f"**{md_text(a.text)}**\n\nconfidence {a.score:.2f} · {md_text(where(a.document, a.line, a.page))}{notes}"
    items = "\n".join(
        f"{n}. **{md_text(a.text)}** — confidence {a.score:.2f} · {md_text(where(a.document, a.line, a.page))}"
        for n, a in enumerate(result.answers, 1)
    )
    return f"The documents give {len(result.answers)} answers:\n\n{items}{notes}"


def _marked(text: str, spans: list[tuple[int, int, str, int]]) -> str:
    """`text` escaped, with non-overlapping (start, end, css class, cite index) spans wrapped in <mark>;
    earlier spans in the list win an overlap."""
    chosen: list[tuple[int, int, str, int]] = []
    for s, e, cls, cite in spans:
        s, e = max(0, s), min(len(text), e)
        if s < e and all(e <= cs or s >= ce for cs, ce, _, _ in chosen):
            chosen.append((s, e, cls, cite))
    out, pos = [], 0
    for s, e, cls, cite in sorted(chosen):
        attr = f' class="{cls}"' if cls else ""
        out.append(f'{esc(text[pos:s])}<mark{attr} data-cite="{cite}">{esc(text[s:e])}</mark>')
        pos = e
    out.append(esc(text[pos:]))
    return "".join(out)


def sources_html(result, document_text) -> tuple[str, list[Cite]]:
    """One card per passage that produced an answer (the closest passages when there is none), and the
    citations the cards can open. `document_text(doc_id)` is `store.document_text` (for line numbers)."""
    if result is None:
        return '<div class="qa-empty">Sources for the latest answer appear here.</div>', []
    cites = [Cite(a.document, a.start, a.end, a.line, result.version, a.page) for a in result.answers]
    cards: dict[tuple[str, int], dict] = {}
    for i, a in enumerate(result.answers):
        card = cards.setdefault((a.document, a.passage_start), {"text": a.passage, "answers": []})
        card["answers"].append(i)
    if result.no_answer:  # offer the closest passages anyway, guesses marked lightly
        for p in result.passages[:3]:
            cards.setdefault((p.document, p.start), {"text": p.text, "answers": []})
    parts = []
    for (doc, p_start), card in cards.items():
        idx = card["answers"]
        spans = [(result.answers[i].start - p_start, result.answers[i].end - p_start, "alt" if result.no_answer else "", i) for i in idx]
        if idx:
            a = result.answers[idx[0]]
            cite_i, label, chars = idx[0], where(doc, a.line, a.page), f"characters {a.start}–{a.end}"
            kind = "closest guess" if result.no_answer else (f"answer {idx[0] + 1}" if len(result.answers) > 1 else "answer")
            score = f"{kind} · score {a.score:.2f}"
        else:
            text = document_text(doc) or ""
            label = where(doc, line_of(text, p_start))
            cites.append(Cite(doc, p_start, p_start + len(card["text"]), line_of(text, p_start), result.version))
            cite_i, chars, score = len(cites) - 1, f"characters {p_start}–{p_start + len(card['text'])}", "closest passage"
        parts.append(
            f'<div class="qa-card"><div class="qa-card-head">'
            f'<button class="qa-cite" data-cite="{cite_i}" title="Open the document">{esc(label)}</button>'
            f'<span class="qa-meta">{chars} · {esc(score)}</span></div>'
            f'<div class="qa-passage">{_marked(card["text"], spans)}</div></div>'
        )
    if not parts:
        return '<div class="qa-empty">No passage was retrieved.</div>', cites
    return '<div class="qa-sources">' + "".join(parts) + "</div>", cites


def document_html(cite: Cite, text: str | None, pages: list[int] | None = None) -> str:
    """The cited document with the span marked (`#qa-doc-mark`), cut to a window around it when long.

    For a paged document (PDF) the window is the cited page: its text, with the span marked. That
    page's text is what was indexed, so the mark is exact; a rendered page image would need the
    PDF's character boxes mapped through header removal and de-hyphenation, for little gain.
    """
    if text is None:
        return f'<div class="qa-empty">{esc(cite.document)} is no longer in the index.</div>'
    lo, hi = max(0, cite.start - DOC_WINDOW), min(len(text), cite.end + DOC_WINDOW)
    if pages and cite.page:
        page_lo = pages[cite.page - 1]
        page_hi = pages[cite.page] if cite.page < len(pages) else len(text)
        lo, hi = max(lo, min(page_lo, cite.start)), min(hi, max(page_hi, cite.end))
    shown = f"characters {lo}–{hi} of {len(text)}" if (lo, hi) != (0, len(text)) else f"{len(text)} characters"
    s, e = cite.start - lo, cite.end - lo
    window = text[lo:hi]
    body = f'{esc(window[:s])}<mark id="qa-doc-mark">{esc(window[s:e])}</mark>{esc(window[e:])}'
    return (
        f'<div class="qa-doc"><div class="qa-doc-head"><b>{esc(where(cite.document, cite.line, cite.page))}</b> · '
        f'characters {cite.start}–{cite.end} <span class="qa-meta">(showing {shown})</span></div>'
        f'<div class="qa-doc-text">{body}</div></div>'
    )


def index_html(info: dict) -> str:
    """The index panel: size, build time, skipped files, and whether the seeds changed since."""
    watch = f'<div class="qa-watch">{esc(info["watch"])}</div>' if info.get("watch") else ""
    if info.get("problem"):
        return f'<div class="qa-index qa-warn">{esc(info["problem"])}</div>{watch}'
    rows = [f"<b>{info['n_documents']}</b> documents · <b>{info['n_chunks']}</b> chunks · built {esc(info['built_at'])}"]
    if info.get("skipped"):
        items = "".join(f"<li>{esc(p)}: {esc(r)}</li>" for p, r in sorted(info["skipped"].items()))
        n = len(info["skipped"])
        rows.append(f"<details><summary>{n} file{'s' if n != 1 else ''} skipped</summary><ul>{items}</ul></details>")
    if info.get("stale"):
        rows.append(
            f'<div class="qa-warn">The seeds folder changed since this index was built ({esc(info["stale"])}); '
            "answers come from the indexed text. Click <i>Rebuild index</i>.</div>"
        )
    return '<div class="qa-index">' + "".join(f"<div>{r}</div>" for r in rows) + watch + "</div>"


DOCUMENTS_SHOWN = 500  # rows of the Documents table (a folder of 20,000 files would stall the browser)
_STATUS = {
    "indexed": "indexed",
    "changed": "changed: re-read at the next build",
    "waiting": "not indexed yet",
    "skipped": "skipped",
    "gone": "left the folder: dropped at the next build",
}


def _size(n: int) -> str:
    return f"{n} B" if n < 1024 else f"{n / 1024:.0f} KB" if n < 2**20 else f"{n / 2**20:.1f} MB"


def _when(seconds: float) -> str:
    import time

    return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds)) if seconds else ""


def documents_html(listing: dict) -> str:
    """The Documents table (`Server.list_documents`): name, kind, size, pages, chunks, when it was added or
    changed, and its status (why it was skipped); each file has a Remove button (it asks first)."""
    rows = listing["documents"]
    if not rows:
        return f'<div class="qa-empty">No documents in {esc(listing["seeds"])} yet: drop files below.</div>'
    body = []
    for r in rows[:DOCUMENTS_SHOWN]:
        status = _STATUS.get(r["status"], r["status"])
        if r["reason"]:
            status = f"{status}: {r['reason']}"
        warn = ' class="qa-skipped"' if r["status"] == "skipped" else ""
        button = (
            f'<button class="qa-remove" data-remove="{esc(r["name"])}" title="Move it to the trash">Remove</button>'
            if r["status"] != "gone"
            else ""
        )
        chunks = r["chunks"] if r["chunks"] is not None else ""
        cells = [r["name"], r["kind"], _size(r["size"]), r["pages"] or "", chunks, _when(r["modified"])]
        body.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in cells) + f"<td{warn}>{esc(status)}</td><td>{button}</td></tr>")
    more = (
        f'<div class="qa-meta">{len(rows) - DOCUMENTS_SHOWN} more not shown (see the folder itself).</div>'
        if len(rows) > DOCUMENTS_SHOWN
        else ""
    )
    head = "".join(f"<th>{h}</th>" for h in ["document", "kind", "size", "pages", "chunks", "added or changed", "status", ""])
    return (
        f'<div class="qa-meta">{len(rows)} file{"s" if len(rows) != 1 else ""} in {esc(listing["seeds"])}</div>'
        f'<table class="qa-documents"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>{more}'
    )


def trash_html(listing: dict) -> str:
    """Where removed files went, each with a Restore button."""
    where_ = f"Removed files are kept in {esc(listing['trash'])} (never indexed; delete them there to free the space)."
    entries = listing["trash_entries"]
    if not entries:
        return f'<div class="qa-trash qa-meta">Trash: empty. {where_}</div>'
    items = "".join(
        f'<li>{esc(e["name"])} <span class="qa-meta">({_size(e["size"])}, removed {esc(e["removed_at"])})</span> '
        f'<button class="qa-restore" data-restore="{esc(e["id"])}">Restore</button></li>'
        for e in entries[:DOCUMENTS_SHOWN]
    )
    return (
        f'<details class="qa-trash" open><summary>Trash: {len(entries)}</summary>'
        f'<div class="qa-meta">{where_}</div><ul>{items}</ul></details>'
    )


def documents_message(result: dict) -> str:
    """What an add, remove or restore did (`Server.add_documents` and the others), as Markdown-safe text."""
    lines = []
    for a in result.get("added", []):
        if a["stored_as"]:
            renamed = f" as {a['stored_as']}" if a["stored_as"] != a["name"] else ""
            lines.append(f"Added {a['name']}{renamed}.")
        else:
            lines.append(f"Refused {a['name']}: {a['reason']}")
    if "removed" in result:
        lines.append(f"Moved {result['removed']['name']} to the trash; it is no longer cited.")
    if "restored" in result:
        lines.append(f"Restored {result['restored']}.")
    if result.get("rebuilt"):
        lines.append(f"The index answers from the change now: {result['rebuilt']}.")
    elif result.get("rebuild_error"):
        lines.append(f"The index was not rebuilt yet ({result['rebuild_error']}); it still answers from the previous version.")
    for path, reason in (result.get("skipped") or {}).items():
        if any(path == a.get("stored_as") for a in result.get("added", [])):
            lines.append(f"The index skipped {path}: {reason}")
    return "\n\n".join(md_text(line) for line in lines)
