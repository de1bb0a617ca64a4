"""Robustness, questions: whatever a person types gets an answer, a no-answer or a clear message.

Never a traceback, never unbounded time. Every case goes through `qa ask` in a subprocess,
as a person would run it; the timing bounds and the characters that cannot travel in
argv (NUL) are test_pipeline.py's, in process.
"""

from __future__ import annotations

import json

import pytest

from qa.pipeline import MAX_QUESTION_CHARS
from tests.conftest import open_version, run_qa
from tests.test_pipeline import LONG_QUESTION


def _ask(index_dir, seeds_dir, question: str | bytes, *extra: str, env: dict | None = None):
    return run_qa("ask", question, "--index", str(index_dir), "--seeds", str(seeds_dir), *extra, env=env, timeout=120)


def _assert_one_line_error(proc, *words: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stdout == ""  # nothing that could be mistaken for an answer
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])


def _assert_valid_answer_json(proc, index_dir) -> dict:
    """rc 0, one JSON object, and every answer is the exact text at its cited offsets."""
    assert proc.returncode == 0, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    out = json.loads(proc.stdout)
    assert set(out) >= {"question", "no_answer", "answers"} and isinstance(out["no_answer"], bool)
    store = open_version(index_dir)
    for a in out["answers"]:
        text = store.document_text(a["document"])
        assert text is not None and text[a["start"] : a["end"]] == a["text"]
        assert a["passage"][a["start"] - a["passage_start"] : a["end"] - a["passage_start"]] == a["text"]
    return out


@pytest.mark.parametrize(
    ("question", "words"),
    [
        ("", ["empty"]),
        ("   \t\n  ", ["empty"]),
        ("?", ["no letters or digits"]),
        ("?!…—¿¡;:()[]{}«»", ["no letters or digits"]),
        ("🤔🙂🔥", ["no letters or digits"]),
        ("\x07\x1b\x7f\u200b", ["empty"]),
    ],
    ids=["empty", "whitespace", "one-punctuation-mark", "only-punctuation", "only-emoji", "only-control-characters"],
)
def test_questions_with_nothing_to_ask_get_a_one_line_message_and_exit_2(index_dir, seeds_dir, question, words):
    proc = _ask(index_dir, seeds_dir, question, "--json", env={"QA_READER_DIR": "/nonexistent"})
    _assert_one_line_error(proc, "question", *words)  # rejected before any model loads: the missing reader is never looked at


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("a", None),
        ("7", None),
        ("Кто генеральный секретарь НАТО?", None),  # an English reader: an answer or a no-answer, no crash
        ("北约秘书长是谁？", None),
        ("من هو الأمين العام لحلف الناتو؟", None),
        ("नाटो के महासचिव कौन हैं?", None),
        ("Who is the NATO Secretary General? 🤔🇳🇴", "Stoltenberg"),
        ("Who\x07 is the\x1b NATO\tSecretary\r\nGeneral?\x7f\u200e", "Stoltenberg"),
    ],
    ids=["one-letter", "one-digit", "cyrillic", "chinese", "arabic", "devanagari", "emoji", "control-characters"],
)
def test_odd_but_real_questions_get_an_answer_or_a_no_answer(index_dir, seeds_dir, question, expected):
    out = _assert_valid_answer_json(_ask(index_dir, seeds_dir, question, "--json"), index_dir)
    # what was asked is shown cleaned: control characters become spaces, nothing else changes
    assert out["question"] == " ".join("".join(c if c.isprintable() else " " for c in question).split())
    assert all(c.isprintable() for c in out["question"])
    if expected:  # emoji and control characters do not get in the way of the answer
        assert not out["no_answer"] and expected in out["answers"][0]["text"], out


def test_ten_thousand_character_question_is_truncated_with_a_notice(index_dir, seeds_dir):
    proc = _ask(index_dir, seeds_dir, LONG_QUESTION, "--json")
    out = _assert_valid_answer_json(proc, index_dir)
    assert len(out["question"]) == MAX_QUESTION_CHARS
    assert any(f"first {MAX_QUESTION_CHARS} characters" in w for w in out["warnings"])
    assert any("64-token" in w for w in out["warnings"])
    assert "warning: question truncated" in proc.stderr


def test_question_bytes_that_are_not_utf8_and_a_terminal_that_is_not_unicode(index_dir, seeds_dir):
    # a Latin-1 terminal sends b"\xe9"; Python turns it into a lone surrogate that cannot be printed
    proc = _ask(index_dir, seeds_dir, "Who is the Secretary G\xe9n\xe9ral?".encode("latin-1"), "--json")
    out = _assert_valid_answer_json(proc, index_dir)
    assert out["question"] == "Who is the Secretary G n ral?"
    # stdout that only takes ASCII: the answer is printed with escapes instead of crashing
    proc = _ask(index_dir, seeds_dir, "Кто генеральный секретарь НАТО?", env={"PYTHONIOENCODING": "ascii"})
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stdout.strip()
    proc = _ask(index_dir, seeds_dir, "Кто генеральный секретарь НАТО?", "--json", env={"PYTHONIOENCODING": "ascii"})
    assert json.loads(proc.stdout)["question"] == "Кто генеральный секретарь НАТО?"
