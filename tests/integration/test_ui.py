"""The browser chat as a person uses it: a real `qa serve` on a free local port, driven by headless
Chromium (Debian's, through Playwright). Documents and questions are hostile where they can be."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_qa, stop_process
from tests.test_scope import DISTRACTOR, DISTRACTOR_TEXT

NO_ANSWER = "The documents don't say."

# Markup and Markdown inside document *text*: must reach every view as inert characters.
VAULT_MD = """# The vault

The vault key is held by the warden Oswin Threlkeld. <img src=x onerror="window.__pwned=5"> <script>window.__pwned=6</script>
[open the vault](javascript:window.__pwned=7) <a href="javascript:window.__pwned=8">details</a> **loud** ![pic](http://example.invalid/x.png)
"""
LOG_HTML = """<html><body><p>The harbour log of 1899 was signed by the clerk Aldous Penhallow.</p>
<p>Margin note: &lt;img src=x onerror="window.__pwned=9"&gt;
&lt;script&gt;window.__pwned=10&lt;/script&gt; [x](javascript:window.__pwned=11)</p>
</body></html>"""
NEW_DOC = "The Brackwater ferry was launched in 1911 by the shipwright Mirela Castagno, who named it after her mother.\n"
HOSTILE_QUESTION = 'Who holds the vault key? <img src=x onerror="window.__pwned=12"> [x](javascript:window.__pwned=13) **bold**'
NATO = "Who is the NATO Secretary General?"
FOLLOW_UP = "What did he say?"  # "he": the person the previous answer named
LIGHTHOUSE = "Who built the lighthouse at Port Elwyn?"  # harbour.html: Thomas Quayle; faq/lighthouse.txt, word for word: another


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """`qa serve` in a subprocess; `launch_s` is the time from start to the page answering HTTP."""

    def __init__(self, seeds: Path, index: Path, log: Path, env: dict | None = None, watch: bool = False, args: tuple[str, ...] = ()):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = log
        t0 = time.perf_counter()
        self.started = t0
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "qa.cli",
                "serve",
                "--seeds",
                str(seeds),
                "--index",
                str(index),
                "--port",
                str(self.port),
                "--watch" if watch else "--no-watch",
                *args,
            ],
            stdout=open(log, "w"),
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})},
        )
        deadline = t0 + 300
        while "ready at" not in log.read_text():
            if self.proc.poll() is not None or time.perf_counter() > deadline:
                self.stop()
                raise RuntimeError(f"qa serve did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        self.launch_s = time.perf_counter() - t0

    def stop(self) -> None:
        stop_process(self.proc)


@pytest.fixture(scope="module")
def ui(seeds_dir, tmp_path_factory):
    """A server over a private copy of the seeds plus hostile files, started with no index (it builds one)."""
    root = tmp_path_factory.mktemp("ui")
    seeds = root / "seeds"
    shutil.copytree(seeds_dir, seeds, symlinks=True)
    (seeds / "vault.md").write_text(VAULT_MD, encoding="utf-8")
    (seeds / "log.html").write_text(LOG_HTML, encoding="utf-8")
    (seeds / DISTRACTOR).parent.mkdir()
    (seeds / DISTRACTOR).write_text(DISTRACTOR_TEXT, encoding="utf-8")  # outscores harbour.html on LIGHTHOUSE
    server = ServerProcess(seeds, root / "index", root / "server.log")
    from gradio_client import Client

    client = Client(server.url, verbose=False)
    first = client.predict("Who is the NATO Secretary General?", 5, api_name="/ask")
    server.first_answer_s = time.perf_counter() - server.started
    server.seeds, server.index, server.client, server.first = seeds, root / "index", client, first
    yield server
    server.stop()


@contextmanager
def chat_page(ui, browser):
    """The page in a browser context of its own (its own cookies and Gradio session: another person)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    outside: list[str] = []
    pg.on("request", lambda r: outside.append(r.url) if not r.url.startswith((ui.url, "data:", "blob:")) else None)
    pg.goto(ui.url, timeout=120_000)
    # the first page load compiles Gradio's front end in a cold browser: slow on a busy 2-core machine
    pg.wait_for_selector("#question textarea", timeout=120_000)
    pg.wait_for_selector("#index-panel .qa-index", timeout=60_000)
    yield pg
    assert pg.evaluate("typeof window.__pwned") == "undefined"
    assert outside == [], f"the page reached outside the server: {outside}"
    context.close()


@pytest.fixture()
def page(ui, browser):
    with chat_page(ui, browser) as pg:
        yield pg


def bot_messages(pg) -> list[str]:
    return pg.locator("#chat [data-testid='bot']").all_inner_texts()


def send(pg, question: str) -> int:
    """Type a question and press Enter without waiting for the reply; returns how many replies came before."""
    n = len(bot_messages(pg))
    pg.fill("#question textarea", question)
    pg.press("#question textarea", "Enter")
    return n


def reply_after(pg, n: int) -> str:
    """Wait for reply number n + 1 and return its text."""
    pg.wait_for_function(
        """n => { const m = document.querySelectorAll('#chat [data-testid="bot"]');
                 return m.length > n && /confidence|documents don't say|Cannot answer/.test(m[m.length - 1].innerText); }""",
        arg=n,
        timeout=120_000,
    )
    return bot_messages(pg)[-1]


def ask(pg, question: str) -> tuple[str, float]:
    """Type a question, press Enter, wait for the reply; returns (reply text, seconds)."""
    t0 = time.perf_counter()
    reply = reply_after(pg, send(pg, question))
    return reply, time.perf_counter() - t0


def understood(reply: str) -> str:
    """The reply's "Understood as: ..." line ("" when the question was read as typed)."""
    return next((line for line in reply.splitlines() if line.startswith("Understood as: ")), "")


def test_answer_with_highlighted_source_and_citation(ui, page):
    q = "Who is the NATO Secretary General?"
    reply, first_s = ask(page, q)
    api = ui.client.predict(q, 5, api_name="/ask")
    assert not api["no_answer"] and "Stoltenberg" in api["answers"][0]["text"], api
    top = api["answers"][0]
    # the chat shows the span, a confidence and `document · line N`
    assert " ".join(top["text"].split()) in reply and "confidence" in reply
    assert f"{top['document']} · line {top['line']}" in reply
    # the sources panel marks exactly the answers' spans
    marks = page.locator("#sources mark:not(.alt)").all_inner_texts()
    assert sorted(marks) == sorted(a["text"] for a in api["answers"]) and top["text"] in marks
    assert f"characters {top['start']}–{top['end']}" in page.locator("#sources").inner_text()
    # clicking the citation opens the full document with the span marked and scrolled into view
    page.locator("#sources .qa-cite").first.click()
    page.wait_for_selector("#document #qa-doc-mark")
    assert page.locator("#document #qa-doc-mark").inner_text() == top["text"]
    page.wait_for_function(
        """() => { const m = document.querySelector('#qa-doc-mark'), c = m.closest('.qa-doc-text');
                  const a = m.getBoundingClientRect(), b = c.getBoundingClientRect();
                  return a.top >= b.top - 1 && a.bottom <= b.bottom + 1; }"""
    )
    doc_text = page.locator("#document .qa-doc-text").inner_text()
    assert "Sherman" in doc_text and len(doc_text) > 3 * len(top["passage"])
    # a follow-up (warm) keeps the history, and the page says what the API says
    two_places = "Which countries could get NATO combat units?"  # asks for several: the Baltic republics and Poland, Romania and Bulgaria
    reply, warm_s = ask(page, two_places)
    several = ui.client.predict(two_places, 5, api_name="/ask")
    assert not several["no_answer"] and len(several["answers"]) >= 2, several
    assert sorted(page.locator("#sources mark:not(.alt)").all_inner_texts()) == sorted(a["text"] for a in several["answers"])
    for a in several["answers"]:  # every answer, with its citation
        assert " ".join(a["text"].split()) in reply and f"{a['document']} · line {a['line']}" in reply
    users = page.locator("#chat [data-testid='user']").all_inner_texts()
    assert users == [q, two_places]
    assert len(bot_messages(page)) == 2
    timings = {
        "launch_to_ready_s": round(ui.launch_s, 2),
        "launch_to_first_answer_s": round(ui.first_answer_s, 2),
        "first_ui_answer_s": round(first_s, 2),
        "warm_ui_answer_s": round(warm_s, 2),
        "note": "server started with no index: ready time includes building it",
    }
    print("\nUI timings (see bench/ for measured figures):", timings)


def test_unanswerable_question_says_so_and_offers_passages(page):
    reply, _ = ask(page, "What is the boiling point of mercury?")
    assert reply.startswith(NO_ANSWER)
    assert page.locator("#sources .qa-card").count() >= 1  # the closest passages, offered anyway
    assert page.locator("#sources mark:not(.alt)").count() == 0  # nothing is presented as the answer


def test_hostile_documents_and_questions_stay_inert(page):
    ask(page, HOSTILE_QUESTION)
    user = page.locator("#chat [data-testid='user']").last.inner_text()
    assert '<img src=x onerror="window.__pwned=12">' in user and "[x](javascript:" in user and "**bold**" in user
    reply, _ = ask(page, "Who holds the vault key?")
    assert "Threlkeld" in reply and "vault.md" in reply
    sources = page.locator("#sources").inner_text()
    assert 'onerror="window.__pwned=5"' in sources and "[open the vault](javascript:" in sources
    page.locator("#sources .qa-cite").first.click()
    page.wait_for_selector("#document #qa-doc-mark")
    assert "<script>window.__pwned=6</script>" in page.locator("#document").inner_text()
    ask(page, "Who signed the harbour log of 1899?")
    assert "Penhallow" in bot_messages(page)[-1]
    page.locator("#sources .qa-cite").first.click()
    page.wait_for_function("() => document.querySelector('#document').innerText.includes('__pwned=9')")
    assert '<img src=x onerror="window.__pwned=9">' in page.locator("#document").inner_text()
    # nothing from a document or a question became an element, a link or a script
    for selector in ["#chat img", "#sources img", "#document img", "a[href^='javascript']", "#sources script", "#document script"]:
        assert page.locator(selector).count() == 0, selector
    assert page.evaluate("typeof window.__pwned") == "undefined"


def test_examples_clear_and_chat_citation(page):
    example = page.get_by_text("When did the meeting begin?", exact=True)
    example.click()
    page.wait_for_function("() => /confidence|documents don't say/.test(document.querySelector('#chat').innerText)", timeout=120_000)
    assert len(bot_messages(page)) == 1
    page.locator("#chat [data-testid='bot']").last.click()  # the chat message's citation opens the document too
    page.wait_for_selector("#document #qa-doc-mark")
    page.click("#clear")
    page.wait_for_function("() => document.querySelectorAll('#chat [data-testid=\"bot\"]').length === 0")
    assert "appear here" in page.locator("#sources").inner_text()
    assert page.get_by_text("When did the meeting begin?", exact=True).is_visible()  # examples are back


def test_api_returns_the_cli_json(ui):
    for q in ["What did Sherman say?", "What is the boiling point of mercury?"]:
        api = ui.client.predict(q, 5, api_name="/ask")
        r = run_qa("ask", q, "--json", "--seeds", str(ui.seeds), "--index", str(ui.index))
        assert r.returncode == 0, r.stderr
        assert api == json.loads(r.stdout)
    assert ui.first["answers"] and "Stoltenberg" in ui.first["answers"][0]["text"]
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="no letters or digits"):
        ui.client.predict("?!", 5, api_name="/ask")


@pytest.mark.parametrize(
    "path",
    [
        "/file=../../etc/passwd",
        "/gradio_api/file=../../etc/passwd",
        "/gradio_api/file=../../../../../../etc/passwd",
        "/gradio_api/file=%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/gradio_api/file=/etc/passwd",
        "/file=/etc/passwd",
        "/gradio_api/file={seeds}/vault.md",
        "/gradio_api/file={root}/pyproject.toml",
        "/gradio_api/file={index}/CURRENT",
        "/static/../../../../etc/passwd",
        "/assets/..%2f..%2f..%2f..%2fetc/passwd",
    ],
)
def test_server_refuses_paths_outside_what_it_serves(ui, path):
    path = path.format(seeds=ui.seeds, root=ROOT, index=ui.index)
    conn = http.client.HTTPConnection("127.0.0.1", ui.port, timeout=30)
    conn.request("GET", path)  # sent as written: no client-side normalisation of ../
    resp = conn.getresponse()
    body = resp.read().decode("utf-8", "replace")
    conn.close()
    assert resp.status in (400, 403, 404), (resp.status, body[:200])
    assert "root:" not in body and "Threlkeld" not in body and "[project]" not in body


def test_rebuild_picks_up_a_new_document_without_restart(ui, page):
    (ui.seeds / "notes" / "ferry.txt").write_text(NEW_DOC, encoding="utf-8")
    page.reload()
    page.wait_for_selector("#index-panel .qa-warn")  # the panel says the seeds changed
    assert "1 added" in page.locator("#index-panel").inner_text()
    page.click("#rebuild")
    page.wait_for_function("() => document.querySelector('#rebuild-msg').innerText.includes('Rebuilt')", timeout=240_000)
    assert "+1 added" in page.locator("#rebuild-msg").inner_text()
    assert page.locator("#index-panel .qa-warn").count() == 0
    reply, _ = ask(page, "Who launched the Brackwater ferry?")
    assert "Castagno" in reply and "notes/ferry.txt · line 1" in reply  # the answer or, if unsure, the closest guess
    assert page.locator("#sources .qa-cite").first.inner_text() == "notes/ferry.txt · line 1"


def test_starts_without_index_and_says_how(tmp_path):
    """No index and an empty seeds folder: the app still comes up and tells the person what to do."""
    from qa.pipeline import QAPipeline
    from qa.ui.app import Server, build_app
    from qa.ui.render import index_html

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    server = Server(QAPipeline(tmp_path / "index", seeds))
    server.prepare()
    panel = index_html(server.index_info())
    assert "No index yet" in panel and "put .txt, .md, .html, .pdf or .docx files in" in panel and str(seeds) in panel
    assert build_app(server) is not None and server.examples() == []


def test_citation_of_an_earlier_answer_still_marks_its_text_after_a_rebuild(ui, page):
    """The answer on screen came from one index version; the document is then edited and the index
    rebuilt. Its citation must open the text that answered, not other characters of the new text."""
    reply, _ = ask(page, "Who holds the vault key?")
    assert "Threlkeld" in reply
    api = ui.client.predict("Who holds the vault key?", 5, api_name="/ask")
    top = api["answers"][0]
    vault = ui.seeds / "vault.md"
    original = vault.read_text(encoding="utf-8")
    try:
        vault.write_text("# Preface\n\nA new first paragraph moves every later character of this file.\n\n" + original, encoding="utf-8")
        assert "+0 added, 1 changed" in ui.client.predict(api_name="/rebuild")
        page.locator("#sources .qa-cite").first.click()  # the citation of the answer shown before the rebuild
        page.wait_for_selector("#document #qa-doc-mark")
        assert page.locator("#document #qa-doc-mark").inner_text() == top["text"]
        assert f"characters {top['start']}–{top['end']}" in page.locator("#document").inner_text()
        new = ui.client.predict("Who holds the vault key?", 5, api_name="/ask")["answers"][0]  # and a new answer cites the new text
        # the same answer, perhaps with other boundaries now that its passage reads differently, further on
        assert "Threlkeld" in new["text"] and new["start"] > top["start"]
    finally:
        vault.write_text(original, encoding="utf-8")
        ui.client.predict(api_name="/rebuild")


def test_two_tabs_chat_at_once_each_with_its_own_conversation(ui, browser):
    """Two people (two browser contexts) on one server, asking at the same time: each follow-up is
    read against its own tab's conversation, never the other's; Clear starts one tab over alone."""
    with chat_page(ui, browser) as a, chat_page(ui, browser) as b:
        na, nb = send(a, NATO), send(b, "Who holds the vault key?")  # both in flight at once
        first_a, first_b = reply_after(a, na), reply_after(b, nb)
        assert "Stoltenberg" in first_a and "Threlkeld" in first_b
        assert not understood(first_a) and not understood(first_b)  # a first turn is read as typed
        # the same words in both tabs at once: "he" is whoever that tab's conversation named
        na, nb = send(a, FOLLOW_UP), send(b, FOLLOW_UP)
        said_a, said_b = understood(reply_after(a, na)), understood(reply_after(b, nb))
        assert "Stoltenberg" in said_a and "Threlkeld" not in said_a, said_a
        assert "Threlkeld" in said_b and "Stoltenberg" not in said_b, said_b
        assert a.locator("#chat [data-testid='user']").all_inner_texts() == [NATO, FOLLOW_UP]
        # Clear in one tab: a new conversation there, the same words now read as typed...
        a.click("#clear")
        a.wait_for_function("() => document.querySelectorAll('#chat [data-testid=\"bot\"]').length === 0")
        na, nb = send(a, FOLLOW_UP), send(b, FOLLOW_UP)
        assert not understood(reply_after(a, na))
        # ...while the other tab's conversation goes on
        assert "Threlkeld" in understood(reply_after(b, nb))


def test_api_holds_a_conversation_when_given_the_history(ui):
    """/ask with the earlier objects it returned reads a follow-up in their context; without a history
    it answers as it always did."""
    plain = ui.client.predict(NATO, 5, api_name="/ask")
    assert "resolved_question" not in plain
    first = ui.client.predict(NATO, 5, [], api_name="/ask")
    assert first == {**plain, "resolved_question": NATO}
    follow = ui.client.predict(FOLLOW_UP, 5, [first], api_name="/ask")
    assert follow["question"] == FOLLOW_UP and "Stoltenberg" in follow["resolved_question"], follow
    # the history may hold the objects of calls made without one (no resolved_question), by keyword too
    assert ui.client.predict(question=FOLLOW_UP, top_k=5, history=[plain], api_name="/ask") == follow
    from gradio_client.exceptions import AppError

    for bad in ([{"answers": []}], [{"question": 3}]):
        with pytest.raises(AppError, match="history turn 1"):
            ui.client.predict(FOLLOW_UP, 5, bad, api_name="/ask")


def test_understood_as_shows_under_the_answer_escaped():
    """How a follow-up was read is shown under the answer, as inert text like everything else."""
    from qa.pipeline import Result
    from qa.schema import Answer
    from qa.ui.render import answer_message

    answer = Answer("Jens Stoltenberg", 0.91, "nato.txt", 0, 16, "Jens Stoltenberg", 0)
    answer.line = 1
    result = Result(FOLLOW_UP, False, [answer], warnings=["a warning"])
    assert "Understood as" not in answer_message(result)
    result.resolved_question = FOLLOW_UP  # read as typed: nothing to show
    assert "Understood as" not in answer_message(result)
    result.resolved_question = 'What did <img src=x onerror="alert(1)"> [x](javascript:alert(2)) say?'
    message = answer_message(result)
    assert message == (
        "**Jens Stoltenberg**\n\nconfidence 0.91 · nato&#46;txt · line 1"
        "\n\n*Understood as: What did &#60;img src&#61;x onerror&#61;&#34;alert&#40;1&#41;&#34;&#62; "
        "&#91;x&#93;&#40;javascript&#58;alert&#40;2&#41;&#41; say&#63;*"
        "\n\n*a warning*"
    )


def test_ask_within_one_document_past_a_better_scoring_distractor(ui, page):
    """faq/lighthouse.txt asks LIGHTHOUSE word for word and names another builder, so asked of every
    document it wins; picked in "Ask within", harbour.html answers. A filter naming nothing says so,
    and the choices follow the index."""
    everywhere = ui.client.predict(LIGHTHOUSE, 5, api_name="/ask")
    assert everywhere["answers"][0]["document"] == DISTRACTOR and "documents" not in everywhere, everywhere
    page.locator("#ask-within input").click()
    page.locator("#ask-within [data-testid='dropdown-option'][aria-label='harbour.html']").click()
    page.keyboard.press("Escape")
    assert page.locator("#ask-within .token").all_inner_texts() == ["harbour.html"]
    reply, _ = ask(page, LIGHTHOUSE)
    within = ui.client.predict(LIGHTHOUSE, 5, None, ["harbour.html"], api_name="/ask")  # the API, the same filter
    assert within["documents"] == ["harbour.html"] and "Quayle" in within["answers"][0]["text"], within
    assert within["answers"][0]["text"] in reply and "harbour.html · line" in reply and DISTRACTOR not in reply
    cites = page.locator("#sources .qa-cite").all_inner_texts()
    assert cites and all(c.startswith("harbour.html") for c in cites)  # every passage shown is from the chosen document
    # a glob typed in that names no document: an error in the chat, never an answer from everything
    page.locator("#ask-within input").fill("*.docx")
    page.locator("#ask-within input").press("Enter")
    reply, _ = ask(page, LIGHTHOUSE)
    assert reply.startswith("Cannot answer: no document matches '*.docx'; the index holds") and "harbour.html" in reply
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="no document matches 'nope.txt'"):
        ui.client.predict(LIGHTHOUSE, 5, None, ["nope.txt"], api_name="/ask")
    # a document added and rebuilt from the page is offered at once
    keepers = ui.seeds / "faq" / "keepers.txt"
    keepers.write_text("The last keeper of the Port Elwyn light was Agnes Penrose, until 1962.\n", encoding="utf-8")
    try:
        page.click("#rebuild")
        page.wait_for_function("() => document.querySelector('#rebuild-msg').innerText.includes('Rebuilt')", timeout=240_000)
        page.locator("#ask-within input").click()
        page.wait_for_selector("#ask-within [data-testid='dropdown-option'][aria-label='faq/keepers.txt']")
    finally:
        keepers.unlink()


def test_a_scanned_pdf_is_answered_with_its_page_and_the_page_view_marks_the_ocr_text(ui, page, tmp_path):
    """Pages with no text layer, read by OCR (the ocr extra), cited and shown like any PDF page's text."""
    pytest.importorskip("rapidocr")
    from tests.pdf_docx_fixture import make_scanned_report

    scan = ui.seeds / "scan.pdf"
    make_scanned_report(scan, tmp_path, pages=(2, 3), keep_text=False)  # two scanned pages: the table, the two columns
    try:
        assert "+1 added" in ui.client.predict(api_name="/rebuild")
        reply, _ = ask(page, "How many passengers did the ferry to Holm Island carry?")
        assert "18,400" in reply and "scan.pdf · page 2 · line" in reply, reply
        page.locator("#sources .qa-cite").first.click()
        page.wait_for_selector("#document #qa-doc-mark")
        assert "18,400" in page.locator("#document #qa-doc-mark").inner_text()
        shown = page.locator("#document .qa-doc-text").inner_text()
        assert "Passenger services" in shown and "4.2 million pounds" not in shown  # the cited page's recognised text, not page 1's
    finally:
        scan.unlink()
        ui.client.predict(api_name="/rebuild")
