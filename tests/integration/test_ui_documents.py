"""The Documents panel as a person uses it: a real `qa serve` (watching its seeds folder, as by default)
in headless Chromium, real PDF and Word files dropped on the page, asked about, removed and restored;
hostile uploads refused while the index keeps answering."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import copy_seeds_and_index, open_version
from tests.integration.test_ui import NATO, ServerProcess, ask, chat_page
from tests.pdf_docx_fixture import fpdf, make_docx, make_report
from tests.test_library import bomb_docx

MAX_MB = 2  # QA_MAX_FILE_MB of the server: the oversized upload is 3 MB
HOSTILE_NAME = '<img src=x onerror="window.__pwned=14"> notes.md'  # a file name is document text too: shown, never run


@pytest.fixture(scope="module")
def ui(seeds_dir, index_dir, tmp_path_factory):
    """One server over a copy of the session's seeds and index, with a small file size limit."""
    root = tmp_path_factory.mktemp("ui-documents")
    seeds, index = copy_seeds_and_index(seeds_dir, index_dir, root)
    (seeds / HOSTILE_NAME).write_text("The signal lamp is green on the north pier.\n", encoding="utf-8")  # not in the copied index yet
    server = ServerProcess(seeds, index, root / "server.log", env={"QA_MAX_FILE_MB": str(MAX_MB)}, watch=True)
    server.seeds, server.index, server.root = seeds, index, root
    yield server
    server.stop()


@pytest.fixture()
def page(ui, browser):
    with chat_page(ui, browser) as pg:
        pg.click("#documents button:has-text('Documents')")  # open the panel
        pg.wait_for_selector("#documents-panel .qa-documents", timeout=60_000)
        yield pg


def rows(pg) -> dict[str, str]:
    """The Documents table: document name -> the row's text."""
    out = {}
    for tr in pg.locator("#documents-panel tbody tr").all():
        cells = tr.locator("td").all_inner_texts()
        out[cells[0]] = " | ".join(cells)
    return out


def upload(pg, files: list[Path] | list[dict], expect: str) -> str:
    """Drop files on the panel's upload area; wait for the panel's message (not its progress) to say `expect`."""
    before = pg.locator("#documents-msg").inner_text()
    pg.set_input_files("#upload input[type=file]", files)
    pg.wait_for_function(
        """([before, expect]) => { const t = document.querySelector('#documents-msg').innerText;
                                  return t !== before && /^(Added|Refused) /m.test(t) && t.includes(expect); }""",
        arg=[before, expect],
        timeout=300_000,
    )
    return pg.locator("#documents-msg").inner_text()


def test_the_panel_lists_every_file_with_what_the_index_holds_and_where_the_trash_is(ui, page):
    listed = rows(page)
    assert set(listed) == {"nato-russia-council.txt", "notes/aurora station.md", "harbour.html", "image.png", HOSTILE_NAME}
    assert page.locator("#documents-panel img").count() == 0 and "not indexed yet" in listed[HOSTILE_NAME]
    nato = listed["nato-russia-council.txt"]
    assert re.search(r"nato-russia-council\.txt \| text \| \d+ KB \|  \| \d+ \| \d{4}-\d\d-\d\d \d\d:\d\d \| indexed", nato), nato
    assert "skipped: unsupported type '.png'" in listed["image.png"]
    trash = page.locator("#trash-panel").inner_text()
    assert "empty" in trash and str(ui.root / "seeds-trash") in trash


def test_upload_a_pdf_and_a_docx_ask_remove_and_restore(ui, page, tmp_path):
    make_report(tmp_path / "report.pdf")
    make_docx(tmp_path / "handbook.docx")
    msg = upload(page, [tmp_path / "report.pdf", tmp_path / "handbook.docx"], "answers from the change now")
    assert "Added report.pdf." in msg and "Added handbook.docx." in msg, msg
    assert (ui.seeds / "report.pdf").read_bytes() == (tmp_path / "report.pdf").read_bytes()
    listed = rows(page)
    assert re.search(r"report\.pdf \| pdf \| \d+ KB \| 3 \| \d+ \| .* \| indexed", listed["report.pdf"]), listed
    assert re.search(r"handbook\.docx \| docx \| \d+ KB \|  \| \d+ \| .* \| indexed", listed["handbook.docx"]), listed
    # answerable at once, each citing its file
    reply, _ = ask(page, "Who supplies the lamp oil?")
    assert "Tregarth" in reply and "handbook.docx · line" in reply, reply
    reply, _ = ask(page, "How many passengers did the ferry to Holm Island carry?")
    assert "18,400" in reply and "report.pdf · page 3" in reply, reply

    # Remove asks first: dismissed, nothing happens
    remove = page.locator("#documents-panel button[data-remove='handbook.docx']")
    page.once("dialog", lambda d: d.dismiss())
    remove.click()
    assert "handbook.docx" in rows(page) and (ui.seeds / "handbook.docx").exists()
    # confirmed: into the trash beside the seeds, and no longer cited
    page.once("dialog", lambda d: d.accept())
    remove.click()
    page.wait_for_function("() => document.querySelector('#documents-msg').innerText.includes('Moved handbook.docx to the trash')")
    assert "handbook.docx" not in rows(page) and not (ui.seeds / "handbook.docx").exists()
    assert [p.name for p in (ui.root / "seeds-trash").glob("*/handbook.docx")] == ["handbook.docx"]
    assert "handbook.docx" in page.locator("#trash-panel").inner_text()
    reply, _ = ask(page, "Who supplies the lamp oil?")
    assert "handbook.docx" not in reply, reply
    # restored: back in the folder, cited again
    page.click("#trash-panel button[data-restore]")
    page.wait_for_function("() => document.querySelector('#documents-msg').innerText.includes('Restored handbook.docx')")
    assert "indexed" in rows(page)["handbook.docx"] and "empty" in page.locator("#trash-panel").inner_text()
    reply, _ = ask(page, "Who supplies the lamp oil?")
    assert "Tregarth" in reply and "handbook.docx · line" in reply, reply
    # the same name again is refused, the file in the folder untouched
    msg = upload(page, [{"name": "handbook.docx", "mimeType": "application/octet-stream", "buffer": b"other"}], "Refused")
    assert "already in the seeds folder" in msg and (ui.seeds / "handbook.docx").read_bytes() == (tmp_path / "handbook.docx").read_bytes()


def _files_beside_the_index(ui) -> list[tuple[str, int]]:
    """Every file under the test's root (the seeds folder, its trash, the log aside) except the index's own,
    which a watcher's build may rewrite at any time."""
    return sorted(
        (p.relative_to(ui.root).as_posix(), p.stat().st_size)
        for p in ui.root.rglob("*")
        if p.is_file() and p.relative_to(ui.root).parts[0] not in ("index", "server.log")
    )


def _many_pages_pdf() -> bytes:
    pdf = fpdf.FPDF()
    for _ in range(5001):
        pdf.add_page()
    return bytes(pdf.output())


def test_hostile_uploads_are_refused_and_the_index_keeps_answering(ui, page, tmp_path):
    before, documents = _files_beside_the_index(ui), set(open_version(ui.index).documents)
    octet = "application/octet-stream"
    hostile = {
        "..\\..\\escape.txt": b"A path in the name.",  # Gradio drops the separators: '....escape.txt', a hidden name
        ".bashrc.md": b"A hidden file.",
        "big.txt": b"harbour " * (3 * 2**20 // 8),  # over QA_MAX_FILE_MB
        "bomb.docx": bomb_docx(tmp_path),
        "pages.pdf": _many_pages_pdf(),  # more pages than a PDF may have
        "corrupt.pdf": b"%PDF-1.7\n" + bytes(range(256)) * 20,
        "program.exe": b"MZ\x90\x00",
    }
    msg = upload(page, [{"name": n, "mimeType": octet, "buffer": raw} for n, raw in hostile.items()], "Refused")
    lines = msg.splitlines()
    refused = [line for line in lines if line.startswith("Refused ")]
    assert len(refused) == len(hostile) and not any(line.startswith("Added") for line in lines), msg
    for why in ["starts with '.'", "too large (3 MB > 2 MB", "zip bomb", "5001 pages, more than", "PDF", "unsupported type '.exe'"]:
        assert why in msg, (why, msg)
    assert _files_beside_the_index(ui) == before  # nothing entered the seeds folder or anything beside it
    assert set(open_version(ui.index).documents) == documents  # nor the index
    reply, _ = ask(page, NATO)
    assert "Stoltenberg" in reply and "nato-russia-council.txt · line" in reply


def test_a_path_in_a_name_never_leaves_the_seeds_folder(ui, page):
    """Gradio keeps only the last part of an uploaded file's name; what reaches the seeds folder is that
    part, in the folder's top level (the library refuses a name with a path outright: tests/test_library.py)."""
    name = "escape-route.txt"
    msg = upload(page, [{"name": f"../../{name}", "mimeType": "text/plain", "buffer": b"The escape route is the north stair."}], name)
    assert "Refused" in msg or f"Added {name}." in msg, msg
    assert not (ui.root / name).exists() and not (ui.root.parent / name).exists()
    assert (ui.seeds / name).exists() == ("Added" in msg)
