"""Documents: what `seeds/` holds, read into exact text that citations point into.

Every supported file becomes a `Document` whose `text` is the string all character
offsets refer to (for HTML, its visible text). Files that cannot be read are skipped
with a one-line reason instead of stopping the whole folder.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
PAGED_SUFFIXES = {".pdf": "pdf", ".docx": "docx"}  # read by qa.converters in a limited child process
SUPPORTED = TEXT_SUFFIXES | HTML_SUFFIXES | set(PAGED_SUFFIXES)
DEFAULT_MAX_BYTES = 20 * 1024 * 1024  # Settings.max_file_mb (QA_MAX_FILE_MB)
# Bump when extraction changes the text of a file that did not change: offsets of old chunks
# would no longer point into the new text, so indexes built before are rebuilt in full.
EXTRACTION_VERSION = 3

# Tags whose end starts a new line in the visible text.
_BLOCK_TAGS = [
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "table",
    "section",
    "article",
    "header",
    "footer",
    "blockquote",
    "pre",
    "title",
    "dd",
    "dt",
    "hr",
    "figcaption",
    "main",
    "nav",
    "aside",
    "form",
]
_INVISIBLE_TAGS = ["script", "style", "noscript", "template", "head", "iframe", "object", "svg"]


@dataclass
class Document:
    id: str  # path relative to the seeds folder, with forward slashes: stable across runs
    text: str
    sha256: str
    kind: str  # "text", "html", "pdf" or "docx"
    size: int = 0
    mtime_ns: int = 0
    pages: list[int] | None = None  # start offset of each page in `text` (PDF), else None


@dataclass
class Skipped:
    path: str
    reason: str


@dataclass
class FileState:
    """What the manifest remembers about a file to tell quickly whether it changed."""

    id: str
    path: Path
    size: int
    mtime_ns: int


def scan(seeds: Path) -> tuple[list[FileState], list[Skipped]]:
    """List supported files under `seeds` (recursively, sorted); symlinked folders are not followed."""
    seeds = Path(seeds)
    found: list[FileState] = []
    skipped: list[Skipped] = []

    def unlistable(e: OSError) -> None:
        skipped.append(Skipped(printable_path(Path(e.filename), seeds), f"cannot list folder: {e.strerror or e}"))

    for root, dirs, files in os.walk(seeds, followlinks=False, onerror=unlistable):
        for d in sorted(dirs):
            if not d.startswith(".") and os.path.islink(os.path.join(root, d)):  # may loop back on itself
                skipped.append(Skipped(printable_path(Path(root) / d, seeds), "symlinked folder not followed"))
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not os.path.islink(os.path.join(root, d)))
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = Path(root) / name
            rel = printable_path(path, seeds)
            if path.suffix.lower() not in SUPPORTED:
                skipped.append(Skipped(rel, f"unsupported type '{path.suffix or 'no extension'}'"))
                continue
            if rel != path.relative_to(seeds).as_posix():
                skipped.append(Skipped(rel, "file name is not valid UTF-8; rename it"))
                continue
            try:
                st = path.stat()  # follows a file symlink; a loop or dangling link raises
            except OSError as e:
                skipped.append(Skipped(rel, f"cannot read: {e.strerror or e}"))
                continue
            if not stat.S_ISREG(st.st_mode):  # a FIFO or device would block or never end
                skipped.append(Skipped(rel, "not a regular file"))
                continue
            found.append(FileState(rel, path, st.st_size, st.st_mtime_ns))
    return found, skipped


def printable_path(path: Path, seeds: Path) -> str:
    """The path relative to the seeds, safe to store and print: bytes that are not UTF-8 become U+FFFD."""
    rel = path.relative_to(seeds).as_posix() if path != seeds else "."
    return rel.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def decode(raw: bytes) -> tuple[str, str | None]:
    """Bytes to text; returns (text, note). Raises ValueError for binary data."""
    try:
        if raw.startswith(b"\xef\xbb\xbf"):
            return raw[3:].decode("utf-8", errors="strict"), None
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            return raw.decode("utf-16"), "decoded as UTF-16 (byte-order mark)"
    except UnicodeDecodeError as e:
        raise ValueError(f"not text: starts with a {e.encoding.upper()} byte-order mark but is invalid at byte {e.start}") from None
    if b"\x00" in raw[:8192]:
        raise ValueError("binary file (contains NUL bytes)")
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as e:
        text = raw.decode("cp1252", errors="replace")
        if text.count("\ufffd") > max(8, len(text) // 100):
            raise ValueError(f"not text: invalid UTF-8 at byte {e.start}") from None
        return text, f"not valid UTF-8 (byte {e.start}); decoded as Windows-1252/Latin-1"


def html_to_text(html: str) -> str:
    """Visible text of an HTML page: scripts, styles and markup dropped, blocks on their own lines."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    lines = (re.sub(r"[ \t\r\f\v\u00a0]+", " ", line).strip() for line in _visible_strings(soup).split("\n"))
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return f"{title}\n\n{body}" if title and not body.startswith(title) else body


def _visible_strings(soup) -> str:
    """The page's text with a newline after each block element, in one pass over the tree.

    Walks with an explicit stack: deeply nested or unclosed tags (thousands of `<p>`
    without `</p>`) must cost linear time, not recursion or quadratic tree edits.
    """
    from bs4 import CData, NavigableString

    types = soup.interesting_string_types or {NavigableString, CData}
    invisible, block = set(_INVISIBLE_TAGS), set(_BLOCK_TAGS)
    out: list[str] = []
    stack: list = [soup]
    while stack:
        node = stack.pop()
        if node is None:  # end of a block element
            out.append("\n")
        elif isinstance(node, NavigableString):
            if type(node) in types:
                out.append(str(node))
        elif node.name not in invisible or node is soup:
            if node.name in block:
                stack.append(None)
            stack.extend(reversed(node.contents))
    return "".join(out)


def read_document(
    state: FileState, max_bytes: int = DEFAULT_MAX_BYTES, ocr_page_seconds: float | None = None
) -> tuple[Document, str | None]:
    """Read one file; raises ValueError/OSError with a human reason when it cannot be used.
    `ocr_page_seconds`: the time a scanned PDF page may take to read (Settings.ocr_page_seconds)."""
    if state.size > max_bytes:
        raise ValueError(too_large(state.size, max_bytes))
    raw, size, mtime_ns = _read_stable(state.path, max_bytes)
    text, pages, kind, note = convert(raw, state.path.suffix, ocr_page_seconds)
    digest = hashlib.sha256(raw).hexdigest()
    return Document(state.id, text, digest, kind, size, mtime_ns, pages), note


def kind_of(suffix: str) -> str | None:
    """The kind a file of this suffix is read as ("text", "html", "pdf", "docx"); None: not read at all."""
    suffix = suffix.lower()
    if suffix in PAGED_SUFFIXES:
        return PAGED_SUFFIXES[suffix]
    return "html" if suffix in HTML_SUFFIXES else "text" if suffix in TEXT_SUFFIXES else None


def convert(raw: bytes, suffix: str, ocr_page_seconds: float | None = None) -> tuple[str, list[int] | None, str, str | None]:
    """A file's bytes as the index reads them: (text, page starts, kind, note). PDF and Word are parsed in
    the limited child process (qa.converters), a PDF's scanned pages read by OCR in another when the ocr
    extra is installed. Raises ValueError with the reason the file is skipped; `qa.library` checks an
    upload with it before the upload enters the seeds folder."""
    kind = kind_of(suffix)
    if kind is None:
        raise ValueError(f"unsupported type '{suffix or 'no extension'}'")
    pages, note = None, None
    if kind in ("pdf", "docx"):
        from qa import converters

        if kind == "pdf":
            text, pages, note = converters.read_pdf(raw, ocr_page_seconds or converters.OCR_PAGE_SECONDS)
        else:
            text, pages = converters.run_limited(converters.docx_text, raw)
    else:
        text, note = decode(raw)
        if kind == "html":
            text = html_to_text(text)
    if not text.strip():
        raise ValueError("empty (no text)")
    return text, pages, kind, note


def too_large(size: int, max_bytes: int) -> str:
    """The reason a file over the size limit is skipped (or an upload refused)."""
    return f"too large ({size / 2**20:.0f} MB > {max_bytes / 2**20:.0f} MB; raise QA_MAX_FILE_MB)"


def _read_stable(path: Path, max_bytes: int, tries: int = 3) -> tuple[bytes, int, int]:
    """Bytes with the size and time they were read at, so the manifest describes what was indexed.

    The file may be replaced, grow or disappear while `qa index` runs: it is opened once,
    must still be a regular file under the size limit, and is read again if it changed
    during the read.
    """
    for _ in range(tries):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO swapped in must not block
        except FileNotFoundError:
            raise ValueError("disappeared before it could be read") from None
        with os.fdopen(fd, "rb") as f:
            before = os.fstat(fd)
            if not stat.S_ISREG(before.st_mode):
                raise ValueError("not a regular file")
            raw = f.read(max_bytes + 1)
            if len(raw) > max_bytes:
                raise ValueError(too_large(max(len(raw), before.st_size), max_bytes))
            after = os.fstat(fd)
        if (before.st_size, before.st_mtime_ns) == (after.st_size, after.st_mtime_ns) and len(raw) == after.st_size:
            return raw, len(raw), after.st_mtime_ns
    raise ValueError("kept changing while it was read; run `qa index` again when it is saved")


def line_of(text: str, offset: int) -> int:
    """1-based line number of a character offset."""
    return text.count("\n", 0, offset) + 1


def page_of(pages: list[int] | None, offset: int) -> int | None:
    """1-based page of a character offset, from the pages' start offsets (None: not a paged document)."""
    if not pages:
        return None
    import bisect

    return max(1, bisect.bisect_right(pages, offset))
