"""qa.train.data: mined negatives, made-up unanswerable questions, questions from quoted speech, questions
over manuals and API docs, and how each joins training."""

from __future__ import annotations

import json
import random
import sys

from qa.train.data.manuals import EXCLUDED_MAN, EXCLUDED_MODULES, man_questions, pydoc_questions, render_module, squad_article
from qa.train.reader import TrainConfig, build_examples
from tests.conftest import ROOT
from tests.squad_fixture import ARTICLES, tiny_mined, write_tiny_squad

# ---- mining, unanswerable questions, quotes


def test_mined_negatives_are_real_distractors_and_swapped_questions(tmp_path):
    """Hard distractors come from the product's hybrid retrieval and never hold an answer;
    entity swaps name something the paragraph does not mention."""

    from qa.squad import load_squad
    from qa.train.data.mining import mine

    data_file = write_tiny_squad(tmp_path / "t.json")
    out = mine(data_file, tmp_path / "mined.json", tmp_path / "embedder", per_question=2, holdout_every=0)
    data = load_squad(data_file)
    by_id = {q.id: q for q in data.questions}
    assert out["stats"]["questions"] == len(by_id) and out["stats"]["gold_recall_at_5"] > 0.5
    for qid, pids in out["distractors"].items():
        q = by_id[qid]
        assert pids and q.paragraph_id not in pids
        assert all(a.lower() not in data.paragraphs[p].lower() for p in pids for a in q.answers)
    for qid, swapped in out["swaps"].items():
        q = by_id[qid]
        assert swapped != q.question
        new_words = set(swapped.split()) - set(q.question.split())
        assert new_words and not all(w.lower() in q.context.lower() for w in new_words)
    cfg = TrainConfig(
        train_file=str(data_file), out_dir=str(tmp_path), mined=str(tmp_path / "mined.json"), distractor_ratio=1.0, swap_ratio=1.0
    )
    ex = build_examples(cfg, random.Random(0))
    n_answerable = sum(1 for e in ex if e.answer_start >= 0)
    assert n_answerable == len(by_id) and len(ex) - n_answerable == len(out["distractors"]) + len(out["swaps"])


def test_made_up_unanswerables_negate_or_flip_a_word_and_refuse_when_the_paragraph_still_answers():
    """Negation and antonym edits (the two SQuAD 2.0 kinds besides entity swaps that v1.1 can be
    turned into): each changes the question, and each refuses when its paragraph could answer the edit."""
    from qa.train.data.unanswerable import ANTONYMS, antonym, negate, perturb

    ctx, q = ARTICLES["Lighthouse"][0][0], ARTICLES["Lighthouse"][0][1][1][0]  # "When was the lamp converted ...?"
    start = ctx.index("1931")
    assert negate(q, ctx, start) == q.replace("was", "was not", 1)
    did = "When did the engineer build the lighthouse?"
    assert negate(did, ctx, ctx.index("1874")) == did.replace("did", "didn't", 1)
    negated_ctx = ctx.replace("was converted", "was not converted")
    assert negate(q, negated_ctx, negated_ctx.index("1931")) is None  # the paragraph negates: maybe answerable
    assert negate("Who wasn't there?", ctx, 0) is None  # already negated

    first = "Who was the first keeper of the lighthouse?"
    assert antonym(first, ctx, random.Random(0)) == first.replace("first", ANTONYMS["first"])
    assert antonym(first, ctx + " The last keeper left in 1990.", random.Random(0)) is None
    for seed in range(5):
        made = perturb(first, ctx, 0, random.Random(seed))
        assert made and made != first


def test_a_made_up_v2_file_keeps_every_question_and_adds_unanswerable_copies(tmp_path):
    from qa.squad import load_squad
    from qa.train.data.mining import write_made_up_v2

    src = load_squad(write_tiny_squad(tmp_path / "t.json"))
    made = load_squad(write_made_up_v2(tmp_path / "t.json", tmp_path / "v2.json"))
    assert made.has_impossible
    by_id = {q.id: q for q in made.questions}
    assert all(by_id[q.id].answers == q.answers and not by_id[q.id].is_impossible for q in src.questions)
    extra = [q for q in made.questions if q.is_impossible]
    assert extra and all(not q.answers for q in extra)
    for q in extra:
        base = by_id[q.id.rsplit("/", 1)[0]]
        assert q.question != base.question and q.context == base.context


def test_perturbed_unanswerables_join_training_as_no_answer_examples(tmp_path):
    data_file, mined, data = tiny_mined(tmp_path)
    cfg = TrainConfig(
        train_file=str(data_file), out_dir=str(tmp_path / "run"), mined=str(mined), distractor_ratio=0.0, swap_ratio=0.0, perturb_ratio=1.0
    )
    examples = build_examples(cfg, random.Random(0))
    made = [e for e in examples if e.group.endswith("/perturbed")]
    originals = {q.id: q for q in data.questions}
    assert made and all(e.answer_start == -1 and e.answer == "" for e in made)
    for e in made:
        q = originals[e.group.removesuffix("/perturbed")]
        assert e.context == q.context and e.question != q.question
    assert len(examples) == len(data.questions) + len(made)


def test_a_paragraph_cut_short_of_its_answer_sentence_joins_training_as_no_answer(tmp_path):
    """The nearest miss: the question's own paragraph without the sentence that answers it. Only that
    sentence goes; refused when the answer recurs in the rest or too little is left."""
    from qa.squad import load_squad
    from qa.train.data.unanswerable import without_answer

    para = (
        "The lighthouse at Port Elwyn was built in 1874 by the engineer Thomas Quayle. Its lamp was converted "
        "to electricity in 1931. The keeper's cottage has three rooms. Supplies arrive twice a year by boat."
    )
    sentences = para.split(". ")
    cut = without_answer(para, para.index("1931"), "1931")
    assert cut == ". ".join(s for s in sentences if "1931" not in s)
    assert without_answer(para, para.index("Thomas Quayle"), "Thomas Quayle").startswith("Its lamp was converted")
    assert without_answer(para + " It was rebuilt in 1931.", para.index("1931"), "1931") is None  # still answerable
    assert without_answer("Its lamp was converted in 1931. It is red.", 27, "1931") is None  # one sentence left

    data_file = tmp_path / "t.json"
    asked = {"q1": ("When was the lamp converted to electricity?", "1931"), "q2": ("How many rooms has the cottage?", "three")}
    qas = [{"id": i, "question": q, "answers": [{"text": a, "answer_start": para.index(a)}]} for i, (q, a) in asked.items()]
    data_file.write_text(json.dumps({"version": "1.1", "data": [{"title": "Lighthouse", "paragraphs": [{"context": para, "qas": qas}]}]}))
    mined = tmp_path / "mined.json"
    mined.write_text(json.dumps({"holdout_articles": [], "swaps": {}, "distractors": {}}))
    cfg = TrainConfig(train_file=str(data_file), out_dir=str(tmp_path / "run"), mined=str(mined), cut_ratio=1.0)
    examples = build_examples(cfg, random.Random(0))
    made = {e.group: e for e in examples if e.group.endswith("/cut")}
    assert set(made) == {"q1/cut", "q2/cut"}
    for q in load_squad(data_file).questions:
        e = made[q.id + "/cut"]
        assert e.answer_start == -1 and e.question == q.question
        assert e.context == ". ".join(s for s in sentences if q.answers[0] not in s)


def test_what_did_x_say_questions_come_from_attributed_speech_with_an_unanswerable_twin():
    """Quoted words and reported clauses give "What did X say?" questions whose answer is the span
    itself; the twin asks about a speaker the paragraph does not mention, and has no answer."""
    from qa.squad import SquadFile
    from qa.train.data.quotes import quote_questions
    from qa.train.reader import quote_examples

    para = (
        'At the opening, the engineer Thomas Quayle said: "This lamp will outlive every one of us." '
        "According to Ingrid Halvorsen, the ice cap shrinks a little every single year. The report states that it was cold."
    )
    made = quote_questions(para, random.Random(0))
    assert len(made) == 2  # "The report states" names no speaker
    for q in made:
        assert para[q.answer_start : q.answer_start + len(q.answer)] == q.answer
        assert q.question == f"What did {q.speaker} say?" and q.speaker.split()[-1] in ("Quayle", "Halvorsen")
    assert {q.answer for q in made} == {"This lamp will outlive every one of us", "the ice cap shrinks a little every single year"}

    other = "The keepers' log notes the storms. Martha Quayle wrote that the winter of 1901 was the worst on record."
    data = SquadFile(questions=[], paragraphs={"p1": para, "p2": other}, titles={"p1": "Lighthouse", "p2": "Lighthouse"})
    examples = quote_examples(data, held=set(), rng=random.Random(0))
    answered = [e for e in examples if e.answer_start >= 0]
    twins = [e for e in examples if e.answer_start < 0]
    assert len(answered) == 3 and all(e.context[e.answer_start :].startswith(e.answer) for e in answered)
    assert twins and all(e.answer == "" and e.group.endswith("/other") for e in twins)
    for e in twins:  # about someone of the same article whom this paragraph never names
        asked = e.question.removeprefix("What did ").removesuffix(" say?")
        assert asked.split()[-1] not in e.context
    assert quote_examples(data, held={"Lighthouse"}, rng=random.Random(0)) == []


# ---- manuals and API docs

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
    assert any(
        "never prints headers" in q or "to never print headers" in q or "never print headers giving file names with" in q
        for q in by_answer["-q, --quiet, --silent"]
    )


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
    sys.path.insert(0, str(ROOT / "bench"))
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
