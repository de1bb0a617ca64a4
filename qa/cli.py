"""`qa`: a thin command line over the library (index, ask, chat, eval, serve, users, mcp).

Training is not part of the product's CLI: every training tool runs as `python -m qa.train.<tool>`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from qa.errors import FAILURE, USAGE, BadQuestion, MissingPath, QAError
from qa.settings import Settings


def _seeds_option(f):
    f = click.option("--reseed", is_flag=True, help="Rebuild an existing index from another --seeds folder than its own.")(f)
    return click.option(
        "--seeds",
        type=click.Path(path_type=Path),
        default=lambda: Settings.env_value("seeds"),
        show_default="the index's own folder; ./seeds for a new index; or $QA_SEEDS",
        help="Folder of documents.",
    )(f)


def _index_option(f):
    return click.option(
        "--index",
        "--store",
        "index_dir",
        show_default="./index, or $QA_STORE / $QA_INDEX",
        default=lambda: Settings.env_text("index") or "index",
        help="Where the index lives: a folder, or milvus://HOST:PORT[/NAME] for a Milvus server (the scale extra).",
    )(f)


class QAGroup(click.Group):
    """Turns known failures (`QAError`, a missing file) into one-line messages and their exit
    codes; anything else into its type and first line, exit 1; --debug shows tracebacks."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except (QAError, FileNotFoundError, NotADirectoryError) as e:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"Error: {e}", err=True)
            ctx.exit(e.exit_code if isinstance(e, QAError) else USAGE)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(130)
        except Exception as e:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            first_line = (str(e).strip().splitlines() or [""])[0]  # native libraries raise pages of text
            click.echo(f"Error: {type(e).__name__}: {first_line} (run with --debug for details)", err=True)
            ctx.exit(FAILURE)


@click.group(cls=QAGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.version_option(package_name="qa-docs")
@click.pass_context
def cli(ctx, debug):
    """Ask questions of your documents; answers are exact, cited spans."""
    ctx.obj = {"debug": debug}


def _pipeline(seeds: Path | None, index_dir: str, reseed: bool, must_exist: bool = False):
    """The pipeline over the index, with the seeds folder it remembers (or the one given)."""
    from qa.backends import open_store
    from qa.pipeline import QAPipeline, choose_seeds

    settings = Settings.from_env(index=None if "://" in index_dir else Path(index_dir))
    store = open_store(index_dir, settings)
    chosen = choose_seeds(store, seeds, reseed, default=settings.seeds)
    if must_exist and not chosen.is_dir():
        raise MissingPath(f"seeds folder {chosen} does not exist (pass --seeds DIR or set QA_SEEDS)")
    return QAPipeline(store, chosen, settings=settings)


@cli.command()
@_seeds_option
@_index_option
@click.option("--full", is_flag=True, help="Re-embed everything instead of only what changed.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--watch", is_flag=True, help="Then keep watching the seeds folder and rebuild on every change (Ctrl-C stops).")
@click.option(
    "--ray",
    "ray_address",
    is_flag=False,
    flag_value="local",
    default=None,
    metavar="[ADDRESS]",
    help="Embed on a Ray cluster (HOST:PORT; no address: a local Ray). Needs the scale extra.",
)
@click.option("--ray-workers", type=click.IntRange(0), default=0, help="Ray embedding workers (0: one per CPU of the cluster).")
def index(
    seeds: Path | None, reseed: bool, index_dir: str, full: bool, quiet: bool, watch: bool, ray_address: str | None, ray_workers: int
):
    """Build or refresh the index from its seeds folder."""
    from qa.indexer import build_index

    embed = None
    if ray_address:
        from importlib.util import find_spec

        if watch:
            raise click.UsageError("--ray builds once; it does not combine with --watch")
        if find_spec("ray") is None:
            raise click.UsageError("--ray needs the scale extra: pip install 'qa-docs[scale]'")
    pipeline = _pipeline(seeds, index_dir, reseed, must_exist=True)
    if ray_address:
        from qa.distributed import RayEmbedder
        from qa.embedder import EmbedderSpec

        embed = RayEmbedder(ray_address, workers=ray_workers, spec=EmbedderSpec.choose(pipeline.settings.embedder))
    report = build_index(
        pipeline.store, pipeline.seeds, pipeline.settings, full=full, show_progress_bar=not quiet and sys.stderr.isatty(), embed=embed
    )
    _print_report(report)
    if watch:
        from qa.watch import Watcher

        def report_build(status):
            if status.state == "failed":
                click.echo(f"error: {status.last_error}", err=True)
            else:
                click.echo(f"rebuilt: {status.last_summary}")
                for line in status.skipped:
                    click.echo(f"skipped {line}", err=True)
            sys.stdout.flush()

        Watcher(pipeline, on_build=report_build, on_ready=lambda: click.echo(f"watching {pipeline.seeds} (Ctrl-C stops)", err=True)).run()


def _print_report(report) -> None:
    for s in report.skipped:
        click.echo(f"skipped {s.path}: {s.reason}", err=True)
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(report.summary())


def _doc_option(f):
    return click.option(
        "--doc",
        "docs",
        multiple=True,
        metavar="PATTERN",
        help="Ask within these documents only: a path under the seeds folder, a file name, a glob ('*.pdf') "
        "or a folder ('notes/'); repeatable. A pattern that names no document is an error.",
    )(f)


def _rebuild_or_warn(pipeline, rebuild: bool) -> list[str]:
    changes = pipeline.stale()
    if not changes.any:
        return []
    if rebuild:
        report = pipeline.rebuild()
        click.echo(f"rebuilt index: {report.summary()}", err=True)
        return []
    return [
        f"the index is out of date ({changes.summary()} since it was built); answers come from the indexed "
        f"text. Run `qa index` or pass --rebuild."
    ]


def _marked_passage(a) -> str:
    rel_s, rel_e = a.start - a.passage_start, a.end - a.passage_start
    marked = a.passage[:rel_s] + click.style("[[" + a.passage[rel_s:rel_e] + "]]", fg="yellow", bold=True) + a.passage[rel_e:]
    return "      " + marked.replace("\n", "\n      ")


@cli.command()
@click.argument("question")
@_seeds_option
@_index_option
@click.option("--top-k", type=click.IntRange(1, 100), default=Settings.top_k, show_default=True, help="Passages to read.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--rebuild", is_flag=True, help="Refresh the index first if the seeds changed.")
@_doc_option
def ask(question: str, seeds: Path | None, reseed: bool, index_dir: str, top_k: int, as_json: bool, rebuild: bool, docs: tuple[str, ...]):
    """Answer QUESTION from the indexed documents: every answer the documents give, best first."""
    from qa.pipeline import clean_question

    clean_question(question)  # bad input fails before any model loads
    pipeline = _pipeline(seeds, index_dir, reseed)
    pipeline.warm_up()
    warnings = _rebuild_or_warn(pipeline, rebuild)
    result = pipeline(question, top_k=top_k, documents=docs or None)
    result.warnings = warnings + result.warnings
    for w in result.warnings:
        click.echo(f"warning: {w}", err=True)
    _print_result(result, as_json)


def _print_result(result, as_json: bool) -> None:
    """A result as `qa ask` prints it: one JSON object, or the answers with their citations and passages."""
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=not _unicode_stdout()))
        return
    if result.no_answer:
        click.echo("The documents don't say.")
        if result.answers:
            a = result.answers[0]
            where = f"{a.document}:{a.line}" if a.page is None else f"{a.document}:page {a.page}, line {a.line}"
            click.echo(f"(closest guess, confidence {a.score:.2f}: {a.text!r} in {where})")
        return
    for n, a in enumerate(result.answers, 1):
        if n > 1:
            click.echo()
        click.echo(f"{n}. " + click.style(a.text, bold=True) + f"  (confidence {a.score:.2f})")
        where = f"{a.document}:{a.line}" if a.page is None else f"{a.document}:page {a.page}, line {a.line}"
        click.echo(f"   {where}  [characters {a.start}-{a.end}]")
        click.echo(_marked_passage(a))


CHAT_TURNS = 50  # earlier turns a conversation keeps (a long scripted chat stays bounded in memory and time)
CHAT_HELP = "Ask a question; follow-ups are read in the context of the earlier ones. /new starts over, /quit (or Ctrl-D) exits."


@cli.command()
@_seeds_option
@_index_option
@click.option("--top-k", type=click.IntRange(1, 100), default=Settings.top_k, show_default=True, help="Passages to read.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Read one question per stdin line; print one JSON object per line (the `qa ask --json` object plus resolved_question).",
)
@click.option("--rebuild", is_flag=True, help="Refresh the index first if the seeds changed.")
@_doc_option
def chat(seeds: Path | None, reseed: bool, index_dir: str, top_k: int, as_json: bool, rebuild: bool, docs: tuple[str, ...]):
    """A conversation with the documents: each question is read in the context of the earlier ones
    ("Does zip have one too?"), and the answer says how it was understood when that differs.
    /new starts a new conversation; /quit or Ctrl-D ends it. With --doc, within those documents only."""
    from qa.followup import Turn

    if hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(errors="replace")  # a stray byte in a piped file is a character, not a crash
    interactive = sys.stdin.isatty() and not as_json
    pipeline = _pipeline(seeds, index_dir, reseed)
    pipeline.warm_up()
    stale = _rebuild_or_warn(pipeline, rebuild)
    for w in stale:
        click.echo(f"warning: {w}", err=True)
    pipeline.within(docs)  # a --doc that names no document ends the chat before it starts
    if interactive:
        _line_editing()
        click.echo(CHAT_HELP, err=True)
    history: list[Turn] = []
    for line in _chat_lines("> " if interactive else None):
        text = line.strip()
        command = text.lower() if text.startswith("/") and text[1:].isalpha() else None
        if not text:
            continue
        if command in ("/quit", "/exit"):
            break
        if command == "/new":
            history = []
            if not as_json:
                click.echo("(a new conversation)")
            continue
        if command is not None:
            click.echo(f"unknown command {text}: /new starts a new conversation, /quit exits", err=True)
            continue
        try:
            result = pipeline(text, top_k=top_k, history=history, documents=docs or None)
        except BadQuestion as e:
            if as_json:  # one line out for each question in, so a client reading replies stays in step
                click.echo(json.dumps({"question": text, "error": str(e)}, ensure_ascii=not _unicode_stdout()))
            click.echo(f"Error: {e}", err=True)
            continue
        except KeyboardInterrupt:
            if not interactive:
                raise
            click.echo("(interrupted)", err=True)
            continue
        history = [*history, Turn.of(result)][-CHAT_TURNS:]
        for w in result.warnings:
            click.echo(f"warning: {w}", err=True)
        result.warnings = stale + result.warnings
        if not as_json and result.resolved_question and result.resolved_question != result.question:
            click.echo(click.style("Understood as: ", dim=True) + result.resolved_question)
        _print_result(result, as_json)
        if not as_json:
            click.echo()  # a blank line between turns


def _line_editing() -> None:
    """Line editing and in-session history for `input()` (stdlib readline; absent on some platforms)."""
    try:
        import readline
    except ImportError:
        return
    readline.set_completer(lambda text, state: None)  # Tab completes nothing, not file names


def _chat_lines(prompt: str | None):
    """The chat's input lines: `input(prompt)` at a terminal (Ctrl-C drops the line, Ctrl-D ends),
    else stdin read line by line as it arrives."""
    while True:
        if prompt is None:
            line = sys.stdin.readline()
            if not line:
                return
            yield line
            continue
        try:
            yield input(prompt)
        except EOFError:
            click.echo()
            return
        except KeyboardInterrupt:
            click.echo()


@cli.command(name="eval")
@click.argument("questions_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--reader-only", is_flag=True, help="SQuAD files: read each question against its own paragraph.")
@click.option("--limit", type=int, default=0, help="Evaluate a fixed random sample of N questions.")
@click.option("--top-k", type=click.IntRange(1, 100), default=Settings.top_k, show_default=True)
@click.option(
    "--index",
    "index_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where to build/keep the index (SQuAD: of the file's paragraphs, default a cache folder; "
    "a question set: of --seeds, default ./index or $QA_INDEX).",
)
@click.option("--seeds", type=click.Path(path_type=Path), default=None, help="A question set's documents folder.")
@click.option("--reader", "reader_dir", type=click.Path(path_type=Path), default=None, help="Reader model folder.")
@click.option(
    "--predictions",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help='Write one JSON line per question: {"id", "answer", "confidence", "no_answer"} (the best answer even when abstaining).',
)
@click.option("--json", "as_json", is_flag=True, help="The report as JSON, with the expected calibration error.")
def eval_cmd(questions_file, reader_only, limit, top_k, index_dir, seeds, reader_dir, predictions, as_json):
    """Official SQuAD EM/F1 (v1.1 rules, or v2.0 when the file has is_impossible), or a question set
    over your own documents (a .jsonl file: one {"id", "question", "answers", "document"} a line)."""
    from qa.evaluate import ask_questions, evaluate_open, evaluate_reader, load_question_set, set_metrics, write_predictions

    if questions_file.suffix == ".jsonl":
        questions = load_question_set(questions_file)
        pipe = _pipeline(seeds, str(index_dir or Settings.env_text("index") or "index"), reseed=False, must_exist=True)
        pipe.rebuild(show_progress_bar=not as_json)
        rows = ask_questions(pipe, questions[:limit] if limit else questions, top_k, progress=not as_json)
        report = {"file": str(questions_file), "mode": "question set", **set_metrics(rows)}
    elif reader_only:
        rows = []
        report = evaluate_reader(questions_file, limit=limit, reader_dir=reader_dir, progress=not as_json, rows=rows)
    else:
        rows = []
        report = evaluate_open(
            questions_file, limit=limit, top_k=top_k, index_dir=index_dir, reader_dir=reader_dir, progress=not as_json, rows=rows
        )
    if predictions:
        write_predictions(rows, predictions)
    if as_json:
        click.echo(json.dumps(report, indent=1))
    else:
        report.pop("reliability", None)
        report.pop("ece", None)
        for k, v in report.items():
            click.echo(f"{k}: {json.dumps(v)}")


def _users_option(f):
    return click.option(
        "--users",
        "users_file",
        type=click.Path(path_type=Path, dir_okay=False),
        default=lambda: Settings.env_value("users"),
        show_default="$QA_USERS",
        help="The users file (names, roles, password and token hashes); `qa users add` creates it.",
    )(f)


@cli.command()
@_seeds_option
@_index_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on; beyond loopback it needs --users.")
@click.option("--port", type=int, default=7860, show_default=True)
@click.option("--share", is_flag=True, help="Ask Gradio for a public share link (off by default; needs --users).")
@click.option("--watch/--no-watch", default=True, show_default=True, help="Rebuild when files in the seeds folder change.")
@_users_option
@click.option("--no-auth", is_flag=True, help="Serve beyond loopback without logins anyway (a warning is printed).")
@click.option("--mcp", is_flag=True, help="Also serve MCP at /mcp (streamable HTTP; the mcp extra).")
def serve(
    seeds: Path | None,
    reseed: bool,
    index_dir: str,
    host: str,
    port: int,
    share: bool,
    watch: bool,
    users_file: Path | None,
    no_auth: bool,
    mcp: bool,
):
    """Serve the browser chat, the HTTP API (/api) and optionally MCP (/mcp)."""
    from qa.ui.app import launch
    from qa.ui.server import check_exposure, open_users

    if users_file is not None and no_auth:
        raise click.UsageError("--users and --no-auth contradict each other: pick one")
    check_exposure(host, share, open_users(users_file), no_auth, warn=False)  # a refusal comes before the index opens
    launch(_pipeline(seeds, index_dir, reseed), host=host, port=port, share=share, watch=watch, users=users_file, no_auth=no_auth, mcp=mcp)


@cli.group()
def users():
    """Manage who may log in to `qa serve` (the users file: --users FILE or $QA_USERS)."""


def _users(users_file: Path | None):
    from qa.users import Users, UsersProblem

    if users_file is None:
        raise UsersProblem("name the users file: --users FILE, or set QA_USERS")
    return Users(users_file).load()


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["read", "write"]), default="read", show_default=True, help="read: ask; write: also rebuild.")
@click.option("--password", envvar="QA_NEW_PASSWORD", help="The password (default: asked for, hidden); or $QA_NEW_PASSWORD.")
@_users_option
def users_add(name: str, role: str, password: str | None, users_file: Path | None):
    """Add a user (or set an existing one's password and role)."""
    file = _users(users_file)
    if password is None:
        password = click.prompt(f"password for {name}", hide_input=True, confirmation_prompt=True)
    existed = file.get(name) is not None
    file.add(name, password, role)
    click.echo(f"{'updated' if existed else 'added'} {name} ({role}) in {file.path}")


@users.command("remove")
@click.argument("name")
@_users_option
def users_remove(name: str, users_file: Path | None):
    """Remove a user: their password, token and browser sessions stop working."""
    file = _users(users_file)
    file.remove(name)
    click.echo(f"removed {name} from {file.path}")


@users.command("list")
@_users_option
def users_list(users_file: Path | None):
    """The users and their roles."""
    for user in _users(users_file).names():
        click.echo(f"{user.name}\t{user.role}")


@users.command("token")
@click.argument("name")
@_users_option
def users_token(name: str, users_file: Path | None):
    """Make a new API token for NAME (the old one stops working); shown once, stored hashed."""
    token = _users(users_file).new_token(name)
    click.echo(token)
    click.echo(f"(the API token for {name}; send it as `Authorization: Bearer TOKEN`. It is not shown again.)", err=True)


@cli.command(name="mcp")
@_seeds_option
@_index_option
@click.option("--watch/--no-watch", default=True, show_default=True, help="Rebuild when files in the seeds folder change.")
def mcp_cmd(seeds: Path | None, reseed: bool, index_dir: str, watch: bool):
    """Serve the documents to an AI agent over MCP on stdin/stdout (tools: ask, list_documents).

    For desktop agents that start a local command (docs/mcp.md); stdout carries nothing but the
    protocol, messages go to stderr. Needs the mcp extra."""
    from qa.ui.agent_tools import require_mcp, run_stdio

    require_mcp()  # before any model loads
    run_stdio(_pipeline(seeds, index_dir, reseed), watch=watch)


def _unicode_stdout() -> bool:
    return (sys.stdout.encoding or "").lower().replace("-", "").replace("_", "") in ("utf8", "utf16", "utf32")


def main() -> None:
    # A terminal that cannot show some character (PYTHONIOENCODING=ascii, an old locale) gets an
    # escape instead of a crash halfway through an answer.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    cli()


if __name__ == "__main__":
    main()
