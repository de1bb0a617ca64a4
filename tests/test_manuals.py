"""Made-up questions over manuals and API docs (qa.train.data.manuals) and how they join training."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

from qa.train.data.manuals import EXCLUDED_MAN, EXCLUDED_MODULES, man_questions, pydoc_questions, render_module, squad_article
from qa.train.reader import TrainConfig, build_examples
from tests.test_train import tiny_mined

# the layout `man head | col -bx` prints (GNU), one BSD-style (mandoc) entry, and gcloud's list of flags
MAN_PAGE = """HEAD(1)                              User Commands                              HEAD(1)

NAME
       head - output the first part of files

DESCRIPTION
       Print  the  first  10 lines of each FILE to standard output.

       -c, --bytes=[-]NUM
              print the first NUM bytes of each file; with the leading '-',  print  all
              but the last NUM bytes of each file

       -q, --quiet, --silent
              never print headers giving file names

       --help display this help and exit

     -4      Forces head to use IPv4 addresses only.

       --account, --billing-project, --configuration, --flags-file,
       --flatten, --format, --help
              These flags are available to all commands.

       --curl (HTTP)  Tells head to use a curl.
"""


def test_man_page_options_become_which_option_and_what_does_it_do_questions():
    made = man_questions(MAN_PAGE, "head", random.Random(0))
    by_answer: dict[str, list[str]] = {}
    for m in made:
        by_answer.setdefault(MAN_PAGE[m.answer_start : m.answer_end], []).append(m.question)
    # the option lines are the answers to "which option" questions, with every name on the line
    assert "-c, --bytes" in by_answer and "-q, --quiet, --silent" in by_answer and "-4" in by_answer
    assert all("head" in q and q.endswith("?") for qs in by_answer.values() for q in qs)
    # and what each does (its first sentence or clause) is the answer to "what does it do"
    assert "print the first NUM bytes of each file" in by_answer
    assert "never print headers giving file names" in by_answer
    assert any("--bytes" in q for q in by_answer["print the first NUM bytes of each file"])
    # a protocol tag is not part of the description; a line listing more flags is not an option entry
    assert "Tells head to use a curl" in by_answer
    assert not any(a.startswith("--account") or "flags are available" in a for a in by_answer)
    # the description is reworded around its verb ("never print" -> "never prints" / "to never print")
    assert any("never prints headers" in q or "to never print headers" in q or "never print headers giving file names with" in q
               for q in by_answer["-q, --quiet, --silent"])  # fmt: skip


def test_api_docs_give_function_names_docstrings_and_defaults_as_answers():
    text = render_module("heapq")
    made = pydoc_questions(text, "heapq", random.Random(0))
    answers = {text[m.answer_start : m.answer_end] for m in made}
    assert {"heapify", "heappush", "nlargest"} <= answers
    assert any(a.startswith("Transform list into a heap") for a in answers)
    for m in made:  # each question names the module or the function it asks about, found in the text
        name = text[m.needs[0] : m.needs[1]] if m.needs[1] - m.needs[0] < 40 else text[m.answer_start : m.answer_end]
        assert "heapq" in m.question or name in m.question
    text = render_module("collections")
    made = pydoc_questions(text, "collections", random.Random(0))
    methods = [m for m in made if "collections.deque" in m.question]
    assert any(text[m.answer_start : m.answer_end] == "appendleft" for m in methods)


def test_return_docstrings_ask_which_function_but_never_one_that_two_functions_answer():
    text = render_module("math")
    made = pydoc_questions(text, "math", random.Random(0))
    # "Return the inverse hyperbolic cosine of x." -> which function returns it? acosh
    assert any(text[m.answer_start : m.answer_end] == "acosh" and "inverse hyperbolic cosine" in m.question for m in made)
    # bisect_left and bisect_right open with the same sentence, as do insort_left and insort_right:
    # "which function returns the index where to insert x?" would have two right answers, so it is not asked
    text = render_module("bisect")
    made = pydoc_questions(text, "bisect", random.Random(0))
    answers = {text[m.answer_start : m.answer_end] for m in made}
    assert not answers & {"bisect_left", "bisect_right", "insort_left", "insort_right"}
    assert any(a.startswith("Return the index where to insert item x") for a in answers)  # what each does is still asked


def test_a_squad_article_puts_each_question_in_a_chunk_that_holds_its_answer_and_its_source():
    text = render_module("heapq")
    made = pydoc_questions(text, "heapq", random.Random(0))
    article = squad_article("python/heapq", text, made)
    qas = [(p["context"], qa) for p in article["paragraphs"] for qa in p["qas"]]
    assert len(qas) >= len(made) * 0.8
    for context, qa in qas:
        a = qa["answers"][0]
        assert context[a["answer_start"] : a["answer_start"] + len(a["text"])] == a["text"]
        assert len(context) <= 800


def test_the_benchmarks_own_pages_and_modules_are_never_made_into_training_questions():
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    import nonwiki

    assert set(nonwiki.MAN_PAGES) <= EXCLUDED_MAN and set(nonwiki.PY_MODULES) <= EXCLUDED_MODULES


def test_manual_questions_join_training_with_no_answer_chunks_of_their_own_document(tmp_path):
    text = render_module("heapq")
    article = squad_article("python/heapq", text, pydoc_questions(text, "heapq", random.Random(0)))
    manuals = tmp_path / "manuals.json"
    manuals.write_text(json.dumps({"version": "manuals", "data": [article]}))
    data_file, mined, _ = tiny_mined(tmp_path)
    base = TrainConfig(train_file=str(data_file), out_dir=str(tmp_path / "run"), mined=str(mined), shared_norm=1.0, group_distractors=2)
    without = build_examples(base, random.Random(0))
    cfg = TrainConfig(**{**base.__dict__, "manuals": str(manuals), "manual_questions": 10})
    examples = build_examples(cfg, random.Random(0))
    added = [e for e in examples if e.group.startswith("manual/")]
    assert sorted(e for e in examples if not e.group.startswith("manual/")) == sorted(without)
    answered = [e for e in added if e.answer_start >= 0]
    assert len(answered) == 10
    for e in answered:
        assert e.context[e.answer_start : e.answer_start + len(e.answer)] == e.answer
        negatives = [n for n in added if n.group == e.group and n.answer_start < 0]
        assert 1 <= len(negatives) <= 2
        assert all(e.answer.lower() not in n.context.lower() and n.question == e.question for n in negatives)
    # without mined distractors too (the same-article negatives), not only with them
    plain = TrainConfig(**{**cfg.__dict__, "mined": ""})
    assert sum(e.group.startswith("manual/") and e.answer_start >= 0 for e in build_examples(plain, random.Random(0))) == 10
