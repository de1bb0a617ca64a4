"""`qa serve`: the browser chat over the same `QAPipeline` the CLI uses.

One pipeline (models loaded once, at launch) serves every visitor; `pipeline.rebuild()` swaps a
new index version in while questions in flight finish on the old one. Each citation names the
version that answered, so it still highlights the right text after a rebuild. The queue caps how
many questions run at once (`QA_UI_CONCURRENCY`); the rest wait their turn instead of failing.

Each browser tab is a Gradio session with its own conversation (a `gr.State`, never a global), so a
follow-up is read against that tab's earlier turns only; Clear starts a new one.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline: no telemetry or version check

import gradio as gr  # noqa: E402

from qa.documents import scan  # noqa: E402
from qa.errors import DocumentRefused  # noqa: E402
from qa.followup import Turn  # noqa: E402
from qa.indexer import Progress, document_embedder  # noqa: E402
from qa.library import Library  # noqa: E402
from qa.pipeline import BadQuestion, QAPipeline, Result  # noqa: E402
from qa.scope import document_choices  # noqa: E402
from qa.store import IndexBusy, IndexProblem, StoreVersion  # noqa: E402
from qa.ui.render import (  # noqa: E402
    Cite,
    answer_message,
    document_html,
    documents_html,
    documents_message,
    esc,
    index_html,
    md_text,
    sources_html,
    trash_html,
)

if TYPE_CHECKING:
    from gradio.components.chatbot import ExampleMessage

    from qa.watch import Watcher

QUEUE_MAX = 1000
HISTORY_TURNS = 50  # earlier turns a conversation keeps (a tab, or a client's history): bounded memory and time
# Example questions for documents we ship; shown on an empty chat when that document is indexed.
EXAMPLES = {
    "nato-russia-council.txt": ["What did Sherman say?", "Who is the NATO Secretary General?", "When did the meeting begin?"],
}
CSS = """
.qa-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px; margin-bottom: 8px; }
.qa-card-head { display: flex; flex-wrap: wrap; gap: 8px; align-items: baseline; margin-bottom: 4px; }
.qa-cite { font-weight: 600; text-decoration: underline; cursor: pointer; background: none; border: none; padding: 0;
           color: var(--link-text-color); }
.qa-meta { color: var(--body-text-color-subdued); font-size: 0.9em; }
.qa-passage, .qa-doc-text { white-space: pre-wrap; line-height: 1.5; }
.qa-doc-text { max-height: 420px; overflow-y: auto; border: 1px solid var(--border-color-primary); padding: 8px; border-radius: 6px; }
mark { background: #ffd54f; color: #000; padding: 0 2px; border-radius: 3px; cursor: pointer; }
mark.alt { background: #fff3c4; }
.qa-warn { color: #8a5300; background: #fff4e0; border-radius: 6px; padding: 4px 8px; margin-top: 4px; }
.qa-empty { color: var(--body-text-color-subdued); }
.qa-documents { width: 100%; font-size: 0.9em; border-collapse: collapse; }
.qa-documents td, .qa-documents th { padding: 2px 6px; text-align: left; border-bottom: 1px solid var(--border-color-primary); }
.qa-skipped { color: #8a5300; }
"""
CITE_JS = (
    "element.addEventListener('click', (e) => { const c = e.target.closest('[data-cite]');"
    " if (c) trigger('click', {cite: Number(c.dataset.cite)}); });"
)
DOC_EMPTY = '<div class="qa-empty">Click a citation to read the whole document.</div>'
# the Documents panel's buttons: a removal asks first (nothing is lost either way: it goes to the trash)
REMOVE_JS = (
    "element.addEventListener('click', (e) => { const b = e.target.closest('[data-remove]');"
    " if (b && window.confirm('Move ' + b.dataset.remove + ' to the trash? The index stops citing it; the trash can restore it.'))"
    " trigger('click', {remove: b.dataset.remove}); });"
)
RESTORE_JS = (
    "element.addEventListener('click', (e) => { const b = e.target.closest('[data-restore]');"
    " if (b) trigger('click', {restore: b.dataset.restore}); });"
)
SCROLL_JS = "watch('value', () => { const m = element.querySelector('#qa-doc-mark'); if (m) m.scrollIntoView({block: 'center'}); });"


class Server:
    """What every session shares: the one pipeline (its index, seeds folder and rebuilds)."""

    def __init__(self, pipeline: QAPipeline):
        self.pipeline = pipeline
        self.seeds = pipeline.seeds or Path("seeds")
        self.index_location = pipeline.store.location
        self.watcher: Watcher | None = None  # set when the seeds folder is watched
        self.library = Library(self.seeds, pipeline.settings)  # the seeds folder's files: add, remove to a trash, restore
        self._indexing_warm: threading.Thread | None = None
        self.logins = False  # set by launch() when a users file is in force: changes then need the write role
        self.writers: Callable[[str], bool] = lambda name: True

    def check_write(self, request: gr.Request | None) -> None:
        """Rebuilding and changing documents need the write role when logins are on (read users only ask)."""
        name = getattr(request, "username", None) if request is not None else None
        if self.logins and not (name and self.writers(name)):
            raise gr.Error(f"{name or 'this login'} has the read role: rebuilding and changing documents need the write role")

    def prepare(self) -> None:
        """Load the models; build the index first when there is none but the seeds have documents."""
        self.pipeline.reader.warm_up()
        try:
            self.pipeline.warm_up()
            return
        except IndexProblem as e:
            if not self._seed_files():
                print(f"{e}; the app starts without one: {self._how_to_start()}", file=sys.stderr)
                return
        print(f"no index in {self.index_location} yet: building it from {self.seeds}", file=sys.stderr)
        report = self.pipeline.rebuild(progress=lambda m, f: print(f"  {min(f, 1.0):4.0%} {m}", file=sys.stderr))
        print(f"built: {report.summary()}", file=sys.stderr)

    def _seed_files(self) -> int:
        return len(scan(self.seeds)[0]) if self.seeds.is_dir() else 0

    def _how_to_start(self) -> str:
        return (
            f"put .txt, .md, .html, .pdf or .docx files in {self.seeds.resolve()} and click Rebuild index "
            f"(or run `qa index --seeds {self.seeds} --index {self.index_location}`)"
        )

    def index_info(self) -> dict:
        watching: dict[str, str] = {"watch": self.watcher.status.line()} if self.watcher else {}
        try:
            return {**self.pipeline.index_info(), **watching}
        except IndexProblem as e:
            return {"problem": f"No index yet ({e}). To start, {self._how_to_start()}.", **watching}

    def examples(self) -> list[ExampleMessage]:
        try:
            docs = self.pipeline.version.documents
        except IndexProblem:
            return []
        return [{"text": q} for doc, qs in EXAMPLES.items() if doc in docs for q in qs]

    def ask(self, question: str, top_k: int = 5, history: list[dict] | None = None, documents: list[str] | None = None) -> dict:
        """The `qa ask --json` object for a question (the API endpoint); with a history (the earlier
        turns' objects as this returned them), the question is read in its context and the object
        gains `resolved_question`; with documents (patterns, `qa.scope`), it is asked within those only."""
        k = max(1, min(100, int(top_k)))
        try:
            if documents is not None and (not isinstance(documents, list) or not all(isinstance(d, str) for d in documents)):
                raise BadQuestion("documents must be a list of document names, globs or folders")
            turns = None if history is None else turns_from_json(history)
            return self.pipeline(question, top_k=k, history=turns, documents=documents or None).to_json()
        except (BadQuestion, IndexProblem) as e:
            raise gr.Error(str(e)) from None

    def document_choices(self) -> list[str]:
        """What "Ask within" offers: the live version's folders and documents (none without an index)."""
        try:
            return document_choices(self.pipeline.version.documents)
        except IndexProblem:
            return []

    def rebuild(self, progress=None) -> str:
        """Refresh the index from the seeds (incremental) and answer from it at once; returns a summary."""
        progress = progress or (lambda f, desc=None: None)
        try:
            progress(0.0, desc="starting")
            report = self.pipeline.rebuild(progress=lambda m, f: progress(min(f, 1.0), desc=m))
        except (IndexBusy, FileNotFoundError, IndexProblem) as e:
            raise gr.Error(str(e)) from None
        skipped = "".join(f"; skipped {s.path}: {s.reason}" for s in report.skipped)
        return f"Rebuilt: {report.summary()}{skipped}"

    # --- the documents of the seeds folder (the Documents panel; an HTTP API can call these too) ---

    def list_documents(self) -> dict:
        """Every file of the seeds folder joined with what the live index holds of it (kind, size, pages,
        chunks, modified, status, why skipped), and the trash: its folder and its entries, newest first."""
        version: StoreVersion | None
        try:
            version = self.pipeline.version
        except IndexProblem:
            version = None
        return {
            "seeds": str(self.seeds.resolve()),
            "trash": str(self.library.trash),
            "documents": [row.to_json() for row in self.library.documents(version)],
            "trash_entries": [entry.to_json() for entry in self.library.list_trash()],
        }

    def watch_seeds(self) -> None:
        """Rebuild when files in the seeds folder change (`qa serve`, `qa mcp`); messages go to stderr."""
        if self.seeds.is_dir():
            from qa.watch import Watcher

            def on_build(status) -> None:
                print(f"watch: {status.line()}", file=sys.stderr, flush=True)

            self.watcher = Watcher(self.pipeline, on_build=on_build).start()

    @property
    def max_upload_bytes(self) -> int:
        """The most one upload may carry (Gradio's limit, the API's body limit): twice the indexer's file
        limit, so a file just over it is refused by the Documents panel with the reason, not cut off."""
        return 2 * self.pipeline.settings.max_file_bytes

    def warm_up_indexing(self) -> None:
        """Load the document embedder in the background, once, so a first upload does not wait for it (the
        Documents panel calls this when it is opened; a build that starts meanwhile waits for the load)."""
        if self._indexing_warm is None:
            settings = self.pipeline.settings

            def load() -> None:
                try:
                    document_embedder(settings)
                except Exception as e:  # the next build reports it
                    print(f"could not load the document embedder ahead of an upload: {e}", file=sys.stderr)

            self._indexing_warm = threading.Thread(target=load, name="qa-warm-indexing", daemon=True)
            self._indexing_warm.start()

    def add_documents(self, files: Sequence[tuple[str, Path | bytes]], rename: bool = False, progress: Progress | None = None) -> dict:
        """Add each (file name, its path or bytes) to the seeds folder, checked as the indexer reads it
        (a file the limits refuse is listed with the reason and nothing else is touched), then rebuild,
        so the added ones answer when this returns. A taken name is refused, or with `rename` given a
        free "name (2).ext"."""
        added = [self.library.add(name, source, rename) for name, source in files]
        out: dict[str, Any] = {"added": [a.to_json() for a in added]}
        if any(a.ok for a in added):
            out.update(self._rebuild_after_change(progress))
        return out

    def remove_document(self, name: str, progress: Progress | None = None) -> dict:
        """Move document `name` (its id: the path in the seeds folder) to the trash, then rebuild, so it is
        cited no more when this returns. DocumentRefused when there is no such file."""
        entry = self.library.remove(name)
        return {"removed": entry.to_json(), **self._rebuild_after_change(progress)}

    def restore_document(self, entry_id: str, progress: Progress | None = None) -> dict:
        """Put a trash entry back in the seeds folder (as a free "name (2).ext" when its name was taken
        since), then rebuild. DocumentRefused when there is no such entry."""
        name = self.library.restore(entry_id)
        return {"restored": name, **self._rebuild_after_change(progress)}

    def _rebuild_after_change(self, progress: Progress | None) -> dict:
        """Rebuild so a change answers at once. The watcher's build may run too: `pipeline.rebuild` runs
        one at a time, so the second finds nothing left to do. A build that cannot run now leaves the
        change in the folder for the next one, and the live index answering as before."""
        try:
            report = self.pipeline.rebuild(progress=progress)
        except (IndexBusy, IndexProblem, OSError) as e:
            return {"rebuilt": None, "rebuild_error": str(e)}
        return {"rebuilt": report.summary(), "version": report.version, "skipped": {s.path: s.reason for s in report.skipped}}


def turns_from_json(history: object) -> list[Turn]:
    """A client's history (a list of the objects /ask returned) as turns; BadQuestion says what is wrong with it."""
    if not isinstance(history, list):
        raise BadQuestion("history must be a list of the objects /ask returned")
    turns = []
    for n, obj in enumerate(history[-HISTORY_TURNS:], 1):
        if not isinstance(obj, dict) or not isinstance(obj.get("question"), str):
            raise BadQuestion(f"history turn {n} is not an object as /ask returned it (it needs a question)")
        try:
            turns.append(Turn.from_json(obj))
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise BadQuestion(f"history turn {n} is not an object as /ask returned it ({type(e).__name__}: {e})") from None
    return turns


def build_app(server: Server) -> gr.Blocks:
    """The page: chat on the left; index panel, sources and the cited document on the right."""
    with gr.Blocks(title="Ask your documents", analytics_enabled=False) as demo:
        cites = gr.State([])  # citations of the sources panel, by data-cite index
        chat_cites = gr.State({})  # assistant message index -> its citation
        pending = gr.State("")  # the raw question between "show it" and "answer it"
        turns = gr.State([])  # this tab's conversation (list[Turn]): per session, never shared between tabs
        gr.Markdown("## Ask your documents\nAnswers are exact spans of your documents, with their source.")
        with gr.Row():
            with gr.Column(scale=5):
                chatbot = gr.Chatbot(
                    label="Chat",
                    height=520,
                    examples=server.examples() or None,
                    latex_delimiters=[],
                    sanitize_html=True,
                    placeholder="Ask a question about your documents.",
                    feedback_options=None,
                    buttons=["copy", "copy_all"],
                    elem_id="chat",
                )
                question = gr.Textbox(placeholder="Type a question and press Enter", show_label=False, elem_id="question", max_lines=3)
                within = gr.Dropdown(
                    choices=server.document_choices(),
                    value=[],
                    multiselect=True,
                    allow_custom_value=True,  # a glob typed in; and a chosen document that a rebuild removed stays, to fail clearly
                    label="Ask within",
                    info="Empty: every document. Pick documents or folders, or type a glob such as *.pdf",
                    elem_id="ask-within",
                )
                with gr.Row():
                    ask_btn = gr.Button("Ask", variant="primary", elem_id="ask")
                    clear_btn = gr.Button("Clear", elem_id="clear")
                with gr.Accordion("Options", open=False):
                    top_k = gr.Slider(1, 20, value=5, step=1, label="Passages to read (top k)")
            with gr.Column(scale=4):
                with gr.Accordion("Index", open=True):
                    index_panel = gr.HTML(elem_id="index-panel", js_on_load=None)
                    rebuild_btn = gr.Button("Rebuild index", size="sm", elem_id="rebuild")
                    rebuild_msg = gr.Markdown(elem_id="rebuild-msg")
                with gr.Accordion("Documents", open=False, elem_id="documents") as documents_accordion:
                    documents_panel = gr.HTML(elem_id="documents-panel", js_on_load=REMOVE_JS)
                    upload = gr.File(
                        label="Add documents: drop .txt, .md, .html, .pdf or .docx files here, or click to choose",
                        file_count="multiple",
                        elem_id="upload",
                    )
                    documents_msg = gr.Markdown(elem_id="documents-msg")
                    trash_panel = gr.HTML(elem_id="trash-panel", js_on_load=RESTORE_JS)
                gr.Markdown("### Sources")
                sources = gr.HTML(sources_html(None, None)[0], elem_id="sources", js_on_load=CITE_JS)
                document = gr.HTML(DOC_EMPTY, elem_id="document", js_on_load=SCROLL_JS)

        def show_question(q: str, history: list):
            if not q.strip():
                return gr.skip(), history, ""
            return "", [*history, {"role": "user", "content": md_text(q)}], q

        def answer(q: str, history: list, k: float, msg_cites: dict, earlier: list[Turn], docs: list[str] | None):
            if not q:
                return history, gr.skip(), gr.skip(), msg_cites, gr.skip()
            try:
                result: Result = server.pipeline(q, top_k=int(k), history=earlier, documents=docs or None)
            except (BadQuestion, IndexProblem) as e:
                failed = [*history, {"role": "assistant", "content": md_text(f"Cannot answer: {e}")}]
                return failed, gr.skip(), gr.skip(), msg_cites, gr.skip()
            html, found = sources_html(result, lambda doc: server.pipeline.document_text(doc, result.version))
            history = [*history, {"role": "assistant", "content": answer_message(result)}]
            msg_cites = {**msg_cites, len(history) - 1: found[0]} if found and not result.no_answer else msg_cites
            return history, html, found, msg_cites, [*earlier, Turn.of(result)][-HISTORY_TURNS:]

        def open_cite(found: list[Cite], evt: gr.EventData):
            i = (evt._data or {}).get("cite") if isinstance(evt._data, dict) else None
            if not isinstance(i, int) or not 0 <= i < len(found):
                return gr.skip()
            return cited_document(found[i])

        def open_chat_cite(msg_cites: dict, evt: gr.SelectData):
            cite = msg_cites.get(evt.index if isinstance(evt.index, int) else -1)
            return cited_document(cite) if cite else gr.skip()

        def cited_document(cite: Cite) -> str:
            """The document as the index version that answered holds it: offsets stay right after a rebuild."""
            try:
                return document_html(
                    cite,
                    server.pipeline.document_text(cite.document, cite.version),
                    server.pipeline.document_pages(cite.document, cite.version),
                )
            except IndexProblem as e:
                return f'<div class="qa-empty">{esc(e)}</div>'

        def rebuild_clicked(request: gr.Request, progress=gr.Progress()):
            server.check_write(request)
            msg = server.rebuild(progress)
            return index_html(server.index_info()), md_text(msg)

        def documents_view() -> tuple[str, str, str]:
            listing = server.list_documents()
            return documents_html(listing), trash_html(listing), index_html(server.index_info())

        def build_progress(progress: gr.Progress) -> Progress:
            return lambda message, fraction: progress(min(fraction, 1.0), desc=message)

        def upload_files(paths: list[str] | None, request: gr.Request, progress=gr.Progress()):
            """Add the dropped files (Gradio has them in its upload folder), rebuild, and say what became of each."""
            files = [(Path(p).name, Path(p)) for p in paths or []]
            if not files:
                return *documents_view(), gr.skip(), None
            try:
                server.check_write(request)  # a read user's drop: refused, and its copy deleted below
                progress(0.0, desc="checking the files")
                result = server.add_documents(files, progress=build_progress(progress))
            finally:
                for _, path in files:  # the upload's copy: the seeds folder now has the file, or it was refused
                    path.unlink(missing_ok=True)
            return *documents_view(), documents_message(result), None

        def change_clicked(evt: gr.EventData, request: gr.Request, progress=gr.Progress()):
            """A Remove (after the browser's confirmation) or Restore button of the Documents panel."""
            server.check_write(request)
            data = evt._data if isinstance(evt._data, dict) else {}
            name, entry = data.get("remove"), data.get("restore")
            try:
                if isinstance(name, str):
                    result = server.remove_document(name, build_progress(progress))
                elif isinstance(entry, str):
                    result = server.restore_document(entry, build_progress(progress))
                else:
                    return gr.skip(), gr.skip(), gr.skip(), gr.skip()
            except DocumentRefused as e:
                return *documents_view(), md_text(f"Nothing changed: {e}")
            return *documents_view(), documents_message(result)

        private: dict[str, Any] = {"api_visibility": "private"}
        for trigger in (question.submit, ask_btn.click):
            trigger(show_question, [question, chatbot], [question, chatbot, pending], queue=False, **private).then(
                answer, [pending, chatbot, top_k, chat_cites, turns, within], [chatbot, sources, cites, chat_cites, turns], **private
            ).then(lambda: index_html(server.index_info()), None, index_panel, queue=False, **private)

        def pick_example(history: list, evt: gr.SelectData):
            return show_question(evt.value["text"], history)[1:]

        chatbot.example_select(pick_example, [chatbot], [chatbot, pending], **private).then(
            answer, [pending, chatbot, top_k, chat_cites, turns, within], [chatbot, sources, cites, chat_cites, turns], **private
        )
        sources.click(open_cite, [cites], document, **private)
        chatbot.select(open_chat_cite, [chat_cites], document, **private)

        def clear():
            """A new conversation: the chat, its history, the sources and the document panel all start over."""
            return [], sources_html(None, None)[0], [], {}, DOC_EMPTY, []

        cleared = [chatbot, sources, cites, chat_cites, document, turns]
        clear_btn.click(clear, None, cleared, queue=False, **private)
        chatbot.clear(clear, None, cleared, queue=False, **private)
        rebuild_btn.click(rebuild_clicked, None, [index_panel, rebuild_msg], concurrency_limit=1, concurrency_id="rebuild", **private)
        # "Ask within" offers what the index holds now: it follows the index panel (load, rebuilds, the watcher)
        index_panel.change(lambda: gr.Dropdown(choices=server.document_choices()), None, within, queue=False, **private)
        documents_out = [documents_panel, trash_panel, index_panel]
        one_build: dict[str, Any] = {"concurrency_limit": 1, "concurrency_id": "rebuild", **private}  # with Rebuild index
        upload.upload(upload_files, [upload], [*documents_out, documents_msg, upload], **one_build)
        documents_panel.click(change_clicked, None, [*documents_out, documents_msg], **one_build)
        trash_panel.click(change_clicked, None, [*documents_out, documents_msg], **one_build)
        documents_accordion.expand(server.warm_up_indexing, None, None, queue=False, **private)  # an upload may follow
        demo.load(documents_view, None, documents_out, **private)
        if server.watcher is not None:  # the panel follows rebuilds made by the watcher
            gr.Timer(2.0).tick(documents_view, None, documents_out, queue=False, **private)

        def ask(question: str, top_k: int = 5, history: list[dict] | None = None, documents: list[str] | None = None) -> dict:
            """Answer a question from the indexed documents: the same JSON object as `qa ask --json`. With
            `history` (the earlier turns, each the object /ask returned), a follow-up is read in their
            context and the object gains `resolved_question`. With `documents` (paths, file names, globs
            or folders), only those documents are searched and the object names them; a pattern that
            names no document is an error."""
            return server.ask(question, top_k, history, documents)

        def rebuild_index(request: gr.Request) -> str:
            """Refresh the index from the seeds folder and answer from it at once; returns the build summary."""
            server.check_write(request)
            return server.rebuild()

        gr.api(ask, api_name="ask")
        gr.api(rebuild_index, api_name="rebuild", concurrency_limit=1, concurrency_id="rebuild")
    return demo


def launch(
    pipeline: QAPipeline,
    host: str = "127.0.0.1",
    port: int = 7860,
    share: bool = False,
    block: bool = True,
    watch: bool = False,
    users: Path | None = None,
    no_auth: bool = False,
    mcp: bool = False,
):
    """Check who may reach it (logins beyond loopback), load the models once, then serve the page,
    /api and (with `mcp`) /mcp on one server (`qa.ui.server`); `block=False` returns (running, url)."""
    from qa.ui.server import Running, build_server_app, check_exposure, open_users

    t0 = time.perf_counter()
    user_file = open_users(users)
    check_exposure(host, share, user_file, no_auth)  # before the models load: a refusal is immediate
    server = Server(pipeline)
    if user_file is not None:
        server.logins = True
        server.writers = lambda name: bool((u := user_file.get(name)) and u.can_write)
    server.prepare()
    if watch:
        server.watch_seeds()
    demo = build_app(server)
    concurrency = pipeline.settings.concurrency
    demo.queue(default_concurrency_limit=concurrency, max_size=QUEUE_MAX)
    app = build_server_app(
        server,
        demo,
        user_file,
        mcp=mcp,
        host=host,
        ssr_mode=False,
        show_error=False,
        css=CSS,
        footer_links=["api"],
        blocked_paths=[str(server.seeds.resolve()), str(Path(server.index_location).resolve()), str(server.library.trash)],
        max_file_size=server.max_upload_bytes,  # larger uploads stop here; up to it, the Documents panel says why
    )
    running = Running(app, host, port).start()
    url = running.url
    if share:
        running.share()
    logins = f"logins from {user_file.path}" if user_file is not None else "no logins"
    print(
        f"qa serve: ready at {url} in {time.perf_counter() - t0:.1f}s (models loaded, concurrency {concurrency}, {logins}"
        f"{', MCP at ' + url + 'mcp' if mcp else ''}; API docs at {url}api/docs)",
        flush=True,
    )
    if not block:
        return running, url
    running.wait()
    return running, url


__all__ = ["launch", "build_app", "Server", "esc"]
