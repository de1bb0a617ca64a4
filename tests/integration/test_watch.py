"""A watched seeds folder: `qa index --watch` and `qa serve` rebuild by themselves on add, change
and delete; in the browser, a PDF dropped into the folder becomes answerable with its page."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

import pytest

from tests.conftest import ROOT

NEW = "The Saltvik tram opened in 1912 and its first driver was Ottilie Brandt."


def _wait_line(stream, prefix: str) -> str:
    """The next line starting with `prefix` (the test's timeout bounds the wait)."""
    while True:
        line = stream.readline()
        assert line, f"the process ended before printing {prefix!r}"
        if line.startswith(prefix):
            return line


def test_qa_index_watch_rebuilds_on_add_change_and_delete(fresh):
    seeds, index = fresh
    proc = subprocess.Popen(
        [sys.executable, "-m", "qa.cli", "index", "--index", str(index), "--watch", "-q"],
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert _wait_line(proc.stdout, "+0 added, 0 changed, 0 removed")  # the first build: nothing to do
        _wait_line(proc.stderr, "watching ")
        (seeds / "tram.txt").write_text(NEW, encoding="utf-8")
        assert _wait_line(proc.stdout, "rebuilt: ").startswith("rebuilt: +1 added, 0 changed, 0 removed")
        (seeds / "tram.txt").write_text(NEW + " It closed in 1958.", encoding="utf-8")
        assert _wait_line(proc.stdout, "rebuilt: ").startswith("rebuilt: +0 added, 1 changed, 0 removed")
        (seeds / "tram.txt").unlink()
        assert _wait_line(proc.stdout, "rebuilt: ").startswith("rebuilt: +0 added, 0 changed, 1 removed")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    assert proc.returncode in (0, 130), proc.stderr.read()


@pytest.fixture(scope="module")
def watched(seeds_dir, tmp_path_factory):
    from tests.integration.test_ui import ServerProcess

    root = tmp_path_factory.mktemp("watched")
    seeds = root / "seeds"
    shutil.copytree(seeds_dir, seeds, symlinks=True)
    server = ServerProcess(seeds, root / "index", root / "server.log", watch=True)
    server.seeds = seeds
    yield server
    server.stop()


def _rebuilt(page, summary: str) -> None:
    """Wait for the watcher's line (not the stale-seeds warning, which names the same change first)."""
    page.wait_for_function(
        """s => { const w = document.querySelector('#index-panel .qa-watch');
                  return w && w.innerText.startsWith('Rebuilt') && w.innerText.includes(s); }""",
        arg=summary,
        timeout=240_000,
    )


def test_a_pdf_dropped_into_a_served_folder_is_answerable_with_its_page(watched, browser):
    from tests.integration.test_ui import ask
    from tests.pdf_docx_fixture import PAGE_FACTS, make_report

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(watched.url, timeout=120_000)
    page.wait_for_selector("#question textarea", timeout=120_000)
    page.wait_for_function("() => /Watching|Rebuilt/.test(document.querySelector('#index-panel').innerText)", timeout=60_000)
    make_report(watched.seeds / "report.pdf")  # dropped in: no restart, no click
    _rebuilt(page, "+1 added")
    assert "4 documents" in page.locator("#index-panel").inner_text()
    reply, _ = ask(page, "How much did the new breakwater cost?")
    assert "4.2 million pounds" in reply and "report.pdf · page 2 · line" in reply, reply
    page.locator("#sources .qa-cite").first.click()
    page.wait_for_selector("#document #qa-doc-mark")
    assert "4.2 million pounds" in page.locator("#document #qa-doc-mark").inner_text()
    shown = page.locator("#document .qa-doc-text").inner_text()
    assert "breakwater" in shown and "Agnes Pellow" not in shown  # the cited page, not the whole PDF
    assert PAGE_FACTS[1] not in shown
    # changed: the new text answers
    make_report(watched.seeds / "report.pdf", {**PAGE_FACTS, 2: PAGE_FACTS[2].replace("4.2 million", "5.6 million")})
    _rebuilt(page, "0 added, 1 changed")
    reply, _ = ask(page, "How much did the new breakwater cost?")
    assert "5.6 million pounds" in reply and "report.pdf · page 2" in reply, reply
    # deleted: gone from the index and from the answers
    (watched.seeds / "report.pdf").unlink()
    _rebuilt(page, "0 changed, 1 removed")
    assert "3 documents" in page.locator("#index-panel").inner_text()
    reply, _ = ask(page, "How much did the new breakwater cost?")
    assert "report.pdf" not in reply
    context.close()
