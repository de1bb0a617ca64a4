"""Scanned PDFs: OCR speed and answers over a scanned copy of text PDFs against the text PDFs themselves.

The four PDF manuals of bench/trust/corpus/pdf (99 pages; sources in bench/trust/sources/pdf.md) are
"scanned": each page rendered by PDFium at `--scan-dpi` in grayscale, saved as a JPEG and placed as
the only content of its page in a new PDF (fpdf2), so no text layer is left. Both folders are indexed
by the product (`qa index`'s build: the scanned one reads every page by OCR in its limited child) and
asked the 72 hand-written questions of bench/trust/questions/pdf.jsonl (both splits).

- F1: the best answer's F1 against the gold answers (an abstention is not counted as 0: the question is
  whether the text is there to be found, so this is always-answer F1).
- right page: the best answer cites the question's document, is right (F1 >= 0.5), and its page of the
  *text* PDF holds a gold answer: the page a person would open.
- OCR speed and quality per render DPI, on the first `--sweep-pages` pages of the sweep document: pages
  per second of the OCR child (engine load included, rendering and recognition), and word F1 of the
  OCR text of each page against the text layer of the same page.

    python bench/ocr.py [--dpis 100 150 200] [--legacy /tmp/r1pkg] [--docs mpich-installers-guide.pdf ...]

`--legacy PATH`: also time the legacy `rapidocr-onnxruntime` 1.x (its package installed with
`pip install --no-deps --target PATH rapidocr-onnxruntime`) at the product's DPI, on the same pages.
"""

from __future__ import annotations

import functools
import re
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

TRUST = common.ROOT / "bench" / "trust"
CORPUS = TRUST / "corpus" / "pdf"
QUESTIONS = TRUST / "questions" / "pdf.jsonl"


def scan_pdf(source: Path, out: Path, dpi: int, max_pages: int = 0) -> int:
    """A copy of `source` whose pages (the first `max_pages`) are grayscale JPEG pictures of themselves (no text layer)."""
    import pypdfium2 as pdfium
    from fpdf import FPDF

    src = pdfium.PdfDocument(str(source))
    pdf = FPDF(unit="pt")
    pdf.set_auto_page_break(False)
    try:
        for i, page in enumerate(src):
            if max_pages and i == max_pages:
                break
            w, h = page.get_size()
            image = page.render(scale=dpi / 72, grayscale=True).to_pil()
            pdf.add_page(format=(w, h))
            jpg = out.with_name(f"{out.stem}-{i}.jpg")  # one name per page: fpdf2 reuses an image by its name
            image.save(jpg, quality=80)
            pdf.image(str(jpg), x=0, y=0, w=w, h=h)
            jpg.unlink()
        n = min(len(src), max_pages or len(src))
    finally:
        src.close()
    pdf.output(str(out))
    return n


def words(text: str) -> Counter:
    return Counter(re.findall(r"\w+", text.lower()))


def word_f1(pred: str, gold: str) -> float:
    p, g = words(pred), words(gold)
    common_ = sum((p & g).values())
    if not common_:
        return 0.0
    precision, recall = common_ / sum(p.values()), common_ / sum(g.values())
    return 2 * precision * recall / (precision + recall)


def squash(text: str) -> str:
    return " ".join(text.lower().split())


def page_texts(folder: Path) -> dict[str, list[str]]:
    """Each text PDF's pages as the product extracts them (the pages a right answer is looked up on)."""
    from qa.converters import pdf_text

    out = {}
    for pdf in sorted(folder.glob("*.pdf")):
        text, starts = pdf_text(pdf.read_bytes())
        ends = [*starts[1:], len(text)]
        out[pdf.name] = [squash(text[a:b]) for a, b in zip(starts, ends)]
    return out


def ask_all(seeds: Path, index: Path, pages: dict[str, list[str]], progress: bool) -> tuple[list[dict], float, int, list[str]]:
    """Build the index of `seeds`, ask every question; rows with F1, document and page judged."""
    from qa.backends import open_store
    from qa.evaluate import judge, load_question_set
    from qa.pipeline import QAPipeline, choose_seeds

    store = open_store(index)
    t = time.perf_counter()
    pipe = QAPipeline(store, choose_seeds(store, seeds, reseed=True))
    report = pipe.rebuild(show_progress_bar=progress)
    build_s = time.perf_counter() - t
    pipe.warm_up()
    rows = []
    for q in [q for q in load_question_set(QUESTIONS) if q.document in pages]:
        res = pipe(q.question)
        row = judge(res, q)
        top = res.answers[0] if res.answers else None
        on_page = (
            top is not None
            and top.document == q.document
            and top.page is not None
            and any(squash(g) in pages[q.document][top.page - 1] for g in q.answers)
        )
        row["right_page"] = bool(row["right"] and on_page)
        row["page"] = top.page if top else None
        rows.append(row)
    return rows, build_s, report.n_chunks, [f"{s.path}: {s.reason}" for s in report.skipped]


def summary(rows: list[dict]) -> dict:
    answerable = [r for r in rows if r["answerable"]]
    n = len(answerable)
    return {
        "questions": n,
        "f1": round(100 * sum(r["f1"] for r in answerable) / n, 1),
        "right_page": round(100 * sum(r["right_page"] for r in answerable) / n, 1),
        "right_document": round(100 * sum(r["document_right"] for r in answerable) / n, 1),
    }


def sweep(pdf: Path, layer: list[str], dpis: list[int], legacy: Path | None) -> list[dict]:
    """OCR of the same scanned pages at each DPI (and by the legacy package): speed and word F1. Run in
    this process (not the limited child) so that CPU time, which a busy machine does not inflate, is
    measured beside the wall-clock time."""
    from qa import ocr

    raw = pdf.read_bytes()
    pages = list(range(len(layer)))
    runs = [(f"rapidocr 3 (PP-OCRv6 small), {dpi} dpi", functools.partial(ocr.ocr_pages, pages=pages, dpi=dpi)) for dpi in dpis]
    if legacy:
        runs.append(
            (f"rapidocr-onnxruntime 1.4 (PP-OCRv4), {ocr.DPI} dpi", functools.partial(_legacy_pages, pages=pages, path=str(legacy)))
        )
    out = []
    for name, fn in runs:
        wall, cpu = time.perf_counter(), time.process_time()
        texts = fn(raw)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        f1 = sum(word_f1(o or "", g) for o, g in zip(texts, layer)) / len(pages)
        out.append({"engine": name, "pages": len(pages), "wall_s": round(wall, 1), "pages_per_s": round(len(pages) / wall, 2),
                    "cpu_s_per_page": round(cpu / len(pages), 2), "word_f1": round(100 * f1, 1)})  # fmt: skip
        print(out[-1], file=sys.stderr)
    return out


def _legacy_pages(raw: bytes, pages: list[int], path: str) -> list[str]:
    """The legacy package on the same rendering and the same reading order as qa.ocr."""
    sys.path.insert(0, path)
    import pypdfium2 as pdfium
    from rapidocr_onnxruntime import RapidOCR  # type: ignore[import-not-found]

    from qa import ocr

    engine = RapidOCR(use_cls=False)
    pdf = pdfium.PdfDocument(raw)
    out = []
    for i in pages:
        result, _ = engine(pdf[i].render(scale=ocr.DPI / 72).to_numpy())
        out.append(ocr.reading_order([ocr._box(b, t) for b, t, _s in result or []]))
    return out


def main() -> None:
    p = common.base_parser(__doc__.splitlines()[0], "ocr")
    p.add_argument("--scan-dpi", type=int, default=200, help="the 'scanner's resolution: pages become pictures at this DPI")
    p.add_argument("--dpis", type=int, nargs="+", default=[100, 150, 200], help="OCR render DPIs compared on the sweep pages")
    p.add_argument("--sweep-doc", default="mpich-installers-guide.pdf")
    p.add_argument("--sweep-pages", type=int, default=16)
    p.add_argument("--docs", nargs="+", help="only these PDFs of bench/trust/corpus/pdf (and their questions)")
    p.add_argument("--max-pages", type=int, default=0, help="scan only the first N pages of each PDF (a smoke run; 0: all)")
    p.add_argument("--legacy", type=Path, help="a folder holding the rapidocr_onnxruntime 1.x package, to compare")
    args = p.parse_args()
    run = common.Run("ocr", args)
    from qa import ocr

    shutil.rmtree(args.work, ignore_errors=True)
    scanned = args.work / "scanned"
    scanned.mkdir(parents=True)
    corpus = args.work / "text"
    corpus.mkdir()
    for pdf in sorted(CORPUS.glob("*.pdf")):
        if not args.docs or pdf.name in args.docs:
            shutil.copy(pdf, corpus / pdf.name)
    n_pages = sum(scan_pdf(pdf, scanned / pdf.name, args.scan_dpi, args.max_pages) for pdf in sorted(corpus.glob("*.pdf")))
    pages = page_texts(corpus)

    layer = pages[args.sweep_doc][: min(args.sweep_pages, args.max_pages or args.sweep_pages)]
    by_dpi = sweep(scanned / args.sweep_doc, layer, args.dpis, args.legacy)

    text_rows, text_build_s, text_chunks, _ = ask_all(corpus, args.work / "index-text", pages, not args.no_progress)
    scan_rows, scan_build_s, scan_chunks, skipped = ask_all(scanned, args.work / "index-scanned", pages, not args.no_progress)
    text, scan = summary(text_rows), summary(scan_rows)
    results = {
        "pages": n_pages,
        "scan_dpi": args.scan_dpi,
        "ocr_dpi": ocr.DPI,
        "text_pdf": {**text, "build_s": round(text_build_s, 1), "chunks": text_chunks},
        "scanned_pdf": {
            **scan,
            "build_s": round(scan_build_s, 1),
            "chunks": scan_chunks,
            "build_pages_per_s": round(n_pages / scan_build_s, 2),
            "skipped": skipped,
        },
        "f1_ratio": round(100 * scan["f1"] / max(text["f1"], 1e-9), 1),
        "right_page_ratio": round(100 * scan["right_page"] / max(text["right_page"], 1e-9), 1),
        "by_dpi": by_dpi,
        "sweep": f"{args.sweep_doc}, first {len(layer)} pages",
        "per_question": [
            {"id": a["id"], "text": a["answer"], "scanned": b["answer"], "text_f1": round(a["f1"], 2), "scanned_f1": round(b["f1"], 2)}
            for a, b in zip(text_rows, scan_rows)
        ],
    }
    print({k: v for k, v in results.items() if k != "per_question"}, file=sys.stderr)
    run.write(results)


if __name__ == "__main__":
    main()
