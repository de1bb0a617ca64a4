"""PDF indexing speed: pages per second for a long PDF, text extraction alone and the whole build.

The PDF is written by fpdf2 (a real PDF writer): `--pages` pages of report-like text with a
running header and footer. Extraction runs as `qa index` runs it (pypdfium2 in a limited child
process); the build is `build_index` end to end (extraction, chunking, embedding with its
progress bar, FAISS + BM25 + SQLite).

    python bench/pdf_pages.py [--pages 300]
"""

from __future__ import annotations

import random
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

WORDS = (
    "harbour quay ferry cargo tide storm lamp keeper board budget repair crane timber salt fish berth pilot "
    "survey dredging breakwater lighthouse passenger season tonnage invoice contract engineer report"
).split()


def write_pdf(path: Path, pages: int) -> None:
    from fpdf import FPDF

    class Report(FPDF):
        def header(self):
            self.set_font("Helvetica", size=9)
            self.cell(0, 8, "Port Elwyn Harbour Board - Annual Report", new_x="LMARGIN", new_y="NEXT")

        def footer(self):
            self.set_y(-15)
            self.set_font("Helvetica", size=9)
            self.cell(0, 8, f"Page {self.page_no()}", align="C")

    rng = random.Random(pages)
    pdf = Report()
    pdf.set_auto_page_break(True, margin=20)
    for p in range(pages):
        pdf.add_page()
        pdf.set_font("Helvetica", size=11)
        for para in range(3):
            text = f"Section {p + 1}.{para + 1}. " + " ".join(rng.choice(WORDS) for _ in range(90)) + "."
            pdf.multi_cell(0, 5, text)
            pdf.ln(2)
    pdf.output(str(path))


def main() -> None:
    p = common.base_parser(__doc__.splitlines()[0], "pdf_pages")
    p.add_argument("--pages", type=int, default=300)
    args = p.parse_args()
    run = common.Run("pdf_pages", args)
    from qa import converters
    from qa.backends import open_store
    from qa.indexer import build_index

    shutil.rmtree(args.work, ignore_errors=True)
    seeds = args.work / "seeds"
    seeds.mkdir(parents=True)
    pdf = seeds / "long-report.pdf"
    write_pdf(pdf, args.pages)
    raw = pdf.read_bytes()
    t = time.perf_counter()
    text, starts = converters.run_limited(converters.pdf_text, raw)
    extract_s = time.perf_counter() - t
    assert len(starts) == args.pages, (len(starts), args.pages)
    t = time.perf_counter()
    report = build_index(open_store(args.work / "index"), seeds, show_progress_bar=not args.no_progress)
    build_s = time.perf_counter() - t
    results = {
        "pages": args.pages,
        "pdf_mb": round(len(raw) / 2**20, 2),
        "characters": len(text),
        "extract_s": round(extract_s, 2),
        "extract_pages_per_s": round(args.pages / extract_s, 1),
        "build_s": round(build_s, 2),
        "build_pages_per_s": round(args.pages / build_s, 2),
        "chunks": report.n_chunks,
        "chunks_per_s": round(report.n_chunks / build_s, 1),
        "note": "build includes loading the embedding model and exporting the query embedder on a first build",
    }
    print(results, file=sys.stderr)
    run.write(results)


if __name__ == "__main__":
    main()
