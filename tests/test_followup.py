"""Follow-ups through a real QAPipeline on a real index: a first turn or a fresh question gets exactly
today's answer, a follow-up is read in the conversation's context, and the JSON says how."""

from __future__ import annotations

from qa.followup import Turn


def same(a, b) -> bool:
    def spans(r):
        return [(x.text, x.document, x.start) for x in r.answers]

    return a.no_answer == b.no_answer and spans(a) == spans(b)


def test_first_turn_gives_exactly_todays_answer(pipeline):
    q = "Who is the NATO Secretary General?"
    today, first = pipeline(q), pipeline(q, history=[])
    assert same(today, first)
    assert first.resolved_question == q and today.resolved_question is None
    assert "resolved_question" not in today.to_json() and first.to_json()["resolved_question"] == q


def test_fresh_question_in_a_conversation_is_unchanged(pipeline):
    first = pipeline("Who is the NATO Secretary General?", history=[])
    q = "When was the lighthouse at Port Elwyn built?"
    fresh = pipeline(q, history=[Turn.of(first)])
    assert fresh.resolved_question == q and same(fresh, pipeline(q))


def test_pronoun_follow_up_is_read_with_the_previous_answer(pipeline):
    first = pipeline("Who built the lighthouse at Port Elwyn?", history=[])
    assert "Quayle" in first.answers[0].text
    follow = pipeline("What was his job?", history=[Turn.of(first)])
    assert follow.question == "What was his job?"
    assert "Quayle" in (follow.resolved_question or "")
    assert follow.answers and "engineer" in follow.answers[0].text
    assert follow.to_json()["resolved_question"] == follow.resolved_question


def test_conversation_round_trips_through_json(pipeline):
    first = pipeline("Who founded the Aurora research station?", history=[])
    history = [Turn.from_json(first.to_json())]
    follow = pipeline("When did she found it?", history=history)
    assert "Halvorsen" in (follow.resolved_question or "")
    assert follow.answers and "1987" in follow.answers[0].text


def test_unanswerable_follow_up_is_still_abstained_on(pipeline):
    first = pipeline("Who built the lighthouse at Port Elwyn?", history=[])
    follow = pipeline("What was his wife's name?", history=[Turn.of(first)])
    assert follow.no_answer
