"""Documents: what `seeds/` holds, read into exact text that citations point into.

Every supported file becomes a `Document` whose `text` is the string all character
offsets refer to (for HTML, its visible text). Files that cannot be read are skipped
with a one-line reason instead of stopping the whole folder.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
SUPPORTED = TEXT_SUFFIXES | HTML_SUFFIXES
MAX_FILE_BYTES = int(float(os.environ.get("QA_MAX_FILE_MB", "20")) * 1024 * 1024)

# Tags whose end starts a new line in the visible text.
_BLOCK_TAGS = [
    "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table",
    "section", "article", "header", "footer", "blockquote", "pre", "title", "dd", "dt", "hr",
    "figcaption", "main", "nav", "aside", "form",
]  # fmt: skip
_INVISIBLE_TAGS = ["script", "style", "noscript", "template", "head", "iframe", "object", "svg"]


@dataclass
class Document:
    id: str  # path relative to the seeds folder, with forward slashes: stable across runs
    text: str
    sha256: str
    kind: str  # "text" or "html"
    size: int = 0
    mtime_ns: int = 0


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
    for root, dirs, files in os.walk(seeds, followlinks=False, onerror=None):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = Path(root) / name
            rel = path.relative_to(seeds).as_posix()
            if path.suffix.lower() not in SUPPORTED:
                skipped.append(Skipped(rel, f"unsupported type '{path.suffix or 'no extension'}'"))
                continue
            try:
                st = path.stat()  # follows a file symlink; a loop or dangling link raises
            except OSError as e:
                skipped.append(Skipped(rel, f"cannot read: {e.strerror or e}"))
                continue
            if not path.is_file():
                skipped.append(Skipped(rel, "not a regular file"))
                continue
            found.append(FileState(rel, path, st.st_size, st.st_mtime_ns))
    return found, skipped


def decode(raw: bytes) -> tuple[str, str | None]:
    """Bytes to text; returns (text, note). Raises ValueError for binary data."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="strict"), None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "decoded as UTF-16 (byte-order mark)"
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
    for tag in soup.find_all(_INVISIBLE_TAGS):
        tag.decompose()
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_after("\n")
    lines = (re.sub(r"[ \t\r\f\v\u00a0]+", " ", line).strip() for line in soup.get_text().split("\n"))
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return f"{title}\n\n{body}" if title and not body.startswith(title) else body


def read_document(state: FileState) -> tuple[Document, str | None]:
    """Read one file; raises ValueError/OSError with a human reason when it cannot be used."""
    if state.size > MAX_FILE_BYTES:
        raise ValueError(f"too large ({state.size / 2**20:.0f} MB > {MAX_FILE_BYTES / 2**20:.0f} MB; raise QA_MAX_FILE_MB)")
    raw = state.path.read_bytes()
    text, note = decode(raw)
    kind = "html" if state.path.suffix.lower() in HTML_SUFFIXES else "text"
    if kind == "html":
        text = html_to_text(text)
    if not text.strip():
        raise ValueError("empty (no text)")
    digest = hashlib.sha256(raw).hexdigest()
    return Document(state.id, text, digest, kind, len(raw), state.mtime_ns), note


def line_of(text: str, offset: int) -> int:
    """1-based line number of a character offset."""
    return text.count("\n", 0, offset) + 1
