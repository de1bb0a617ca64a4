"""Made-up questions over manuals and API docs: which option or function does X, what does Y do,
what does a parameter default to.

Why: SQuAD is Wikipedia prose, and the reader trained on it finds the right passage of a man page
or a module's documentation but rarely picks the option or function name in it as the span
(`--remove-files` is in the passage, the answer is something else).
Manuals state their facts in a fixed layout (an option line, then what it does; a signature, then
its docstring), so questions with known answers can be made from them by rule: the description
turned into a question, the name as the answer, and the reverse. The pages and modules that
`bench/nonwiki.py` asks about are never used (`EXCLUDED_MAN`, `EXCLUDED_MODULES`).

    python -m qa.train.data.manuals --out ~/qa-runs/manuals.json --man-pages 600

renders man pages with `man` and `col -bx` (as the benchmark does) and Python's own modules with
pydoc, cuts each into the product's chunks (`qa.chunking`), and writes a SQuAD-format file: one
article per document, one paragraph per chunk, each question in the first chunk that holds both
its answer and the words it was made from. `qa.train.reader --manuals` reads it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import NamedTuple

# what bench/nonwiki.py asks about (tests/train/test_data.py checks these cover its lists)
EXCLUDED_MAN = {"tar", "grep", "find", "sed", "ls", "cp", "chmod", "gzip"}
EXCLUDED_MODULES = {"gzip", "json", "csv", "textwrap", "shutil", "zipfile", "tarfile", "argparse"}
# modules that do something when imported, or that are not documentation
_UNSAFE_MODULES = {"antigravity", "this", "idlelib", "turtledemo", "tkinter", "turtle", "__hello__", "__phello__",
                   "lib2to3", "ensurepip", "pydoc_data", "xxsubtype", "xxlimited", "xxlimited_35", "_xxsubinterpreters",
                   "_xxinterpchannels", "_testcapi", "_testinternalcapi", "_testmultiphase", "_testbuffer", "_testimportmultiple",
                   "_testsinglephase", "_testclinic"}


class Entry(NamedTuple):
    """One documented name: where the name is in the text, and its description's first sentence."""

    name_start: int
    name_end: int
    desc_start: int
    desc_end: int
    signature: str = ""  # a function's parameter list (API docs only)
    sig_start: int = -1  # where the parameter list starts in the text
    owner: str = ""  # a method's class (API docs only)


class Made(NamedTuple):
    question: str
    answer_start: int
    answer_end: int
    needs: tuple[int, int]  # the span of text the question was made from: its chunk must hold it too


# a man page's option line: 5 to 7 spaces, then options ("-c, --bytes=[-]NUM"), then perhaps the description
_OPTION_LINE = re.compile(r"^( {5,7})(-[^\s,].*?)(?: {2,}|\t|$)(.*)$")
_OPTION = re.compile(r"(?<![\w-])--?[A-Za-z0-9?][\w\-]*")
_FUNCTION = re.compile(r"^(?P<lead> {4}(?:\|  )?| {5}\|  )(?P<name>[A-Za-z_]\w*)\((?P<sig>[^()]*(?:\([^()]*\)[^()]*)*)\)(?: -> .*)?$")
_SENTENCE_END = re.compile(r"(?<![.\w]\.\w)(?<!e\.g)(?<!i\.e)(?<!etc)[.;:](?=\s|$)|\n[ |]*\n")
_PROTOCOL_TAG = re.compile(r"\([A-Z0-9 /]+\) +")
_CLASS = re.compile(r"^ {4}class (\w+)")
_INHERITED = re.compile(r"^ {4,5}\|  \w[\w ]* inherited from ")
_SECTION = re.compile(r"^ {4,5}\|  \w[\w ]* defined here:$|^[A-Z][A-Z ]+$")
_NOT_VERB = {"the", "a", "an", "this", "that", "these", "those", "if", "when", "with", "without", "for", "in", "on", "at",
             "by", "as", "same", "equivalent", "like", "default", "note", "see", "only", "all", "each", "any", "no",
             "normally", "also", "alias", "synonym", "deprecated", "obsolete", "it", "its", "is", "are", "was", "be",
             "new", "used", "useful", "implies", "currently", "specifies", "there",
             "one", "two", "but", "or", "and", "to", "from", "how", "what", "which", "whether", "where", "usually", "shorthand",
             "ignored", "long", "short", "optional", "number", "unless", "multiple", "since", "valid", "possible",
             "instead", "similar", "you", "your", "our", "my", "true", "false", "none", "abbreviation", "option", "options",
             "argument"}
_ADVERBS = {"never", "always", "only", "also", "not", "automatically", "recursively", "silently", "just", "quietly"}
_LITERAL = re.compile(r"^(?:-?\d+(?:\.\d+)?|True|False|None|'[^']{0,20}'|\"[^\"]{0,20}\")$")


def lines_and_offsets(text: str) -> tuple[list[str], list[int]]:
    """The text's lines (with their line ends) and where each starts."""
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    return lines, offsets


def man_entries(text: str) -> list[Entry]:
    """Option lines of a rendered man page and the first sentence of what each does."""
    entries = []
    lines, offsets = lines_and_offsets(text)
    for i, line in enumerate(lines):
        m = _OPTION_LINE.match(line.rstrip("\n"))
        if not m or (i and lines[i - 1].rstrip().endswith(",")):
            continue  # not an option line, or the rest of a list of options (gcloud's "wide flags")
        names = list(_OPTION.finditer(m.group(2)))
        if not names:
            continue
        base = offsets[i] + m.start(2)
        name_start, name_end = base + names[0].start(), base + names[-1].end()
        if m.group(3).strip():
            desc_start = offsets[i] + m.start(3)
        else:
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            indent = len(nxt) - len(nxt.lstrip(" "))
            if indent <= len(m.group(1)) or not nxt.strip():
                continue
            desc_start = offsets[i + 1] + indent
        tag = _PROTOCOL_TAG.match(text, desc_start)  # curl's "(HTTP) Connect through ..."
        desc_start = tag.end() if tag else desc_start
        if not text[desc_start:desc_start + 1].isalpha():
            continue  # a list of more options (gcloud's "wide flags"), not a description
        end = first_sentence_end(text, desc_start)
        if end > desc_start:
            entries.append(Entry(name_start, name_end, desc_start, end))
    return entries


def pydoc_entries(text: str) -> list[Entry]:
    """Functions and methods in pydoc's plain-text rendering, with their docstrings' first sentence."""
    entries = []
    lines, offsets = lines_and_offsets(text)
    owner, inherited = "", False
    for i, line in enumerate(lines[:-1]):
        if c := _CLASS.match(line):
            owner, inherited = c.group(1), False
        elif _SECTION.match(line.rstrip("\n")):
            owner = owner if line.startswith(" ") else ""
            inherited = False
        elif _INHERITED.match(line):
            inherited = True  # documented under its own class already
        m = _FUNCTION.match(line.rstrip("\n"))
        if not m or m.group("name").startswith("_") or inherited:
            continue
        nxt = lines[i + 1].rstrip("\n")
        body = nxt[len(m.group("lead")):] if nxt.startswith(m.group("lead")) else ""
        stripped = body.lstrip(" ")
        if len(body) - len(stripped) < 4 or not re.match(r"[A-Za-z]+\b(?![.(\[])", stripped):
            continue  # no docstring, or one that opens with a signature ("D.get(k[,d]) -> ...")
        desc_start = offsets[i + 1] + len(nxt) - len(stripped)
        end = first_sentence_end(text, desc_start)
        if end > desc_start:
            start = offsets[i] + m.start("name")
            entries.append(Entry(start, offsets[i] + m.end("name"), desc_start, end, m.group("sig"), offsets[i] + m.start("sig"),
                                 owner if m.group("lead").strip() else ""))
    return entries


def first_sentence_end(text: str, start: int, limit: int = 240) -> int:
    """End of the sentence (or clause) that starts at `start`: a full stop, semicolon or colon, or a blank line."""
    m = _SENTENCE_END.search(text, start, min(len(text), start + limit))
    return m.start() if m else -1


def base_form(word: str) -> str | None:
    """The bare infinitive of a description's first word ("prints" -> "print"), or None if it is not a verb."""
    w = word.lower()
    if not w.isalpha() or w in _NOT_VERB or w.endswith(("ing", "ed", "ly")) or len(w) < 2:
        return None
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith(("sses", "shes", "ches", "xes", "zes")):
        return w[:-2]
    if w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


def third_person(word: str) -> str:
    if word == "be":
        return "is"
    if word == "have":
        return "has"
    if word.endswith(("s", "sh", "ch", "x", "z", "o")):
        return word + "es"
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def _phrase(desc: str, max_words: int = 18) -> list[str] | None:
    """The description as verb-first words, or None when it does not start with a verb."""
    words = desc.rstrip(".,;: ").split()
    if len(words) < 2:
        return None
    if len(words) > max_words:
        cut = next((i for i in range(max_words, 3, -1) if words[i - 1].endswith(",")), max_words)
        words = words[:cut]
        words[-1] = words[-1].rstrip(",")
    lead = 1 if words[0].lower() in _ADVERBS and words[0].lower() != "not" else 0
    if words[0].lower() in ("do", "don't") and len(words) > 2 and words[1].lower() == "not":
        verb = base_form(words[2])
        return ["not", verb, *words[3:]] if verb else None
    verb = base_form(words[lead])
    if not verb:
        return None
    return [w.lower() for w in words[:lead]] + [verb, *words[lead + 1:]]


def which_question(subject: str, kind: str, desc: str, rng: random.Random) -> str | None:
    """'Which <subject> <kind> <does what it says>?', in one of a few wordings."""
    words = _phrase(desc)
    if not words:
        return None
    rest = " ".join(words)
    if words[0] == "not":
        return rng.choice([f"Which {kind} tells {subject} not to {' '.join(words[1:])}?",
                           f"Which {subject} {kind} is used to not {' '.join(words[1:])}?"])
    adverb = words[0] in _ADVERBS
    conj = (f"{words[0]} {third_person(words[1])} " + " ".join(words[2:])) if adverb else f"{third_person(words[0])} " + " ".join(words[1:])
    return rng.choice([
        f"Which {subject} {kind} {conj.strip()}?",
        f"Which {kind} of {subject} is used to {rest}?",
        f"How do I {rest} with {subject}?",
        f"What {kind} do you use to {rest} in {subject}?",
    ])


def what_question(subject: str, name: str, kind: str, rng: random.Random) -> str:
    return rng.choice([f"What does the {name} {kind} of {subject} do?", f"What does {name} do in {subject}?",
                       f"What is {subject}'s {name} {kind} for?"])


def said_twice(text: str, entries: list[Entry]) -> set[str]:
    """Descriptions that two entries of one document share ("Return the index where to insert item x" for
    both bisect_left and bisect_right): a "which one does this?" question about them has two right answers."""
    seen = Counter(" ".join(text[e.desc_start:e.desc_end].split()).lower() for e in entries)
    return {d for d, n in seen.items() if n > 1}


def man_questions(text: str, command: str, rng: random.Random) -> list[Made]:
    made = []
    entries = man_entries(text)
    twice = said_twice(text, entries)
    for e in entries:
        desc = " ".join(text[e.desc_start:e.desc_end].split())
        q = None if desc.lower() in twice else which_question(command, "option", desc, rng)
        if q:
            made.append(Made(q, e.name_start, e.name_end, (e.desc_start, e.desc_end)))
        names = _OPTION.findall(text[e.name_start:e.name_end])
        name = max(names, key=len)
        if len(desc.split()) >= 3:
            made.append(Made(what_question(command, name, "option", rng), e.desc_start, e.desc_end, (e.name_start, e.name_end)))
    return made


def pydoc_questions(text: str, module: str, rng: random.Random) -> list[Made]:
    made = []
    entries = pydoc_entries(text)
    twice = said_twice(text, entries)
    for e in entries:
        name = text[e.name_start:e.name_end]
        desc = " ".join(text[e.desc_start:e.desc_end].split())
        subject, kind = (f"{module}.{e.owner}", "method") if e.owner else (module, "function")
        q = None if desc.lower() in twice else which_question(subject, kind, desc, rng)
        if q:
            made.append(Made(q, e.name_start, e.name_end, (e.desc_start, e.desc_end)))
        if len(desc.split()) >= 3:
            q = rng.choice([f"What does {subject}.{name}() do?", f"What does the {name} {kind} of {subject} do?",
                            f"What is {name} in {subject} for?"])
            made.append(Made(q, e.desc_start, e.desc_end, (e.name_start, e.name_end)))
        for m in re.finditer(r"(?:^|, )(?P<param>\w+)=(?P<value>[^,]+)", e.signature):
            value = m.group("value").strip()
            if _LITERAL.match(value) and (value != "None" or rng.random() < 0.2):  # most defaults are None: fewer of those
                s = e.sig_start + m.start("value")
                q = rng.choice([f"What is the default value of {m.group('param')} in {name}?",
                                f"What does {m.group('param')} default to in {subject}.{name}()?",
                                f"By default, what is the {m.group('param')} of {name}?"])
                made.append(Made(q, s, s + len(value), (e.name_start, e.name_end)))
    return made


def squad_article(title: str, text: str, made: list[Made], chunk_size: int = 800, chunk_overlap: int = 120) -> dict | None:
    """One SQuAD article: the document's chunks as paragraphs, each question in the first chunk holding
    its answer and what it was made from (questions no chunk holds whole are dropped)."""
    from qa.chunking import split_document
    from qa.documents import Document

    spans = split_document(Document(id=title, text=text, sha256="", kind="text"), chunk_size, chunk_overlap)
    paragraphs = [{"context": text[s:e], "qas": []} for s, e in spans]
    for n, q in enumerate(made):
        lo, hi = min(q.answer_start, q.needs[0]), max(q.answer_end, q.needs[1])
        at = next((i for i, (s, e) in enumerate(spans) if s <= lo and hi <= e), None)
        if at is None:
            continue
        s = spans[at][0]
        answer = text[q.answer_start:q.answer_end]
        paragraphs[at]["qas"].append({"id": f"{title}#{n}", "question": q.question,
                                      "answers": [{"text": answer, "answer_start": q.answer_start - s}]})
    paragraphs = [p for p in paragraphs if p["context"].strip()]
    return {"title": title, "paragraphs": paragraphs} if any(p["qas"] for p in paragraphs) else None


def render_man(page: str, timeout: float = 30) -> str:
    """A man page as plain text, as a terminal 90 columns wide shows it (also bench/nonwiki.py's corpus)."""
    env = {**os.environ, "MANWIDTH": "90", "MAN_KEEP_FORMATTING": "0"}
    out = subprocess.run(["man", page], capture_output=True, text=True, env=env, timeout=timeout, errors="replace").stdout
    return subprocess.run(["col", "-bx"], input=out, capture_output=True, text=True, timeout=timeout).stdout


def render_module(name: str) -> str:
    """A module's pydoc documentation as plain text (also bench/nonwiki.py's corpus)."""
    import importlib
    import pydoc

    return pydoc.render_doc(importlib.import_module(name), renderer=pydoc.plaintext)


def man_pages(section: Path = Path("/usr/share/man/man1")) -> list[str]:
    names = sorted({p.name.split(".")[0] for p in section.glob("*.1.gz")} if section.is_dir() else set())
    # no "_": gcloud alone has thousands of sub-command pages, all with the same list of flags
    return [n for n in names if n not in EXCLUDED_MAN and re.fullmatch(r"[a-z][a-z0-9\-.+]*", n)]


def modules() -> list[str]:
    return sorted(m for m in sys.stdlib_module_names if not m.startswith("_") and m not in EXCLUDED_MODULES | _UNSAFE_MODULES)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--man-pages", type=int, default=600, help="how many man pages (section 1, a fixed random sample)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--only", nargs="*", metavar="KIND/NAME",
                   help="just these (man/tar python/json ...), excluded ones too: a held-out set made the same way")
    args = p.parse_args(argv)
    rng = random.Random(args.seed)
    if args.only is not None:
        pages = [n.split("/", 1)[1] for n in args.only if n.startswith("man/")]
        mods = [n.split("/", 1)[1] for n in args.only if n.startswith("python/")]
    else:
        pages = man_pages()
        pages, mods = sorted(rng.sample(pages, min(args.man_pages, len(pages)))), modules()
    data, counts = [], {"man": 0, "python": 0, "questions": 0}
    for kind, names in (("man", pages), ("python", mods)):
        for name in names:
            try:
                text = render_man(name) if kind == "man" else render_module(name)
            except Exception as e:  # noqa: BLE001 - a page or module that will not render is skipped
                print(f"skipped {kind}/{name}: {type(e).__name__}", file=sys.stderr)
                continue
            made = man_questions(text, name, rng) if kind == "man" else pydoc_questions(text, name, rng)
            article = squad_article(f"{kind}/{name}", text, made)
            if article:
                data.append(article)
                counts[kind] += 1
                counts["questions"] += sum(len(p["qas"]) for p in article["paragraphs"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"version": "manuals", "data": data}), encoding="utf-8")
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
