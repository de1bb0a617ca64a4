"""PDF and Word files to exact text, each in a child process with its own time and memory limits.

Documents are untrusted: a corrupt, encrypted or hostile file (a decompression bomb, a zip bomb,
thousands of empty pages) must give a one-line reason, never hang the indexer or exhaust its
memory. So the parsing libraries run in a process forked from a clean server (`forkserver`),
under RLIMIT_AS and a wall-clock limit, and only the text comes back.

- PDF (pypdfium2, PDFium's text layer): page by page; words hyphenated across line ends are
  joined, running headers and footers repeated on most pages are dropped, and the start offset
  of each page in the final text is kept, so an answer's character offset gives its page.
- Scanned pages (no text layer) are read by OCR (qa.ocr, the `ocr` extra) in a second limited
  child whose time bound grows with the number of pages to read; only those pages are read so.
- DOCX (python-docx): paragraphs and tables in reading order; headings stay in the text.
"""

from __future__ import annotations

import functools
import io
import multiprocessing
import re
import resource
from collections import Counter
from collections.abc import Callable
from typing import TypeVar

PDF_MAX_PAGES = 5000
ZIP_MAX_UNPACKED = 256 * 1024 * 1024  # a .docx whose parts unpack to more is refused (zip bomb)
ZIP_MAX_RATIO = 200  # ... or whose parts are compressed more than this
CHILD_MEMORY = 2 * 1024 * 1024 * 1024
CHILD_SECONDS = 120.0
OCR_MEMORY = 4 * 1024 * 1024 * 1024  # the OCR child's: ONNX Runtime peaks near 1.5 GiB of address space on a busy page
SCANNED_MAX_CHARS = 20  # a page with a picture and less text than this is a scan (scanned_pages) ...
SCANNED_STAMP_CHARS = 200  # ... and so is one mostly covered by a picture with less text than this
OCR_PAGE_SECONDS = 30.0  # Settings.ocr_page_seconds (QA_OCR_PAGE_SECONDS): added to CHILD_SECONDS per scanned page
T = TypeVar("T")


class ConversionError(ValueError):
    """The file cannot be turned into text; the message is the one-line reason."""


def run_limited(fn: Callable[[bytes], T], raw: bytes, seconds: float = CHILD_SECONDS, memory: int = CHILD_MEMORY) -> T:
    """`fn(raw)` in a child process limited to `memory` bytes of address space and `seconds`."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["qa.converters"])
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(send, fn, raw, memory), daemon=True)
    child.start()
    send.close()
    try:
        if not receive.poll(seconds):
            raise ConversionError(f"took longer than {seconds:.0f} s to read (skipped)")
        ok, value = receive.recv()
    except EOFError:
        raise ConversionError("the reader ran out of memory or crashed on this file (skipped)") from None
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receive.close()
    if not ok:
        raise ConversionError(value)
    return value


def _child(send, fn, raw: bytes, memory: int) -> None:
    try:
        resource.setrlimit(resource.RLIMIT_AS, (_address_space() + memory, resource.RLIM_INFINITY))
        send.send((True, fn(raw)))
    except MemoryError:
        send.send((False, "needs more memory than allowed to read: a decompression bomb? (skipped)"))
    except ConversionError as e:
        send.send((False, str(e)))
    except Exception as e:  # the parsers raise many kinds; one line says which
        send.send((False, f"could not be read ({type(e).__name__}: {' '.join(str(e).split())[:200]})"))
    finally:
        send.close()


def _address_space() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


# --- PDF ---


def read_pdf(raw: bytes, ocr_page_seconds: float = OCR_PAGE_SECONDS) -> tuple[str, list[int], str | None]:
    """A PDF's text, the start offset of each page in it, and a note: its text layer, and the scanned
    pages (`scanned_pages`) read by OCR when the `ocr` extra is installed. Each step in a limited child."""
    from qa import ocr

    pages, pictured = run_limited(pdf_layer, raw)
    scanned = scanned_pages(pages, pictured)
    note = None
    if scanned and ocr.available():
        seconds = CHILD_SECONDS + ocr_page_seconds * len(scanned)
        failed = []
        for i, text in zip(scanned, run_limited(functools.partial(ocr.ocr_pages, pages=scanned), raw, seconds, OCR_MEMORY)):
            if text is None:
                failed.append(str(i + 1))
            else:
                pages[i] = text
        note = f"{len(scanned) - len(failed)} of {len(pages)} pages read by OCR (no text layer)"
        if failed:
            note += f"; OCR failed on page {', '.join(failed)}"
        if not any(p.strip() for p in pages):
            raise ConversionError("no text: no text layer, and OCR found none in its pictures")
    elif scanned and len(scanned) == len(pages):
        raise ConversionError(f"no text layer (a scanned PDF?); reading it needs OCR: {ocr.EXTRA}")
    elif scanned:
        note = f"{len(scanned)} of {len(pages)} pages are scanned (no text layer) and were left out; to read them: {ocr.EXTRA}"
    text, starts = join_pages(pages)
    return text, starts, note


def pdf_text(raw: bytes) -> tuple[str, list[int]]:
    """The text layer of a PDF and the start offset of each page in it (no OCR)."""
    return join_pages(pdf_layer(raw)[0])


def pdf_layer(raw: bytes) -> tuple[list[str], list[float]]:
    """Each page's text layer as PDFium gives it ("" for a page without one), and the share of the
    page its largest picture covers (0: none)."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        pdf = pdfium.PdfDocument(raw)
    except pdfium.PdfiumError as e:
        reason = str(e).lower()
        if "password" in reason or "security" in reason:
            raise ConversionError("encrypted PDF (a password is needed)") from None
        raise ConversionError(f"not a readable PDF ({' '.join(str(e).split())})") from None
    try:
        n = len(pdf)
        if n > PDF_MAX_PAGES:
            raise ConversionError(f"{n} pages, more than the {PDF_MAX_PAGES} read per PDF")
        pages, pictured = [], []
        for i in range(n):
            page = pdf[i]
            textpage = page.get_textpage()
            pages.append(textpage.get_text_range().replace("\r\n", "\n").replace("\r", "\n"))
            textpage.close()
            pictured.append(_picture_share(page, pdfium_c.FPDF_PAGEOBJ_IMAGE))
            page.close()
    finally:
        pdf.close()
    return pages, pictured


def _picture_share(page, image_type: int) -> float:
    """The share of the page that its largest picture covers (a tiny share when there is a picture
    at all; the first 32 pictures are looked at)."""
    width, height = page.get_size()
    share = 0.0
    for n, obj in enumerate(page.get_objects(filter=(image_type,), max_depth=2)):
        if n == 32:
            break
        left, bottom, right, top = obj.get_bounds()
        area = max(0.0, min(right, width) - max(left, 0.0)) * max(0.0, min(top, height) - max(bottom, 0.0))
        share = max(share, 1e-6, area / max(width * height, 1.0))
    return share


def scanned_pages(pages: list[str], pictured: list[float]) -> list[int]:
    """The pages to read by OCR: a page with a picture and, running headers and footers aside, almost
    no text (`SCANNED_MAX_CHARS`), or one mostly covered by a picture and little text (a scan stamped
    with a page number or a header: `SCANNED_STAMP_CHARS`)."""
    trimmed = drop_running_lines(pages)
    out = []
    for i, (text, share) in enumerate(zip(trimmed, pictured)):
        chars = len("".join(text.split()))
        if (share > 0 and chars < SCANNED_MAX_CHARS) or (share >= 0.5 and chars < SCANNED_STAMP_CHARS):
            out.append(i)
    return out


def join_pages(pages: list[str]) -> tuple[str, list[int]]:
    """Pages' texts, running headers and footers dropped and hyphenated words joined, as one text
    with the start offset of each page."""
    pages = drop_running_lines(pages)
    pages = [dehyphenate(p).strip() for p in pages]
    if not any(p.strip() for p in pages):
        from qa import ocr

        raise ConversionError(f"no text layer (a scanned PDF?); reading it needs OCR: {ocr.EXTRA}")
    text, starts = "", []
    for p in pages:
        if text:
            text += "\n\n"
        starts.append(len(text))
        text += p
    return text, starts


def drop_running_lines(pages: list[str], edge: int = 2) -> list[str]:
    """Drop header and footer lines (the first and last `edge` lines of a page) that repeat on at
    least half the pages, numbers ignored ("Page 3 of 9", "Annual report 2024 · 17")."""
    if len(pages) < 3:
        return pages

    def key(line: str) -> str:
        return re.sub(r"\d+", "#", " ".join(line.split()).lower())

    counts: Counter[str] = Counter()
    for p in pages:
        lines = [ln for ln in p.split("\n") if ln.strip()]
        counts.update({key(ln) for ln in lines[:edge] + lines[-edge:]})
    running = {k for k, c in counts.items() if k and c >= max(3, len(pages) // 2)}
    out = []
    for p in pages:
        lines = p.split("\n")
        content = [i for i, ln in enumerate(lines) if ln.strip()]
        edges = set(content[:edge] + content[-edge:])
        out.append("\n".join(ln for i, ln in enumerate(lines) if not (i in edges and key(ln) in running)))
    return out


def dehyphenate(text: str) -> str:
    """Join a word split by a hyphen at a line end ("exam-\\nple" → "example"). PDFium itself marks
    such a hyphen as U+FFFE and joins the lines; other writers leave "-" and a line break."""
    text = re.sub(r"\ufffe\n?", "", text)
    return re.sub(r"(?<=[a-zà-ÿ])-\n(?=[a-zà-ÿ])", "", text)


# --- DOCX ---


def docx_text(raw: bytes) -> tuple[str, None]:
    """Paragraphs (headings included) and tables, in the order they appear in the document."""
    import zipfile

    try:
        parts = zipfile.ZipFile(io.BytesIO(raw)).infolist()
    except zipfile.BadZipFile:
        raise ConversionError("not a valid .docx (not a zip file)") from None
    unpacked = sum(p.file_size for p in parts)
    packed = max(1, sum(p.compress_size for p in parts))
    if unpacked > ZIP_MAX_UNPACKED or unpacked / packed > ZIP_MAX_RATIO:
        raise ConversionError(f"a zip bomb? its parts unpack to {unpacked / 2**20:.0f} MB from {packed / 2**20:.1f} MB (skipped)")
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(raw))
    except Exception as e:
        raise ConversionError(f"not a valid .docx ({type(e).__name__})") from None
    blocks: list[str] = []
    for child in document.element.body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            text = Paragraph(child, document).text.strip()
            if text:
                blocks.append(text)
        elif tag == "tbl":
            rows: list[str] = []
            for row in Table(child, document).rows:
                cells: list[str] = []
                for cell in row.cells:  # a merged cell appears once per column it spans: keep it once
                    t = " ".join(cell.text.split())
                    if not cells or cells[-1] != t:
                        cells.append(t)
                rows.append(" | ".join(cells))
            blocks.append("\n".join(rows))
    text = "\n\n".join(blocks)
    if not text.strip():
        raise ConversionError("empty (no text)")
    return text, None
