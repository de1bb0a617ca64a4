"""From dropping a file on the browser's Documents panel to its first cited answer, beside `qa index`
of the same file into a copy of the same index.

A real `qa serve` (watching its seeds folder, as by default) runs over an index of the shipped seeds;
headless Chromium (Playwright) drops each file on the panel, and the clock stops when a question
about the file, asked in the chat (again while the reply does not cite it), is answered citing it.
Beside it, `qa index` adds the same file to a fresh copy of the same seeds and index, as a new
process (what a person without the panel runs). The target: the upload is answered within the
`qa index` time plus 3 s. The files are a PDF and a Word file written by real writers (fpdf2,
python-docx), each with one fact among filler text. The first upload after the server starts also
waits for the document embedder, which `qa index` loads every time: opening the Documents panel
starts loading it, and here the panel is opened just before the first file is dropped.

    python bench/upload.py [--pages 20] [--rounds 2] [--limit FILES] [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import os
import random
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

TARGET_EXTRA_S = 3.0
WORDS = (
    "harbour quay ferry cargo tide storm lamp keeper board budget repair crane timber salt fish berth pilot "
    "survey dredging breakwater lighthouse passenger season tonnage invoice contract engineer report"
).split()
# (file, fact, question, a word the answer holds)
FILES = [
    (
        "annual-report.pdf",
        "The harbour master of Port Elwyn in 2031 was Elowen Tresize.",
        "Who was the harbour master of Port Elwyn in 2031?",
        "Tresize",
    ),
    (
        "keepers-handbook.docx",
        "The lamp oil for the north light is supplied by Penwarden Chandlers.",
        "Who supplies the lamp oil for the north light?",
        "Penwarden",
    ),
    (
        "survey-2032.pdf",
        "The dredging survey of 2032 was led by the engineer Caspar Wenlock.",
        "Who led the dredging survey of 2032?",
        "Wenlock",
    ),
]


def filler(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def write_pdf(path: Path, fact: str, pages: int) -> None:
    from fpdf import FPDF

    rng = random.Random(path.name)
    pdf = FPDF()
    pdf.set_auto_page_break(True, margin=20)
    for p in range(pages):
        pdf.add_page()
        pdf.set_font("Helvetica", size=11)
        for para in range(3):
            text = fact if (p, para) == (pages // 2, 1) else filler(rng, 90)
            pdf.multi_cell(0, 5, text)
            pdf.ln(2)
    pdf.output(str(path))


def write_docx(path: Path, fact: str, paragraphs: int) -> None:
    import docx

    rng = random.Random(path.name)
    d = docx.Document()
    d.add_heading("Keeper's handbook", level=1)
    for i in range(paragraphs):
        d.add_paragraph(fact if i == paragraphs // 2 else filler(rng, 90))
    d.save(str(path))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def copy_seeds_and_index(seeds: Path, index: Path, dest: Path) -> tuple[Path, Path]:
    """Copies whose index records the copied seeds (`qa index` refuses another seeds folder otherwise)."""
    import json

    s, i = dest / "seeds", dest / "index"
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(seeds, s)
    shutil.copytree(index, i)
    for manifest in i.glob("versions/*/manifest.json"):
        m = json.loads(manifest.read_text(encoding="utf-8"))
        m["seeds"] = str(s.resolve())
        manifest.write_text(json.dumps(m, ensure_ascii=False), encoding="utf-8")
    return s, i


def serve(seeds: Path, index: Path, log: Path) -> tuple[subprocess.Popen, str, float]:
    port = free_port()
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "qa.cli", "serve", "--seeds", str(seeds), "--index", str(index), "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=open(log, "w"), stderr=subprocess.STDOUT, cwd=common.ROOT)
    while "ready at" not in log.read_text():
        if proc.poll() is not None or time.perf_counter() - t0 > 600:
            proc.kill()
            sys.exit(f"qa serve did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    return proc, f"http://127.0.0.1:{port}/", time.perf_counter() - t0


def ask_in_chat(pg, question: str) -> str:
    n = pg.locator("#chat [data-testid='bot']").count()
    pg.fill("#question textarea", question)
    pg.press("#question textarea", "Enter")
    pg.wait_for_function(
        """n => { const m = document.querySelectorAll('#chat [data-testid="bot"]');
                 return m.length > n && /confidence|documents don't say|Cannot answer/.test(m[m.length - 1].innerText); }""",
        arg=n,
        timeout=300_000,
    )
    return pg.locator("#chat [data-testid='bot']").last.inner_text()


def upload_to_cited_answer(pg, path: Path, question: str, word: str, deadline_s: float = 600) -> tuple[float, str, str]:
    """Drop `path` on the panel; ask `question` once the panel reports the file (and again while the reply
    does not cite it). Returns (seconds from the drop to the cited reply, the reply, the panel's message)."""
    t0 = time.perf_counter()
    pg.set_input_files("#upload input[type=file]", [str(path)])
    pg.wait_for_function(  # the panel's message about this file (it shows the previous one until then)
        """name => document.querySelector('#documents-msg').innerText.split('\\n')
                   .some(line => line.startsWith('Added ' + name) || line.startsWith('Refused ' + name))""",
        arg=path.name,
        timeout=deadline_s * 1000,
    )
    message = pg.locator("#documents-msg").inner_text()
    if not message.startswith("Added"):
        sys.exit(f"the upload of {path.name} was refused: {message}")
    while True:
        reply = ask_in_chat(pg, question)
        if word in reply and re.search(rf"{re.escape(path.name)} · (page \d+ · )?line \d+", reply):
            return time.perf_counter() - t0, reply, message
        if time.perf_counter() - t0 > deadline_s:
            sys.exit(f"no answer citing {path.name} within {deadline_s} s; last reply: {reply}")


def qa_index_time(base_seeds: Path, base_index: Path, path: Path, work: Path, question: str, word: str) -> tuple[float, str]:
    """`qa index` adding `path` to a fresh copy of the base seeds and index: (wall seconds, its summary line)."""
    seeds, index = copy_seeds_and_index(base_seeds, base_index, work)
    shutil.copy(path, seeds / path.name)
    wall, _, rc, out, err = common.run_child([sys.executable, "-m", "qa.cli", "index", "--seeds", str(seeds), "--index", str(index)])
    if rc != 0 or "+1 added" not in out:
        sys.exit(f"qa index failed ({rc}): {out}\n{err[-2000:]}")
    _, _, rc, ask, _ = common.run_child([sys.executable, "-m", "qa.cli", "ask", question, "--index", str(index)])
    if rc != 0 or word not in ask or path.name not in ask:  # the same answer the upload must give, checked untimed
        sys.exit(f"qa ask after qa index did not cite {path.name}: {ask}")
    return wall, out.strip().splitlines()[-1]


def one_round(args, round_: int, files: Path, base_seeds: Path, base_index: Path) -> tuple[float, list[dict]]:
    """A fresh server over a copy of the base index; each file through `qa index`, then dropped on the panel."""
    from playwright.sync_api import sync_playwright

    work = args.work / f"round-{round_}"
    seeds, index = copy_seeds_and_index(base_seeds, base_index, work / "served")
    proc, url, launch_s = serve(seeds, index, work / "serve.log")
    rows = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=args.chromium, args=["--headless", "--no-sandbox", "--disable-gpu"])
            pg = browser.new_page(viewport={"width": 1400, "height": 1000})
            pg.goto(url, timeout=300_000)
            pg.wait_for_selector("#question textarea", timeout=300_000)
            for order, (name, _, question, word) in enumerate(FILES[: args.limit or None], 1):
                path = files / name
                cli_s, summary = qa_index_time(base_seeds, base_index, path, work / f"cli-{order}", question, word)
                if order == 1:  # the panel is opened just before the first drop, as a person would
                    pg.click("#documents button:has-text('Documents')")
                    pg.wait_for_selector("#upload input[type=file]", state="attached", timeout=120_000)
                upload_s, reply, message = upload_to_cited_answer(pg, path, question, word)
                cli_s, upload_s = round(cli_s, 2), round(upload_s, 2)
                row = {
                    "round": round_,
                    "file": name,
                    "kb": round(path.stat().st_size / 1024, 1),
                    "qa_index_s": cli_s,
                    "upload_to_cited_answer_s": upload_s,
                    "target_s": round(cli_s + TARGET_EXTRA_S, 2),
                    "within_target": upload_s <= round(cli_s + TARGET_EXTRA_S, 2),
                    "first_upload_after_start": order == 1,
                    "qa_index_summary": summary,
                    "panel_message": message.splitlines()[-1],
                    "reply": " ".join(reply.split())[:300],
                }
                print(row, file=sys.stderr)
                rows.append(row)
            browser.close()
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    return round(launch_s, 2), rows


def main() -> None:
    p = common.base_parser(__doc__.splitlines()[0], "upload")
    p.add_argument("--pages", type=int, default=20, help="pages of each PDF (the Word file has as many paragraphs x 3)")
    p.add_argument("--rounds", type=int, default=2, help="fresh servers, each taking every file (the first upload of each is cold)")
    p.add_argument("--chromium", default="/usr/bin/chromium")
    args = p.parse_args()
    run = common.Run("upload", args)

    work = args.work
    shutil.rmtree(work, ignore_errors=True)
    files = work / "files"
    files.mkdir(parents=True)
    for name, fact, _, _ in FILES:
        (write_pdf if name.endswith(".pdf") else write_docx)(files / name, fact, args.pages if name.endswith(".pdf") else 3 * args.pages)
    base_seeds = work / "base" / "seeds"
    shutil.copytree(common.ROOT / "seeds", base_seeds)
    base_index = work / "base" / "index"
    _, _, rc, _, err = common.run_child([sys.executable, "-m", "qa.cli", "index", "--seeds", str(base_seeds), "--index", str(base_index)])
    if rc != 0:
        sys.exit(f"qa index of the base seeds failed: {err[-2000:]}")

    rows, launches = [], []
    for round_ in range(1, args.rounds + 1):
        launch_s, round_rows = one_round(args, round_, files, base_seeds, base_index)
        launches.append(launch_s)
        rows += round_rows
    run.write(
        {
            "files": rows,
            "server_launch_s": launches,
            "target": f"upload to first cited answer <= `qa index` of the same file + {TARGET_EXTRA_S:.0f} s",
            "all_within_target": all(r["within_target"] for r in rows),
            "threads_env": os.environ.get("QA_THREADS", ""),
            "note": "`qa index` is a new process each time (it loads the embedder); the server starts loading it when the Documents "
            "panel is opened, here just before the first drop",
        }
    )


if __name__ == "__main__":
    main()
