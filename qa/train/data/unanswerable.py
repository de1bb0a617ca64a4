"""Made-up unanswerable questions beyond entity swaps: negations, antonyms, and paragraphs cut short.

Why: SQuAD 2.0's unanswerables are mostly small edits of an answerable question that the
paragraph no longer supports (Rajpurkar et al. 2018 count negation 9%, antonym 20%, entity swap
21%). v2.0 train cannot be had here, and a reader trained only on entity swaps (`qa.train.data.mining`)
still answers "What did X not do?" with what X did. These two edits are rule-based and refuse
whenever the paragraph could still answer the edited question (it negates or says the antonym
itself), so every question they return is, with high likelihood, unanswerable from its paragraph.

`without_answer` makes the other kind the product meets most: a passage on the question's topic,
in the question's words, that lacks the one sentence that answers it (the paragraph with its
answer's sentence cut out). Hard distractors are other paragraphs; this is the nearest miss.
"""

from __future__ import annotations

import random
import re

# be-verbs take "not" after them ("Who was not ..."); do-support and modals contract ("What didn't X do?");
# "has"/"had" are left alone: as main verbs they do not contract
_BE = {"is", "are", "was", "were"}
_CONTRACT = {"did": "didn't", "does": "doesn't", "do": "don't", "can": "can't", "could": "couldn't",
             "will": "won't", "would": "wouldn't", "should": "shouldn't"}
_NEGATION = re.compile(r"\b(?:not|no|never|nor|neither|none|nobody|nothing|without|cannot)\b|n't\b", re.I)
_WORD = re.compile(r"[A-Za-z]+")

_PAIRS = """first last|largest smallest|biggest smallest|highest lowest|most least|more less|before after
earliest latest|early late|earlier later|increase decrease|increased decreased|rise fall|rose fell|gain lose
gained lost|win lose|won lost|victory defeat|north south|east west|northern southern|eastern western
upper lower|above below|inside outside|internal external|maximum minimum|major minor|longest shortest
longer shorter|older younger|oldest youngest|strong weak|strongest weakest|rich poor
richest poorest|wealthy poor|high low|higher lower|large small|larger smaller|big small|heavy light|fast slow
fastest slowest|hot cold|warm cool|wet dry|open closed|opened closed|allowed banned|allow ban|accept reject
accepted rejected|approve oppose|approved opposed|support oppose|supported opposed|success failure
successful unsuccessful|positive negative|public private|legal illegal|male female|men women|man woman
start end|began ended|begin end|beginning end|entered left|enter leave|import export|imports exports
imported exported|buy sell|bought sold|birth death|born died|common rare|popular unpopular|similar different
same different|best worst|better worse|true false|possible impossible|direct indirect|primary secondary
important unimportant|frequent rare|domestic foreign|rural urban|military civilian|natural artificial
top bottom|full empty|deep shallow|wide narrow|thick thin|easy difficult|cheap expensive
increase reduce|increasing decreasing|expanded reduced|add remove|added removed|include exclude|included excluded
appear disappear|appeared disappeared|create destroy|created destroyed|built destroyed|lowest highest"""


def _both_ways(pairs: str) -> dict[str, str]:
    """Each word to its antonym, both ways; a word in several pairs keeps its first."""
    out: dict[str, str] = {}
    for pair in re.split(r"[|\n]", pairs):
        a, b = pair.split()
        out.setdefault(a, b)
        out.setdefault(b, a)
    return out


ANTONYMS = _both_ways(_PAIRS)


def _sentence_bounds(context: str, start: int, end: int) -> tuple[int, int]:
    """Where the sentence(s) holding context[start:end] begin, and where their closing ". " is (or the end)."""
    dot = context.rfind(". ", 0, start)
    lo = max(dot + 2 if dot >= 0 else 0, context.rfind("\n", 0, start) + 1)
    hi = context.find(". ", end - 1)
    return lo, hi if hi >= 0 else len(context)


def _answer_sentence(context: str, answer_start: int) -> str:
    """The sentence of the paragraph that holds the answer (where a negation would make it answerable)."""
    lo, hi = _sentence_bounds(context, answer_start, answer_start + 1)
    return context[lo:hi]


def negate(question: str, context: str, answer_start: int) -> str | None:
    """The question with its first auxiliary verb negated, unless the answer's sentence negates."""
    if _NEGATION.search(question) or _NEGATION.search(_answer_sentence(context, answer_start)):
        return None
    for m in _WORD.finditer(question):
        w = m.group(0)
        low = w.lower()
        if low in _BE:
            return question[: m.end()] + " not" + question[m.end() :]
        if low in _CONTRACT:
            neg = _CONTRACT[low]
            return question[: m.start()] + (neg.capitalize() if w[0].isupper() else neg) + question[m.end() :]
    return None


def antonym(question: str, context: str, rng: random.Random) -> str | None:
    """The question with one word replaced by its antonym, unless the paragraph uses that antonym."""
    ctx_words = {w.lower() for w in _WORD.findall(context)}
    found = [m for m in _WORD.finditer(question) if m.group(0).lower() in ANTONYMS]
    rng.shuffle(found)
    for m in found:
        w = m.group(0)
        new = ANTONYMS[w.lower()]
        if new in ctx_words:
            continue
        if w[0].isupper():
            new = new.capitalize()
        return question[: m.start()] + new + question[m.end() :]
    return None


def perturb(question: str, context: str, answer_start: int, rng: random.Random) -> str | None:
    """One negated or antonym-swapped copy of the question, whichever applies (chosen at random)."""
    makers = [lambda: negate(question, context, answer_start), lambda: antonym(question, context, rng)]
    rng.shuffle(makers)
    for make in makers:
        new = make()
        if new and new != question:
            return new
    return None


def without_answer(context: str, answer_start: int, answer: str, keep: float = 0.5) -> str | None:
    """The paragraph without the sentence(s) holding the answer, or None when the rest could still
    answer (the answer's words recur) or too little is left (under `keep` of it, or one sentence)."""
    lo, hi = _sentence_bounds(context, answer_start, answer_start + len(answer))
    rest = (context[:lo] + context[hi + 2 :]).strip()
    if len(rest) < keep * len(context) or ". " not in rest or answer.lower() in rest.lower():
        return None
    return rest
