"""The follow-up rules of qa.followup: pure functions over the words of the conversation (no model, no index)."""

from __future__ import annotations

from qa.followup import Resolution, Turn, entities, resolve


def turn(question: str, answer: str = "", resolved: str | None = None, document: str = "doc.txt") -> Turn:
    answers = ({"text": answer, "document": document, "score": 0.9},) if answer else ()
    return Turn(question, resolved or question, answers, not answer)


def test_first_turn_is_left_exactly_as_typed():
    assert resolve("What did he announce?", []) == Resolution("What did he announce?", False)


def test_standalone_question_is_left_as_typed():
    hist = [turn("Who chairs the council?", "Jens Stoltenberg")]
    r = resolve("Which film won the top ensemble prize at the Screen Actors Guild awards?", hist)
    assert not r.changed and r.question == "Which film won the top ensemble prize at the Screen Actors Guild awards?"


def test_person_pronoun_takes_the_previous_answer():
    r = resolve("What did he announce?", [turn("Who chairs the council?", "Jens Stoltenberg")])
    assert r.changed and r.question == "What did Jens Stoltenberg announce?"


def test_possessive_and_a_chain_of_follow_ups():
    hist = [turn("Who is FAST's chief scientist?", "Di Li")]
    first = resolve("How many extra dishes does his team want to add?", hist)
    assert first.question == "How many extra dishes does Di Li's team want to add?"
    hist.append(turn("How many extra dishes does his team want to add?", "36", first.question))
    assert resolve("What did he say?", hist).question == "What did Di Li say?"


def test_it_points_to_the_named_thing_asked_for_or_the_thing_asked_about():
    assert resolve("Who directed it?", [turn("Which film won the top prize?", "Parasite")]).question == "Who directed Parasite?"
    hist = [turn("What is lru_cache's default maxsize?", "128")]
    assert resolve("How do I empty it?", hist).question == "How do I empty lru_cache?"
    hist = [turn("Which OrderedDict method moves an existing key to the end?", "move_to_end")]
    read = resolve("In which order does its popitem return pairs?", hist).question
    assert read == "In which order does OrderedDict's popitem return pairs?"


def test_it_never_points_to_a_person():
    hist = [turn("Who spotted the Attention Correction feature?", "Mike Rundle")]
    assert resolve("Does it work in group calls?", hist).question == "Does Attention Correction work in group calls?"


def test_ellipsis_keeps_the_frame_with_the_new_subject():
    assert resolve("And glp_rmfgen?", [turn("Whose generator is glp_netgen based on?", "Klingman")]).question == (
        "Whose generator is glp_rmfgen based on?"
    )
    assert resolve("What about ECDSA?", [turn("What size is a new RSA key by default?", "3072")]).question == (
        "What size is a new ECDSA key by default?"
    )
    read = resolve("And to ignore case?", [turn("How do I get uniq to print counts?", "-c")]).question
    assert read == "How do I get uniq to ignore case?"
    assert resolve("And of lognormvariate?", [turn("What is the default mean of gauss?", "0.0")]).question == (
        "What is the default mean of lognormvariate?"
    )


def test_which_one_takes_the_kind_of_thing_asked_for():
    hist = [turn("Which Counter method lists the n most frequent elements?", "most_common")]
    assert resolve("And which one adds up all the counts?", hist).question == "Which Counter method adds up all the counts?"


def test_when_was_that_is_about_the_previous_answer_and_prefers_its_document():
    hist = [turn("Which city went dark in the middle of the day?", "São Paulo", document="news/amazon.html")]
    r = resolve("Why was that?", hist)
    assert r.changed and "São Paulo" in r.question and "went dark" in r.question
    assert r.prefer_documents == ("news/amazon.html",)


def test_there_takes_a_place_answer():
    hist = [turn("Which Brazilian state declared an emergency?", "Amazonas")]
    assert resolve("How many fires were detected there?", hist).question == "How many fires were detected in Amazonas?"


def test_an_abstained_answer_is_no_antecedent():
    hist = [turn("Who chairs the committee?")]  # no answer shown
    assert resolve("What did he announce?", hist).question in ("What did he announce?",)


def test_expletive_it_and_a_pronoun_inside_the_question_stay():
    hist = [turn("Which flag makes '.' match a newline?", "DOTALL")]
    assert not resolve("Which method adds a note to an exception after it was caught?", hist).changed
    assert not resolve("What did Brad Pitt say about his role?", [turn("Who won?", "Laura Dern")]).changed


def test_turn_from_json_and_of_result():
    t = Turn.from_json({"question": "Who?", "no_answer": False, "answers": [{"text": "Ann", "document": "a.txt"}]})
    assert t.resolved_question == "Who?" and t.answers[0]["text"] == "Ann"
    t = Turn.from_json({"question": "And him?", "resolved_question": "And Bob?", "answers": "junk"})
    assert t.resolved_question == "And Bob?" and t.answers == ()


def test_entities_are_names_and_code_like_terms():
    found = [e for _, e in entities("Which argument of subprocess.run did Jens Stoltenberg pass?")]
    assert found == ["subprocess.run", "Jens Stoltenberg"]


def test_odd_input_never_raises():
    for q in ["?", "it", "And?", "What about?", "that", "one"]:
        assert isinstance(resolve(q, [turn("Which one?", "x")]), Resolution)
