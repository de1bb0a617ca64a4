"""What a question asks for, whether an answer is that kind of thing, and whether it is a fragment.

The reader finds spans; it does not know that "When ...?" wants a time or that "Which option ...?"
wants a flag. These checks are cheap rules over the question's wording and the span's shape. They
feed the confidence (an answer of the wrong kind is less likely right) and the answer list (a further
answer must be of the kind asked for, and never a fragment: function words, punctuation, half a name).
A rule that cannot tell says so (`None`), so that it costs nothing on questions it does not cover.
"""

from __future__ import annotations

import re
from typing import Literal

Kind = Literal["person", "time", "number", "option", "identifier", "place", "other"]

# "which option", "what flag" ...: the noun right after the wh-word says what is asked for
_IDENTIFIER_NOUNS = (
    "function",
    "method",
    "class",
    "module",
    "command",
    "exception",
    "variable",
    "attribute",
    "keyword",
    "field",
    "key",
    "header",
    "subcommand",
    "directive",
    "property",
    "constant",
    "package",
    "program",
    "utility",
    "tool",
    "setting",
    "signal",
    "macro",
    "type",
    "file",
    "mode",
)
_OPTION_NOUNS = ("option", "flag", "switch", "argument", "parameter")
_NUMBER_PATTERNS = (
    r"^how (many|much|long|old|far|big|large|often|high|wide|deep)\b",
    r"\bwhat (number|percentage|percent|size|"
    r"amount|fraction|share|proportion|port|version|level|limit|width|length)\b",
    r"\b(how many|how much)\b",
)
_TIME_PATTERNS = (
    r"^when\b",
    r"\b(what|which) (year|date|day|month|time|century|decade|hour)\b",
    r"\bin what year\b",
    r"\bsince when\b",
    r"\bat what time\b",
)
_PERSON_PATTERNS = (
    r"^(who|whom|whose)\b",
    r"\b(who|whom)\b",
    r"\b(which|what) (\w+ )?(people|persons?|man|woman|men|women|author|authors|speaker|speakers|official|officials)\b",
)
_PLACE_PATTERNS = (r"^where\b", r"\bin (what|which) (country|city|town|place|state|region|directory|folder)\b")

_MONTHS = r"(jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|sep(t(ember)?)?|oct(ober)?|nov(ember)?|dec(ember)?)"
_WEEKDAYS = r"(monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_TIME_WORDS = (
    r"(today|yesterday|tomorrow|now|then|ago|century|decade|year|years|month|months|week|weeks|day|days|morning|evening|"
    r"night|noon|midnight|spring|summer|autumn|fall|winter|before|after|during|until|since|when|once|first|last|"
    r"later)"
)
_NUMBER_WORDS = (
    r"(zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
    r"seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|"
    r"million|billion|trillion|dozen|dozens|hundreds|thousands|millions|half|twice|once|single|double|triple|"
    r"several|few|many|no|none|all|unlimited|infinite)"
)

FUNCTION_WORDS = frozenset(
    """a an the and or but nor so yet of in on at to for from by with about as into onto upon over under
    between through during before after above below up down out off than then that this these those it its is are was were be been
    being has have had do does did not no if else when while which who whom whose what where why how there here such any all
    some each every either neither both only also just very can could may might must shall should will would he she they them
    his her their our your my we you i me us him one""".split()
)

_TITLES = frozenset(
    """mr mrs ms dr prof sir lord lady president vice secretary minister general state deputy chief senator governor
    mayor king queen prince princess pope bishop judge justice chairman chairwoman chair director ambassador commissioner
    chancellor premier prime defense defence foreign interior foreign affairs officer captain colonel lieutenant sergeant
    professor saint st""".split()
)

_SEVERAL = re.compile(
    r"^(what|which) (\w+ ){0,2}(options|flags|arguments|parameters|functions|methods|commands|countries|"
    r"people|persons|members|states|cities|files|steps|ways|reasons|values|modes|types|kinds|things|"
    r"languages|formats|fields|conditions|exceptions|errors|signals|variables|keys|tools|programs|"
    r"companies|groups|organisations|organizations|names|places|events|items|rights|obligations|"
    r"requirements|restrictions)\b|^(list|name) (all|the|every)\b|^what are (all )?the\b"
)


def expected_kind(question: str) -> Kind:
    """The kind of thing the question asks for, from its wording; "other" when the wording does not say."""
    q = " ".join(question.lower().replace("?", " ").split())
    for noun in _OPTION_NOUNS:
        if re.search(rf"\b(which|what)( \w+){{0,2}} {noun}s?\b", q) or re.search(rf"\b{noun}s? (do|does|should|can|must|will)\b", q):
            return "option"
    if any(re.search(p, q) for p in _TIME_PATTERNS):
        return "time"
    if any(re.search(p, q) for p in _NUMBER_PATTERNS):
        return "number"
    for noun in _IDENTIFIER_NOUNS:
        if re.search(rf"\b(which|what)( \w+){{0,2}} {noun}s?\b", q):
            return "identifier"
    if any(re.search(p, q) for p in _PERSON_PATTERNS):
        return "person"
    if any(re.search(p, q) for p in _PLACE_PATTERNS):
        return "place"
    return "other"


def asks_for_several(question: str) -> bool:
    """Whether the question asks for more than one thing ("Which countries ...", "What options ...",
    "List the ..."), so that several answers are what the person wants."""
    q = " ".join(question.lower().replace("?", " ").split())
    return bool(_SEVERAL.search(q))


def fits(kind: Kind, answer: str) -> bool | None:
    """Whether the answer looks like the kind of thing asked for; None when the kind says nothing
    ("other") or the shape cannot tell ("place" without a capital or a path)."""
    text = answer.strip()
    low = text.lower()
    if kind == "other" or not text:
        return None
    if kind == "option":
        return bool(re.search(r"(^|\s|[\[(])(-{1,2}[A-Za-z0-9?][\w-]*|\+[A-Za-z]\w*|/[A-Za-z]\b)", text)) or bool(
            re.fullmatch(r"[A-Za-z_][\w.-]*=\S*|[a-z][a-z0-9_-]*", text)
        )
    if kind == "number":
        return bool(re.search(r"\d", text)) or bool(re.search(rf"\b{_NUMBER_WORDS}\b", low))
    if kind == "time":
        return bool(re.search(r"\d", text)) or bool(re.search(rf"\b({_MONTHS}|{_WEEKDAYS}|{_TIME_WORDS})\b", low))
    if kind == "person":
        return bool(re.search(r"\b[A-Z][\w'’.-]+", text)) or bool(re.search(r"\b(he|she|they|users?|people|everyone|anyone)\b", low))
    if kind == "identifier":
        return bool(re.search(r"[A-Za-z_][\w.]*(\(\)|_\w|[a-z][A-Z]|\.\w)|`|^[A-Za-z_][\w.:-]*$|/|[A-Z]{2,}", text))
    if kind == "place":
        return bool(re.search(r"\b[A-Z][\w'’.-]+|/|~", text)) or None
    return None


def is_fragment(context: str, start: int, end: int) -> bool:
    """A span that is no answer on its own: nothing but function words or punctuation, a word cut in
    two, or part of a name ("Wendy" out of "Wendy Sherman"). `context` is the text the offsets point into."""
    text = context[start:end]
    words = re.findall(r"[\w'’-]+", text.lower())
    if not words or all(w in FUNCTION_WORDS for w in words):
        return True
    if start > 0 and context[start - 1].isalnum() and text[:1].isalnum():
        return True  # a word cut at its start
    if end < len(context) and context[end].isalnum() and text[-1:].isalnum():
        return True  # a word cut at its end
    return _cuts_a_name(context, start, end)


def _cuts_a_name(context: str, start: int, end: int) -> bool:
    """The span begins or ends inside a name: a capitalised word right before it (not a title, an
    acronym or a sentence's first word), or right after it, continues the name it cuts."""
    text = context[start:end].strip()
    words = text.split()
    if not words:
        return False
    before = re.search(r"([A-Z][\w'’.-]*)[ \t]+$", context[max(0, start - 40) : start])
    if before and not before.group(1).endswith(".") and words[0][:1].isupper() and _name_part(before.group(1)):
        if not _sentence_start(context, start - len(before.group(0))):
            return True
    after = re.match(r"[ \t]+([A-Z][\w'’-]*)", context[end : end + 40])
    return bool(after and words[-1][:1].isupper() and _name_part(words[-1]) and _name_part(after.group(1)))


def _name_part(word: str) -> bool:
    """A word that can be part of a person's or place's name: capitalised, not all capitals or digits, not a title."""
    w = word.strip(".,;:'’")
    return (
        len(w) > 1
        and w[0].isupper()
        and not w.isupper()
        and not any(ch.isdigit() for ch in w)
        and w.lower() not in FUNCTION_WORDS
        and w.lower() not in _TITLES
    )


def _sentence_start(context: str, pos: int) -> bool:
    before = context[max(0, pos - 3) : pos].rstrip(" \t")
    return not before or before[-1] in '.!?\n:;"“(•-–—' or pos == 0
