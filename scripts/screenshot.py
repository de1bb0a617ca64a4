"""Save docs/screenshot.png: the browser chat answering a question, its source marked and opened.

    python scripts/screenshot.py [--seeds seeds] [--question Q ...] [--out docs/screenshot.png]
    python scripts/screenshot.py --drop report.pdf --question "How much did the new breakwater cost?" --out docs/watched-pdf.png

By default it asks "Who is the NATO Secretary General?", then "What did Sherman say?". With
`--drop FILE` the server watches its seeds folder; FILE is copied in once the page is up, and the
questions are asked after the index panel shows the rebuild (no restart, no click).

Serves a temporary copy of the seeds (the index is built at start-up, the real one is untouched)
and drives Debian's Chromium headless through Playwright (`apt-get install -y chromium`).
"""

from __future__ import annotations

import argparse
import shutil
import socket
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=Path, default=ROOT / "seeds")
    ap.add_argument("--question", action="append", help="ask this (repeatable; the screenshot shows the last answer)")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshot.png")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--drop", type=Path, help="copy this file into the watched seeds folder while the server runs")
    args = ap.parse_args()
    questions = args.question or ["Who is the NATO Secretary General?", "What did Sherman say?"]

    from playwright.sync_api import sync_playwright

    from qa.pipeline import QAPipeline
    from qa.ui.app import launch

    with tempfile.TemporaryDirectory() as tmp:
        seeds = Path(tmp) / "seeds"
        shutil.copytree(args.seeds, seeds)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        demo, url = launch(QAPipeline(Path(tmp) / "index", seeds), port=port, block=False, watch=bool(args.drop))
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 900}, device_scale_factor=1)
                page.goto(url)
                page.wait_for_selector("#index-panel .qa-index", timeout=300_000)
                if args.drop:
                    page.wait_for_function("() => /Watching|Rebuilt/.test(document.querySelector('#index-panel').innerText)")
                    shutil.copy(args.drop, seeds / args.drop.name)
                    page.wait_for_function("() => document.querySelector('#index-panel').innerText.includes('+1 added')", timeout=300_000)
                for n, q in enumerate(questions, 1):
                    page.fill("#question textarea", q)
                    page.press("#question textarea", "Enter")
                    page.wait_for_function("n => document.querySelectorAll('#chat [data-testid=bot]').length >= n", arg=n, timeout=300_000)
                cite = page.locator("#sources .qa-cite").first
                if cite.count():
                    cite.click()
                    page.wait_for_selector("#document #qa-doc-mark")
                    page.wait_for_timeout(500)  # let the document scroll to the mark
                args.out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.out), full_page=True)
                print(f"wrote {args.out}: {page.locator('#chat [data-testid=bot]').last.inner_text()!r}")
                browser.close()
        finally:
            demo.close()


if __name__ == "__main__":
    main()
