"""Made-up "What did X say?" questions, answered by what the paragraph quotes X as saying.

Why: people ask a document set what someone said ("What did Sherman say?"), but SQuAD has
few such questions, so the reader learns neither that a quotation is the answer nor that
"According to X, ..." and "X said that ..." are X's words. Attributed speech in the SQuAD
train paragraphs gives those questions for free: the speaker's name and the quoted words or
reported clause, found by a few conservative patterns (a miss costs nothing; a wrong pair
would teach the wrong thing, so anything unsure is skipped).
"""

from __future__ import annotations

import random
import re
from typing import NamedTuple

_NAME = r"(?P<name>(?:[A-Z][\w\-’']+\s){0,3}[A-Z][\w\-’']+)"
_VERB = r"(?:said|says|stated|states|wrote|writes|declared|remarked|argued|noted|added|claimed|explained|commented|insisted|warned)"
_OPEN, _CLOSE = "[“\"]", "[”\"]"
_QUOTE = r"(?P<said>[^“”\"]{15,250}?)[,.!?]?"
_CLAUSE = r"(?P<said>[^;:\"“”]{15,200}?)\.(?=\s+[A-Z“\"]|\s*$)"  # to the sentence's end, not a decimal point
_PATTERNS = [
    re.compile(_NAME + r"\s+" + _VERB + r"[,:]?\s+(?:that\s+)?" + _OPEN + _QUOTE + _CLOSE),
    re.compile(_OPEN + _QUOTE + _CLOSE + r",?\s+" + _NAME + r"\s+" + _VERB + r"\b"),
    re.compile(_OPEN + _QUOTE + _CLOSE + r",?\s+" + _VERB + r"\s+" + _NAME),
    re.compile(_NAME + r"\s+" + _VERB + r"\s+that\s+" + _CLAUSE),
    re.compile(r"\bAccording to\s+" + _NAME + r",\s+" + _CLAUSE),
]
# capitalised words that start a sentence or a title rather than name a speaker
_NOT_A_NAME = {"he", "she", "they", "it", "we", "i", "you", "this", "that", "these", "those", "the", "a", "an", "his", "her",
               "their", "its", "one", "some", "many", "most", "critics", "others", "officials", "scholars", "historians",
               "reports", "sources", "researchers", "experts", "who", "which", "when", "while", "but", "and", "also", "later",
               "in", "on", "at", "as", "after", "before", "then", "there"}
_TITLES = {"president", "justice", "officer", "minister", "senator", "governor", "general", "king", "queen", "pope", "dr",
           "mr", "mrs", "ms", "professor", "sir", "lord", "judge", "secretary", "chairman", "director", "leader",
           "representative", "prime", "chief", "vice", "deputy", "editor", "critic", "author"}


class QuoteQuestion(NamedTuple):
    question: str
    answer_start: int
    answer: str
    speaker: str  # as asked: the full name or the surname


def question_about(speaker: str) -> str:
    """The one wording of the question, for an answerable one and for its unanswerable twin alike."""
    return f"What did {speaker} say?"


def speaker(name: str) -> str | None:
    """The speaker as a person would ask about them: the name without leading titles or a leading
    non-name word; None when nothing name-like is left."""
    words = name.split()
    determiner = words[0].lower() in ("the", "a", "an")
    while words and (words[0].lower() in _NOT_A_NAME or words[0].lower().rstrip(".") in _TITLES):
        words.pop(0)
    if not words or (determiner and len(words) == 1):  # "The Treaty said", "The report states": not a speaker
        return None
    return " ".join(words)


def quote_questions(context: str, rng: random.Random) -> list[QuoteQuestion]:
    """One "What did X say?" per attributed quotation or reported clause in the paragraph."""
    out, seen = [], set()
    for pattern in _PATTERNS:
        for m in pattern.finditer(context):
            who = speaker(m.group("name"))
            said = m.group("said").strip()
            start = m.start("said") + m.group("said").index(said)
            if not who or start in seen or len(said.split()) < 3:
                continue
            seen.add(start)
            # people ask about a person by surname as often as by full name ("What did Sherman say?");
            # an organisation ("The Boston Globe") only by its whole name
            person = len(who.split()) in (2, 3) and not m.group("name").lower().startswith("the ")
            asked = who.split()[-1] if person and rng.random() < 0.5 else who
            out.append(QuoteQuestion(question_about(asked), start, said, asked))
    return out
