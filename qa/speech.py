"""What did X say? Statements a document attributes to a speaker, with exact character offsets.

Why: "What did Sherman say?" has an answer the extractive reader finds badly: the words are spread
over a tweet quoted one sentence after her name, a "because: “…”" and an "According to Wendy Sherman,
…" three paragraphs apart, and a neighbouring quote of someone else scores just as well. Attribution
is a matter of sentence structure, so a few regular expressions find it: fast (only the paragraphs
that mention the speaker are read), offline, no model.

Rules, all conservative (a wrong attribution is worse than a miss):
- quote: words in quotes tied to a mention of the speaker in the same sentence: 'X said: “…”',
  '“…,” X said', '“…,” said X', 'X: “…”', 'X speaks of a “…”', and 'X … because: “…”' when X is the
  only person the sentence names;
- reported: 'X said/stressed/warned/told reporters … that CLAUSE.' and 'CLAUSE, says X.';
- according-to: 'According to X, CLAUSE.' and 'CLAUSE, according to X.';
- quote-previous-sentence: a quote whose own sentence names no one (or says 'she said') and whose
  previous sentence names the speaker first, tied by a colon before the quote (with talk of speech
  around it: a speech verb, 'message', 'Twitter', …), a pronoun with a speech verb, or a speech verb
  of the speaker in the previous sentence (then only a quote that ends the sentence: 'were “not easy”.').
  A quote in a sentence with another speech verb ('is called “…”', 'is described as “…”', 'as it was
  later said') or another name is never attributed to a neighbour; nor is one in another paragraph.
Only paragraphs mentioning the speaker are read, and only a mention's sentence and the one after it.
The span is the quoted words without the marks (a trailing comma dropped) or the reported clause
without its final full stop.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass


class _lazy:  # noqa: N801 - used like re.compile
    """A regular expression compiled on first use: the patterns here take ~70 ms to compile, which a
    cold `qa ask` would pay even when no one asks what someone said."""

    def __init__(self, pattern: str, flags: int = 0):
        self.pattern, self.flags = pattern, flags
        self._compiled: re.Pattern[str] | None = None

    def __getattr__(self, name: str):
        if self._compiled is None:
            self._compiled = re.compile(self.pattern, self.flags)
        return getattr(self._compiled, name)


__all__ = ["Statement", "speaker_asked_about", "statements_by"]


def _char_class(predicate) -> str:
    """A regex character class of the characters (up to U+2FFF) for which predicate holds, as ranges."""
    ranges: list[tuple[int, int]] = []
    for code in range(0x3000):
        if predicate(chr(code)):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return "[" + "".join(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges) + "]"


_UP = _char_class(str.isupper)  # capital letters of any script, so 'Åsa Ødegård' is a name
_LOW = _char_class(str.islower)

# a capitalised word of a name: an initial 'J.', a short title with its dot, or 'O’Brien', 'NATO-Russia'
_ABBREV_TITLES = "Mr|Mrs|Ms|Dr|Gen|St|Jr|Sr|Sen|Gov|Rep|Prof|Col|Lt|Sgt|Capt|Rev|Hon|Adm|Maj|Cpl|Pres|Amb"
_WORD = rf"(?:(?:{_ABBREV_TITLES})\.|{_UP}\.(?!\w)|{_UP}(?:[\w\-]|[’'](?={_UP}))*)"
_PARTICLES = r"of|von|van|der|den|de|du|da|di|del|della|la|le|bin|ibn|al|el|y"
_RUN = rf"(?<![\w\-’'.]){_WORD}(?:(?:[ \t]+(?:{_PARTICLES})[ \t]+|[ \t]+|[ \t]*\n[ \t]*){_WORD})*(?![\w\-])"
_RUN_RE = _lazy(_RUN)
_PRONOUN = r"(?:[Hh]e|[Ss]he|[Tt]hey)"

_QUOTE_RE = _lazy(r"„([^„“”]{1,3000})[“”]|“([^“”]{1,3000})”|«([^«»]{1,3000})»|»([^«»]{1,3000})«|\"([^\"]{1,3000})\"")
_MASK_OPEN, _MASK_FILL = "\x01", "\x02"
_Q = "\x01\x02*"  # a masked quote, marks included

# speech verbs: 'X VERB “…”', '“…,” X VERB', and as a sign that someone other than a neighbour speaks
_VERB = (
    r"(?:said|says|say|saying|stated|states|wrote|writes|declared|declares|remarked|remarks|argued|argues|noted|notes|"
    r"added|adds|claimed|claims|explained|explains|commented|comments|insisted|insists|warned|warns|emphasi[sz]ed|"
    r"emphasi[sz]es|stressed|stresses|told|tells|tweeted|tweets|announced|announces|replied|replies|responded|responds|"
    r"answered|answers|asked|asks|continued|concluded|admitted|admits|confirmed|confirms|reiterated|reiterates|underlined|"
    r"underlines|recalled|promised|promises|acknowledged|acknowledges|maintained|maintains|pointed\s+out|points\s+out|"
    r"made\s+clear|makes\s+clear|put\s+it|puts\s+it|spoke\s+of|speaks\s+of|speaking\s+of|called\s+it|calls\s+it|"
    r"described\s+it\s+as|describes\s+it\s+as|assured|assures|predicted|predicts|countered|conceded|repeated|repeats)"
)
# words that, anywhere outside the quotes of a sentence, show the words are someone's label or someone else's speech
_OTHER_VOICE = _lazy(
    rf"\b(?:{_VERB}|call(?:s|ed)(?!\s+(?:on|upon|for|off|in)\b)|described|describes|dubbed|termed|so-called|known\s+as|"
    r"labell?ed|referred\s+to\s+as|reported|reportedly|quoted|according\s+to|According\s+to)\b"
)
_ADV = r"(?:(?:also|again|then|later|once|now|still|even|further|firmly|\w+ly)\s+){0,2}"
_AUX = r"(?:(?:has|have|had|would|will|did|does)\s+(?:(?:also|again|repeatedly|long)\s+)?(?:been\s+)?)?"
_APPOSITION = r"(?:,\s+(?:the|a|an|who|whose)\b[^,;:\x01\x02]{1,80},)?"
_SUBJ_VERB_RE = _lazy(rf"(?:(?P<run>{_RUN})|(?<!\w)(?P<pron>{_PRONOUN})(?!\w)){_APPOSITION}\s+{_ADV}{_AUX}(?P<verb>{_VERB})(?!\w)")
# the speaker named after the verb: 'said Sherman', 'says Secretary General Stoltenberg', 'said the top US diplomat Sherman'
_DESCRIPTORS = rf"(?:(?:the|a|an)\s+)?(?:(?:{_LOW}[\w\-’']*|[A-Z]{{2,}}|U\.S\.)\s+){{0,4}}?"
_TAIL = (
    r"(?:\s+(?:on|in|at|during|after|before|to|from|yesterday|today|tonight|last|this|earlier|later|again|recently)\b[^,;\x01]{0,60}"
    r"|,\s+(?:the|a|an|who|whose)\b[^;\x01]{0,100})?"
)
_END = r"\s*[.!?…]?[”\"’»)]*\s*$"

# Reported speech. 'told' takes an object ('told reporters that'); other verbs only a when/where ('said on Tuesday that').
_REPORT_VERB = (
    r"(?:said|says|say|saying|stated|states|wrote|writes|declared|declares|argued|argues|noted|notes|added|adds|claimed|"
    r"claims|explained|explains|insisted|insists|warned|warns|emphasi[sz]ed|emphasi[sz]es|emphasi[sz]ing|stressed|stresses|"
    r"stressing|told|tells|telling|tweeted|tweets|announced|announces|replied|replies|answered|admitted|admits|confirmed|"
    r"confirms|reiterated|reiterates|underlined|underlines|acknowledged|acknowledges|maintained|maintains|assured|"
    r"assures|predicted|predicts|conceded|repeated|repeats|pointed\s+out|points\s+out|made\s+clear|makes\s+clear)"
)
_WHEN = r"(?:on|in|at|during|after|before|to|from|yesterday|today|tonight|last|this|earlier|later|again|also|repeatedly|publicly|once)"
_WHEN_WORDS = frozenset(_WHEN[3:-1].split("|"))
_REPORTED_RE = _lazy(
    rf"(?:(?P<run>{_RUN})){_APPOSITION}\s+{_ADV}{_AUX}(?P<verb>{_REPORT_VERB})"
    rf"(?P<gap>(?:\s+(?:[\w\-’']+|U\.S\.)){{0,7}}?)\s+that\s+(?P<clause>\S)"
)
_REPORT_AFTER_VERB = r"(?:says|said|stated|states|added|adds|explained|explains|noted|notes|insisted|insists|argued|argues|claimed|claims|warned|warns|wrote|writes|tweeted|emphasi[sz]ed|emphasi[sz]es|stressed|stresses|told\s+reporters|concluded|continued|replied|admitted|confirmed|maintained)"  # noqa: E501
_CLAUSE_SAYS_RE = _lazy(
    rf",\s+(?:(?:{_REPORT_AFTER_VERB})\s+{_DESCRIPTORS}(?P<run1>{_RUN})|(?P<run2>{_RUN})\s+{_ADV}{_AUX}(?:{_REPORT_AFTER_VERB})){_TAIL}{_END}"
)
_ACCORDING_RE = _lazy(rf"(?<!\w)[Aa]ccording\s+to\s+{_DESCRIPTORS}(?P<run>{_RUN}),\s+(?P<clause>\S)")
_CLAUSE_ACCORDING_RE = _lazy(rf",\s+according\s+to\s+{_DESCRIPTORS}(?P<run>{_RUN}){_TAIL}{_END}")
_CLAUSE_CUT = _lazy(r";|,\s+(?:but|while|whereas|although|though)\s")

# capitalised words that start a sentence without naming anyone
_LOWER_NEXT = _lazy(rf"[ \t]+{_LOW}")
_ACTS = _lazy(rf"\s+{_ADV}{_AUX}{_VERB}(?!\w)|,\s+{_LOW}")
# a verb a third-person subject takes: 'Lavrov was', 'Lavrov disagreed', 'Lavrov insists' (not 'Stand by the principle')
_FINITE_NEXT = _lazy(
    r"[ \t]+(?:was|is|has|had|did|does|will|would|could|can|may|might|must|should|spoke|made|took|gave|came|went|got|put|set|left|"
    r"met|kept|saw|knew|thought|felt|stood|sat|ran|won|lost|sent|wrote|told|said|became|began|brought|held|led|"
    r"[a-z]+ed|[a-z]+[^s\W]s)\b"
)
# a colon ties a quote to the speaker of the previous sentence only when speech is in the air: 'spreads the message on
# Twitter. Stand by …: “…”', not 'arrived. The agenda lists one item: “…”'
_SPEECH_CUE = _lazy(
    rf"\b(?:{_VERB}|messages?|tweets?|tweeted|Twitter|posts?|posted|statements?|words|speech|interview|press|reporters|remarks|"
    r"spreads?|spread|wrote|writes|spoke|speaks|spoken|talked|letter|appeal|urged|urges)\b"
)
_GAP_STOP = _lazy(rf"(?<!\w)(?:{_PRONOUN}|I|we|[Ww]e)(?!\w)|[.;!?]")
_AFTER_SUBJ_VERB = _lazy(rf"\s*,?\s*(?:(?P<run>{_RUN})|(?P<pron>{_PRONOUN}))\s+{_ADV}{_AUX}{_VERB}(?!\w)(?![^.!?\x01]*\x01)")
_AFTER_VERB_SUBJ = _lazy(
    rf"\s*,?\s*{_VERB}\s+(?:{_DESCRIPTORS}(?P<run>{_RUN})|(?P<pron>{_PRONOUN}))(?![\w\-])(?=\s*(?:[,.;:!?…]|$)|\s+{_WHEN}\b)"
)
_NAME_COLON = _lazy(rf"\s*(?P<run>{_RUN})\s*:\s*")
_ONLY_QUOTE = _lazy(rf"\s*{_Q}\s*[.,]?\s*")
_END_RE = _lazy(_END)

_STARTERS = set(
    "a an the this that these those it its it’s it's i we you he she they his her their our my your one some many most all every "
    "each both either neither such other another no not yes in on at for from with by after before during while when where why how "
    "what who whom whose which if but and or nor as because since although though despite even only just so yet still then now "
    "also thus therefore hence however instead meanwhile moreover furthermore indeed finally first second third last next today "
    "yesterday tomorrow here there of to according everyone everybody nobody someone somebody anyone anything everything nothing "
    "something whether until unless once over under between against among without within about above below behind beyond into "
    "onto upon toward towards through throughout across along around near few several more less much".split()
)
_TITLES = set(
    "secretary general deputy vice minister ministry foreign defense defence interior finance state president prime chancellor "
    "senator governor mayor mr mrs ms dr prof professor sir dame lord lady king queen prince princess pope judge justice chief "
    "director chairman chairwoman chair commissioner ambassador spokesman spokeswoman spokesperson representative rep sen gov gen "
    "admiral colonel col captain capt lieutenant lt sergeant sgt commander officer envoy leader head ceo cfo cto coo executive "
    "of the rev hon adm maj pres amb under assistant acting former top".split()
)
_PREPOSITIONS = set(
    "for in to from on at of into across against toward towards near over under about throughout within inside outside "
    "between among upon onto via than like".split()
)
_DEMONYM = _lazy(r"(?:an|ian|ean|ese|ish|ic|i)$")


def _sentence_bounds(text: str, start: int, end: int, quotes: list[tuple[int, int, int, int]]) -> list[tuple[int, int]]:
    """Sentences of text[start:end] as (start, end), whitespace-trimmed, never split inside a quote, at an abbreviation
    ('a.m.', 'Mr.', 'U.S.', an initial) or a decimal point; a short line without a full stop (a heading) is a sentence."""
    inside = [(q[0], q[1]) for q in quotes]
    opens = [q[0] for q in inside]
    cuts = [start]
    for m in _BOUNDARY.finditer(text, start, end):
        cut = m.end()
        i = bisect.bisect_right(opens, cut - 1) - 1
        if i >= 0 and inside[i][0] < cut < inside[i][1]:
            continue
        if m.group("stop"):
            before = text[max(start, m.start() - 12) : m.start() + 1]
            if _ABBREVIATION.search(before):
                continue
            if text[m.start() + 1 : cut].strip() and _SAID_AFTER_QUOTE.match(text, cut, end):  # '“Go!” Sherman said.'
                continue
        else:  # a line break before a capital: a sentence end only after a heading-like short line
            line_start = text.rfind("\n", start, m.start()) + 1
            line = text[line_start : m.start()].rstrip()
            if not line or len(line) > 80 or line[-1] in ",;-–—(" or line.split()[-1].lower() in _STARTERS:
                continue
        cuts.append(cut)
    cuts.append(end)
    out = []
    for a, b in zip(cuts, cuts[1:]):
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if a < b:
            out.append((a, b))
    return out


_BOUNDARY = _lazy(rf"(?P<stop>[.!?…])[”\"’»)\]]*\s+(?=[{_UP[1:-1]}“\"„«»\d(\[•–—-])|[ \t]*\n\s*(?=[{_UP[1:-1]}“\"„«»•])")
_SAID_AFTER_QUOTE = _lazy(rf"(?:(?:{_RUN})\s+{_ADV}{_AUX}{_VERB}(?!\w)|{_VERB}\s)(?![^.!?“”\"„«»\n]*[“\"„«»])")
_ABBREVIATION = _lazy(
    rf"(?:(?<![\w.])(?:{_ABBREV_TITLES}|No|Nos|Vol|vs|Fig|Inc|Ltd|Co|Corp|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|approx|ca|cf|e\.g|i\.e)"
    r"|(?<![\w.])\w(?:\.\w)*|\.\w)\.$"
)


def _whole_word(text: str, words: str, start: int = 0, end: int | None = None):
    """(start, end) of each occurrence of words in text[start:end] as whole words (a literal search, fast on megabytes)."""
    pattern = re.compile(r"\s+".join(map(re.escape, words.split())) + r"(?![\w\-])")
    for m in pattern.finditer(text, start, len(text) if end is None else end):
        if m.start() == 0 or not (text[m.start() - 1].isalnum() or text[m.start() - 1] in "_-"):
            yield m.span()


def _paragraph_bounds(text: str) -> list[int]:
    """Offsets where paragraphs start (after a blank line), with 0 first: quotes never span one."""
    return [0] + [m.end() for m in re.finditer(r"\n[ \t\r]*\n", text)]


@dataclass(frozen=True)
class Statement:
    """What the text says the speaker said: text[start:end] == said."""

    start: int
    end: int
    said: str
    how: str  # 'quote' | 'reported' | 'according-to' | 'quote-previous-sentence'


@dataclass
class _Run:
    """A capitalised name (with its titles) in a sentence, outside the quotes."""

    start: int  # offset in the whole text
    end: int
    text: str
    blocking: bool  # may be a person or organisation acting in the sentence (not 'for Moscow', not 'European security')


class _Matcher:
    """Whether a mention names the asked speaker: the asked name as whole words, or, for an asked full name,
    a bare surname after the full name appeared."""

    def __init__(self, speaker: str, text: str):
        self.words = speaker.split()
        self.speaker = " ".join(self.words)
        self.full = re.compile(r"(?<![\w\-])" + r"\s+".join(map(re.escape, self.words)) + r"(?![\w\-])")
        self.text = text
        self._first_full: int | None = None

    @property
    def first_full(self) -> int:
        """Where the asked full name first appears (a bare surname counts only after it)."""
        if self._first_full is None:
            self._first_full = next((a for a, _ in _whole_word(self.text, self.speaker)), len(self.text))
        return self._first_full

    def __call__(self, run: _Run) -> bool:
        if self.full.search(run.text):
            return True
        if len(self.words) < 2 or run.start <= self.first_full:
            return False
        core = [w for w in run.text.split() if w.lower().rstrip(".") not in _TITLES and not w.isupper()]
        return bool(core) and core[-1] == self.words[-1] and set(core) <= set(self.words)


class _Sentence:
    """One sentence with its quotes masked (same length, so offsets hold) and its names."""

    def __init__(self, text: str, start: int, end: int, quotes: list[tuple[int, int, int, int]], paragraph: tuple[int, int], is_speaker):
        self.start, self.end, self.paragraph, self.is_speaker = start, end, paragraph, is_speaker
        self.quotes = [q for q in quotes if start <= q[0] and q[1] <= end]
        chars = list(text[start:end])
        for q in self.quotes:
            chars[q[0] - start : q[1] - start] = _MASK_OPEN + _MASK_FILL * (q[1] - q[0] - 1)
        self.masked = "".join(chars)
        self.runs = self._runs(text)

    def _runs(self, text: str) -> list[_Run]:
        out = []
        for m in _RUN_RE.finditer(self.masked):
            a, b = m.span()
            words = list(re.finditer(r"\S+", m.group()))
            if self.masked[:a].strip() == "":  # the sentence's first word is capitalised anyway
                while words and words[0].group().lower() in _STARTERS:
                    words.pop(0)
                if not words:
                    continue
                word = words[0].group()
                if len(words) == 1 and not self._name_at_start(text, word, b) and not self.is_speaker(_Run(b - len(word), b, word, True)):
                    continue
                a = m.start() + words[0].start()
            elif all(w.group().lower() in _STARTERS for w in words):  # 'I', 'The' after a colon
                continue
            before = self.masked[:a].split()
            after = self.masked[b:]
            prepositional = bool(before) and before[-1].lower() in _PREPOSITIONS
            attributive = bool(_LOWER_NEXT.match(after)) and (
                _DEMONYM.search(m.group()) is not None
                and len(words) == 1
                and not _FINITE_NEXT.match(after)
                or m.group().isupper()
                or any(w.lower() in ("the", "a", "an", "its", "their") for w in before[-3:])
            )
            out.append(_Run(self.start + a, self.start + b, self.masked[a:b], not (prepositional or attributive)))
        return out

    def _name_at_start(self, text: str, word: str, end: int) -> bool:
        """A capitalised first word is a name when it acts ('Lavrov said', 'Lavrov, however,') or appears capitalised
        inside a sentence elsewhere ('For Grushko it is'), not when it is an ordinary word ('Stand by the principle')."""
        after = self.masked[end:]
        if _ACTS.match(after) or _FINITE_NEXT.match(after):
            return True
        return any(re.match(r"[\w,;]\s", text[a - 2 : a]) for a, _ in _whole_word(text, word, *self.paragraph))

    def speaker_runs(self, is_speaker) -> list[_Run]:
        return [r for r in self.runs if is_speaker(r)]

    def others(self, is_speaker) -> list[_Run]:
        return [r for r in self.runs if r.blocking and not is_speaker(r)]


@dataclass(frozen=True)
class _Tie:
    """The mention a same-sentence pattern ties a quote to: a name run or a pronoun."""

    text: str
    start: int
    pronoun: bool


def _quote_ties(s: _Sentence, q: tuple[int, int, int, int]) -> list[_Tie]:
    """Who the sentence says speaks the quote: 'X said: “…”', '“…,” X said', '“…,” said X', 'X: “…”'."""
    ties = []
    a, b = q[0] - s.start, q[1] - s.start
    before, after = s.masked[:a], s.masked[b:]
    # X VERB [a few words] [,:] “…”: the last speech verb before the quote, close to it
    last = None
    for m in _SUBJ_VERB_RE.finditer(before):
        last = m
    if last is not None:
        gap = before[last.end() :]
        gap_words = gap.replace(",", " ").replace(":", " ").split()
        ok = (
            len(gap_words) <= 6
            and _MASK_OPEN not in gap
            and not _GAP_STOP.search(gap)
            and all(not w[0].isupper() or i > 0 and gap_words[i - 1].lower() in _PREPOSITIONS for i, w in enumerate(gap_words))
        )
        if ok:
            ties.append(_tie(last, s.start))
    # “…,” X VERB / “…,” VERB X
    if after_subj := _AFTER_SUBJ_VERB.match(after):
        ties.append(_tie(after_subj, s.start + b))
    if after_verb := _AFTER_VERB_SUBJ.match(after):
        ties.append(_tie(after_verb, s.start + b))
    # X: “…”
    if colon := _NAME_COLON.fullmatch(before):
        ties.append(_tie(colon, s.start))
    return ties


def _tie(m: re.Match, offset: int) -> _Tie:
    if m.group("run") and m.group("run").lower() not in ("he", "she", "they"):
        return _Tie(m.group("run"), offset + m.start("run"), False)
    return _Tie(m.group("pron"), offset + m.start("pron"), True)


def _quote_said(text: str, q: tuple[int, int, int, int]) -> tuple[int, int] | None:
    """The quoted words without the marks, surrounding blanks or a trailing comma."""
    a, b = q[2], q[3]
    while a < b and text[a].isspace():
        a += 1
    while b > a and (text[b - 1].isspace() or text[b - 1] in ",;:"):
        b -= 1
    return (a, b) if b > a else None


def _clause(text: str, s: _Sentence, a: int, b: int | None = None) -> tuple[int, int] | None:
    """A reported clause from offset a (in the sentence) to b or the sentence's end: cut at ';' or ', but', without the
    final full stop; None when it is one quote (then the quote rule speaks) or shorter than two words."""
    b = len(s.masked) if b is None else b
    cut = _CLAUSE_CUT.search(s.masked, a, b)
    if cut:
        b = cut.start()
    body = s.masked[a:b].rstrip()
    body = body.rstrip(".!?…").rstrip()  # a quote at the end keeps its closing mark: it is masked
    b = a + len(body)
    core = body.strip(" ,:")
    if len(core.split()) < 2 or _ONLY_QUOTE.fullmatch(body):
        return None
    return s.start + a, s.start + b


def _statements_in_paragraph(text: str, start: int, end: int, mentions: list[int], is_speaker: _Matcher) -> list[Statement]:
    """The speaker's statements in one paragraph; only the sentences with a mention (at the offsets given) and the
    sentences right after them are read."""
    quotes = []
    for m in _QUOTE_RE.finditer(text, start, end):
        g = next(i for i in range(1, 6) if m.group(i) is not None)
        quotes.append((m.start(), m.end(), m.start(g), m.end(g)))
    bounds = _sentence_bounds(text, start, end, quotes)
    starts = [a for a, _ in bounds]
    with_mention = sorted({bisect.bisect_right(starts, pos) - 1 for pos in mentions} - {-1})
    cache: dict[int, _Sentence] = {}

    def sentence(k: int) -> _Sentence:
        if k not in cache:
            cache[k] = _Sentence(text, *bounds[k], quotes, (start, end), is_speaker)
        return cache[k]

    out: list[Statement] = []

    def add(span: tuple[int, int] | None, how: str) -> None:
        if span:
            out.append(Statement(span[0], span[1], text[span[0] : span[1]], how))

    for k in sorted({k for j in with_mention for k in (j, j + 1) if k < len(bounds)}):
        s = sentence(k)
        prev = sentence(k - 1) if k > 0 and k - 1 in with_mention else None
        mine = s.speaker_runs(is_speaker) if k in with_mention else []
        if not mine and (prev is None or not prev.speaker_runs(is_speaker)):
            continue
        for q in s.quotes:
            ties = _quote_ties(s, q)
            if ties:
                if len({t.text for t in ties}) > 1:  # two speakers claim it: leave it
                    continue
                tie = ties[0]
                if not tie.pronoun:
                    if is_speaker(_Run(tie.start, tie.start + len(tie.text), tie.text, True)):
                        add(_quote_said(text, q), "quote")
                    continue
                # 'she said: “…”': the speaker is the one the previous sentence names first, if it names no one else
                if prev is not None and not mine and not s.others(is_speaker) and _first_named(prev, is_speaker):
                    if not prev.others(is_speaker):
                        add(_quote_said(text, q), "quote-previous-sentence")
                continue
            a = q[0] - s.start
            colon = re.search(r":\s*$", s.masked[:a]) is not None
            other_voice = _OTHER_VOICE.search(s.masked) is not None
            if mine:  # 'X … because: “…”': X the only one named, a colon before the quote
                if colon and not s.others(is_speaker) and mine[0].start < q[0] and not _OTHER_VOICE.search(s.masked, 0, a):
                    add(_quote_said(text, q), "quote")
                continue
            if prev is None or s.others(is_speaker) or other_voice or not _first_named(prev, is_speaker):
                continue
            if colon and (_SPEECH_CUE.search(prev.masked) or _SPEECH_CUE.search(s.masked, 0, a)):
                add(_quote_said(text, q), "quote-previous-sentence")
            elif _speaks(prev, is_speaker) and _END_RE.fullmatch(s.masked[q[1] - s.start :]):
                add(_quote_said(text, q), "quote-previous-sentence")
        if not mine:
            continue
        for m in _REPORTED_RE.finditer(s.masked):
            run = _run_of(m, "run", s.start)
            gap = m.group("gap").split()
            told = m.group("verb").startswith(("told", "tell"))
            if not is_speaker(run) or gap and not told and gap[0].lower() not in _WHEN_WORDS:
                continue
            if not told and any(w[0].isupper() and gap[i - 1].lower() not in _PREPOSITIONS for i, w in enumerate(gap) if i):
                continue
            add(_clause(text, s, m.start("clause")), "reported")
        says = _CLAUSE_SAYS_RE.search(s.masked)
        if says and re.search(r"\w", s.masked[: says.start()]):
            name = "run1" if says.group("run1") else "run2"
            run = _run_of(says, name, s.start)
            if is_speaker(run):
                add(_clause(text, s, 0, says.start()), "reported")
        for m in _ACCORDING_RE.finditer(s.masked):
            if is_speaker(_run_of(m, "run", s.start)):
                add(_clause(text, s, m.start("clause")), "according-to")
        according = _CLAUSE_ACCORDING_RE.search(s.masked)
        if according and re.search(r"\w", s.masked[: according.start()]) and is_speaker(_run_of(according, "run", s.start)):
            add(_clause(text, s, 0, according.start()), "according-to")
    return out


def _run_of(m: re.Match, group: str, offset: int) -> _Run:
    """The name a pattern matched, as a run at its offset in the text."""
    return _Run(offset + m.start(group), offset + m.end(group), m.group(group), True)


def _first_named(s: _Sentence, is_speaker) -> bool:
    """The sentence's first name that may act (not 'in Brussels') is the speaker."""
    acting = [r for r in s.runs if r.blocking or is_speaker(r)]
    return bool(acting) and is_speaker(acting[0])


def _speaks(s: _Sentence, is_speaker) -> bool:
    """The speaker is the subject of a speech verb in the sentence ('Stoltenberg emphasized', 'Grushko speaks of')."""
    for m in _SUBJ_VERB_RE.finditer(s.masked):
        if m.group("run") and is_speaker(_run_of(m, "run", s.start)):
            return True
    return False


def _dedupe(found: list[Statement]) -> list[Statement]:
    """Text order; of overlapping statements keep the one that contains the other (else the first)."""
    found = sorted(set(found), key=lambda x: (x.start, -(x.end - x.start)))
    out: list[Statement] = []
    for st in found:
        if out and st.start < out[-1].end:
            if st.end > out[-1].end and st.start == out[-1].start:
                out[-1] = st
            continue
        out.append(st)
    return out


_MAX_PARAGRAPH = 20_000


def statements_by(speaker: str, text: str) -> list[Statement]:
    """Every statement the text attributes to the speaker, in text order, no duplicates or overlaps.

    Only paragraphs that mention the speaker's last name are read (a quote may sit one sentence after the name,
    never in another paragraph), so a long document costs one search plus a few paragraphs."""
    words = speaker.split()
    if not words or not text:
        return []
    is_speaker = _Matcher(speaker, text)
    by_paragraph: dict[tuple[int, int], list[int]] = {}
    paragraphs = _paragraph_bounds(text)
    for pos, _ in _whole_word(text, words[-1]):
        i = bisect.bisect_right(paragraphs, pos) - 1
        a = paragraphs[i]
        b = paragraphs[i + 1] if i + 1 < len(paragraphs) else len(text)
        if b - a > _MAX_PARAGRAPH:  # no blank lines: a window of whole lines around the mention
            a = max(a, text.rfind("\n", a, max(a, pos - _MAX_PARAGRAPH // 4)) + 1)
            nl = text.find("\n", min(b, pos + _MAX_PARAGRAPH // 4), b)
            b = b if nl < 0 else nl
            near = next((key for key in by_paragraph if key[0] <= pos < key[1] - _MAX_PARAGRAPH // 8), None)
            if near:
                a, b = near
        by_paragraph.setdefault((a, b), []).append(pos)
    found: list[Statement] = []
    for (a, b), mentions in by_paragraph.items():
        found.extend(_statements_in_paragraph(text, a, b, mentions, is_speaker))
    return _dedupe(found)


# ---- the question ------------------------------------------------------------------------------------------------

_ASK_VERB = (
    r"(?:say|said|saying|tell|told|telling|tweet|tweeted|tweeting|write|wrote|written|writing|announce|announced|claim|claimed|"
    r"claiming|warn|warned|warning|state|stated|declare|declared|argue|argued|stress|stressed|emphasi[sz]e|emphasi[sz]ed|"
    r"reply|replied|answer|answered|respond|responded|add|added|post|posted|comment|commented|report|reported|"
    r"promise|promised|admit|admitted|insist|insisted|explain|explained|have\s+to\s+say|been\s+saying|"
    r"quoted\s+as\s+saying)"
)
_ASK_NAME = rf"(?:(?:the|The)\s+)?(?P<name>{_WORD}(?:(?:[ \t]+(?:{_PARTICLES})[ \t]+|[ \t]+){_WORD})*)"
_ASK_SAID = _lazy(
    rf"\s*[Ww]hat\s+(?:did|does|do|has|have|had|is|was|were|are)\s+{_ASK_NAME}\s+"
    rf"(?:(?:just|also|actually|really|recently|publicly|officially|then|later|first|last|again|exactly)\s+)?{_ASK_VERB}(?!\w)[^?]*\?*\s*"
)
_ASK_WORDS = _lazy(
    rf"\s*[Ww]hat\s+(?:were|are|was|is)\s+{_ASK_NAME}[’']s?\s+(?:(?:exact|actual|own|main|key|last|latest|final|first|central)\s+)?"
    r"(?:words|message|messages|statement|statements|remarks|comment|comments|response|reply|answer|quote|quotes|tweet|tweets|"
    r"warning|claim|claims)(?!\w)[^?]*\?*\s*"
)
_NOT_ASKED = {"he", "she", "they", "it", "i", "you", "we", "this", "that", "these", "those", "who", "one", "someone", "everyone", "anyone"}


def speaker_asked_about(question: str) -> str | None:
    """'What did Sherman say?' -> 'Sherman'; also 'What did Wendy Sherman say about NATO?', 'What has X said?',
    'What does X say?', 'What did X tell reporters?', 'What did X tweet/write/announce/claim/warn?', 'What were X's words?',
    "What was X's message?"; None for any other question (e.g. 'What did the treaty establish?' -> None:
    only names of persons or organisations (capitalised), not 'the treaty'; 'What did he say?' -> None).

    Leading titles are dropped ('Secretary General Stoltenberg' -> 'Stoltenberg') so the name matches every mention."""
    m = _ASK_SAID.fullmatch(question) or _ASK_WORDS.fullmatch(question)
    if not m:
        return None
    words = m.group("name").split()
    if words[0].lower() in _NOT_ASKED:
        return None
    titles = [i for i, w in enumerate(words) if w.lower().rstrip(".") in _TITLES]
    if titles:  # the name after the titles: 'NATO Secretary General Jens Stoltenberg' -> 'Jens Stoltenberg'
        words = words[titles[-1] + 1 :]
    return " ".join(words) or None
