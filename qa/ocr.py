"""Text of scanned PDF pages by OCR: the `ocr` extra (`pip install 'qa-docs[ocr]'`).

RapidOCR 3 (Apache-2.0) runs PaddleOCR's PP-OCRv6 detection and recognition models on ONNX
Runtime; the models ship inside its wheel and are passed to it by path, so nothing is ever
downloaded. Pages are rendered by PDFium at `DPI` (bench/ocr.py measured the trade-off) and the
recognised lines are put back into reading order: columns left to right, blocks top to bottom,
words of a line left to right, so the chunker and the reader see sentences, not boxes.

This runs only inside qa.converters' limited child process: rendering a hostile PDF and running
the models are both bounded there in time and memory.
"""

from __future__ import annotations

import importlib.util
import re
from statistics import median

EXTRA = "pip install 'qa-docs[ocr]'"
DPI = 150  # bench/ocr.py: 100 dpi reads 10-11 pt text as well for 15% less CPU; 150 keeps a margin for small print
MAX_SIDE = 2500  # pixels: a page with a huge media box is rendered smaller, not into gigabytes
MIN_SCORE = 0.5  # recognised lines less likely than this are dropped (RapidOCR's default)

Box = tuple[float, float, float, float, str]  # x0, y0, x1, y1 (pixels, y down), recognised text


def available() -> bool:
    """Whether the `ocr` extra is installed (without importing it)."""
    try:
        return importlib.util.find_spec("rapidocr") is not None
    except ValueError:  # sys.modules["rapidocr"] is None: imports of it are blocked
        return False


def engine(threads: int = 0):
    """A RapidOCR engine on the models in its own wheel (by path: no download is ever tried)."""
    from pathlib import Path

    import rapidocr

    models = Path(rapidocr.__file__).parent / "models"
    return rapidocr.RapidOCR(
        params={
            "Global.log_level": "error",
            "Global.use_cls": False,  # upright scans: the 180-degree line classifier costs time and gains nothing
            "Global.text_score": MIN_SCORE,
            "Det.model_path": str(models / "PP-OCRv6_det_small.onnx"),
            "Rec.model_path": str(models / "PP-OCRv6_rec_small.onnx"),
            "Cls.model_path": str(models / "ch_ppocr_mobile_v2.0_cls_mobile.onnx"),
            "EngineConfig.onnxruntime.intra_op_num_threads": threads or -1,
        }
    )


def ocr_pages(raw: bytes, pages: list[int], dpi: int = DPI, threads: int = 0) -> list[str | None]:
    """The recognised text of the given 0-based pages of a PDF, in reading order, one string each;
    None for a page the engine failed on (the others are still read)."""
    import pypdfium2 as pdfium

    ocr = engine(threads)
    pdf = pdfium.PdfDocument(raw)
    out: list[str | None] = []
    try:
        for i in pages:
            page = pdf[i]
            width, height = page.get_size()  # points
            scale = min(dpi / 72, MAX_SIDE / max(width, height, 1))
            image = page.render(scale=scale).to_numpy()
            page.close()
            try:
                result = ocr(image)
            except Exception:  # ONNX Runtime on one odd picture: lose that page, not the document
                out.append(None)
                continue
            boxes = [] if result.boxes is None else result.boxes
            texts = result.txts or ()
            out.append(reading_order([_box(b, t) for b, t in zip(boxes, texts)]))
    finally:
        pdf.close()
    return out


def _box(points, text: str) -> Box:
    xs, ys = [float(p[0]) for p in points], [float(p[1]) for p in points]
    return min(xs), min(ys), max(xs), max(ys), unconfuse(text)


# Glyphs the recogniser confuses in monospaced code ("g1p_read", "/usr/1ocal", "GLP_N0FEAS"): a digit
# inside a run of letters of one case is the letter it looks like (bench/ocr.py: code-heavy manuals).
_ONE_AS_L = re.compile(r"(?<=[a-z_/])1(?=[a-z_])")
_ZERO_AS_O = re.compile(r"(?<=[A-Z_])0(?=[A-Z_])")


def unconfuse(text: str) -> str:
    """`1` between lowercase letters (or after `/`, `_`) is `l`; `0` between capitals is `O`."""
    return _ZERO_AS_O.sub("O", _ONE_AS_L.sub("l", text))


def reading_order(boxes: list[Box]) -> str:
    """Recognised lines as text: blocks (columns, paragraphs) separated by a blank line, their lines
    top to bottom, the pieces of a line left to right."""
    boxes = [b for b in boxes if b[4].strip()]
    if not boxes:
        return ""
    h = median(b[3] - b[1] for b in boxes)
    return "\n\n".join("\n".join(_lines(block, h)) for block in _blocks(boxes, h))


def _blocks(boxes: list[Box], h: float) -> list[list[Box]]:
    """Recursive XY cut: split at a gutter that runs the whole height into columns (each of at
    least two lines and a quarter of the width: not a table's cells or a page number), else at a
    gap taller than a line's height into blocks; then the same within each part."""
    cols = _split(boxes, axis=0, gap=1.5 * h)
    width = max(b[2] for b in boxes) - min(b[0] for b in boxes)
    if len(cols) > 1 and all(len(c) >= 2 and max(b[2] for b in c) - min(b[0] for b in c) >= 0.25 * width for c in cols):
        return [block for c in cols for block in _blocks(c, h)]
    bands = _split(boxes, axis=1, gap=0.8 * h)
    if len(bands) > 1:
        return [block for band in bands for block in _blocks(band, h)]
    return [boxes]


def _split(boxes: list[Box], axis: int, gap: float) -> list[list[Box]]:
    """Groups of boxes separated by empty stretches wider than `gap` along x (axis 0) or y (axis 1)."""

    def span(b: Box) -> tuple[float, float]:
        return (b[0], b[2]) if axis == 0 else (b[1], b[3])

    groups: list[list[Box]] = []
    end = float("-inf")
    for b in sorted(boxes, key=span):
        start, stop = span(b)
        if not groups or start - end > gap:
            groups.append([])
        groups[-1].append(b)
        end = max(end, stop)
    return groups


def _lines(boxes: list[Box], h: float) -> list[str]:
    """Boxes whose vertical centres are within half a line of each other form a line, read left to right."""
    rows: list[list[Box]] = []
    for b in sorted(boxes, key=lambda b: (b[1] + b[3]) / 2):
        centre = (b[1] + b[3]) / 2
        if rows and abs(centre - sum((r[1] + r[3]) / 2 for r in rows[-1]) / len(rows[-1])) <= h / 2:
            rows[-1].append(b)
        else:
            rows.append([b])
    return [" ".join(b[4].strip() for b in sorted(row, key=lambda b: b[0])) for row in rows]
