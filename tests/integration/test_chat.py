"""`qa chat` as people use it: the real CLI in a subprocess, fed through a pipe (`--json`, scripted
turns) or a pseudo-terminal (the prompt, line editing, Ctrl-D), over the session's real index."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT, run_qa

NATO = "Who is the NATO Secretary General?"
FOLLOW_UP = "What did he say?"  # "he": the person the previous answer named


def chat(index, seeds, lines: list[str], *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`qa chat` with `lines` on stdin (a pipe: no prompt), as a script would drive it."""
    return subprocess.run(
        [sys.executable, "-m", "qa.cli", "chat", "--index", str(index), "--seeds", str(seeds), *extra],
        input="".join(line + "\n" for line in lines),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})},
        timeout=300,
    )


def test_chat_json_one_object_per_line_one_conversation(index_dir, seeds_dir):
    lines = [NATO, FOLLOW_UP, "", "?!", "/new", FOLLOW_UP]
    r = chat(index_dir, seeds_dir, lines, "--json")
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    out = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(out) == 4  # the empty line and /new print nothing; "?!" gets its one line
    first, follow, bad, fresh = out
    # every answer: the `qa ask --json` object plus resolved_question
    for o in (first, follow, fresh):
        assert set(o) == {"question", "no_answer", "answers", "resolved_question"}, o
    # a first turn is read as typed and answered exactly as `qa ask` answers it
    assert first["resolved_question"] == NATO and "Stoltenberg" in first["answers"][0]["text"]
    ask = run_qa("ask", NATO, "--json", "--index", str(index_dir), "--seeds", str(seeds_dir))
    assert json.loads(ask.stdout) == {k: v for k, v in first.items() if k != "resolved_question"}
    # the follow-up is read in the conversation's context: "he" is the person the first answer named
    assert follow["question"] == FOLLOW_UP
    assert follow["resolved_question"] != FOLLOW_UP and "Stoltenberg" in follow["resolved_question"], follow
    # a question that cannot be asked: its own line, the message on stderr too, and the chat goes on
    assert bad == {"question": "?!", "error": "the question has no letters or digits"}
    assert "Error: the question has no letters or digits" in r.stderr
    # /new: the same words, now a first turn, are read as typed
    assert fresh["question"] == FOLLOW_UP and fresh["resolved_question"] == FOLLOW_UP


def test_chat_json_answers_each_line_as_it_arrives(index_dir, seeds_dir):
    """A client can hold a conversation over the pipe: write a line, read its answer, write the next."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "qa.cli", "chat", "--json", "--index", str(index_dir), "--seeds", str(seeds_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        replies = []
        for q in (NATO, FOLLOW_UP):
            proc.stdin.write(q + "\n")
            proc.stdin.flush()
            replies.append(json.loads(proc.stdout.readline()))  # stdin still open: the answer came back on its own
        assert [o["question"] for o in replies] == [NATO, FOLLOW_UP]
        assert "Stoltenberg" in replies[1]["resolved_question"]
        proc.stdin.close()  # EOF ends the chat
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_chat_scripted_turns_show_understood_as_new_and_quit(index_dir, seeds_dir):
    lines = [NATO, FOLLOW_UP, "   ", "/bogus", "/new", FOLLOW_UP, "/quit", "When did the meeting begin?"]
    r = chat(index_dir, seeds_dir, lines)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    out = r.stdout
    # answers printed as `qa ask` prints them
    ask = run_qa("ask", NATO, "--index", str(index_dir), "--seeds", str(seeds_dir))
    assert out.startswith(ask.stdout)
    # the follow-up says how it was read, before its answers; the fresh one after /new does not
    assert out.count("Understood as: ") == 1
    understood = next(line for line in out.splitlines() if line.startswith("Understood as: "))
    assert "Stoltenberg" in understood, out
    assert "(a new conversation)" in out and out.index(understood) < out.index("(a new conversation)")
    assert "unknown command /bogus" in r.stderr
    # three turns answered, a blank line after each; /quit ends the chat: the line after it is never answered
    assert sum(line.startswith("1. ") for line in out.splitlines()) == 3 and out.endswith("\n\n")
    assert "[[10:07" not in out


def test_chat_at_a_terminal_prompt_line_editing_and_ctrl_d(index_dir, seeds_dir):
    """A pseudo-terminal: the prompt shows, lines are edited and recalled (readline), Ctrl-D exits 0."""
    import pty  # POSIX only, as is the terminal chat's line editing

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "qa.cli", "chat", "--index", str(index_dir), "--seeds", str(seeds_dir)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "TERM": "dumb"},
        close_fds=True,
    )
    os.close(slave)
    seen = b""

    def read_until(marker: bytes, timeout: float = 180) -> bytes:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while marker not in seen:
            if time.monotonic() > deadline or proc.poll() is not None and not select.select([master], [], [], 0)[0]:
                raise AssertionError(f"no {marker!r} from qa chat; it printed:\n{seen.decode(errors='replace')}")
            if select.select([master], [], [], 0.2)[0]:
                try:
                    seen += os.read(master, 65536)
                except OSError:  # the child closed the terminal
                    break
        found, seen = seen, b""
        return found

    try:
        banner = read_until(b"\n> ")
        assert b"/new starts over" in banner
        # a typo, the line erased with Ctrl-U and typed again
        os.write(master, b"Who is the NATO Secretary Genral?\x15" + NATO.encode() + b"\r")
        reply = read_until(b"\n> ").decode(errors="replace")
        assert "Stoltenberg" in reply and "nato-russia-council.txt:" in reply
        # readline's history: Ctrl-P brings the last line back (without readline it would be a control character)
        os.write(master, b"\x10\r")
        reply = read_until(b"\n> ").decode(errors="replace")
        assert "Stoltenberg" in reply and "Error" not in reply
        os.write(master, FOLLOW_UP.encode() + b"\r")
        reply = read_until(b"\n> ").decode(errors="replace")
        assert "Understood as: " in reply and "Traceback" not in reply
        os.write(master, b"\r")  # an empty line: ignored, a new prompt
        assert b"Error" not in read_until(b"\n> ")
        os.write(master, b"\x04")  # Ctrl-D at an empty prompt ends the chat
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)


def test_chat_bad_index_is_a_one_line_error(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "qa.cli", "chat", "--index", str(tmp_path / "none"), "--seeds", str(tmp_path)],
        input="Who?\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        timeout=120,
    )
    assert r.returncode == 2 and "qa index" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("flag", [[], ["--json"]])
def test_chat_does_not_import_torch(index_dir, seeds_dir, flag):
    """The chat's start-up is `qa ask`'s: the query path never loads torch or transformers."""
    code = (
        "import sys; from qa.cli import cli\n"
        f"sys.argv = ['qa', 'chat', '--index', {str(index_dir)!r}, '--seeds', {str(seeds_dir)!r}, *{flag!r}]\n"
        "try:\n    cli()\nexcept SystemExit:\n    pass\n"
        "bad = [m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules]\n"
        "print('IMPORTED', bad)"
    )
    r = subprocess.run(
        [sys.executable, "-c", code],
        input=f"{NATO}\n{FOLLOW_UP}\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        timeout=300,
    )
    assert "IMPORTED []" in r.stdout, r.stdout + r.stderr
