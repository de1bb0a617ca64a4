"""Check the trust question sets: format, answers as exact substrings of the extracted text, split by document.

Run as `.venv/bin/python bench/trust/check_sets.py [KIND ...]`. Every bench/trust/questions/*.jsonl is
loaded (or only the named kinds); documents are read with the product's own reader (qa.documents), so an
answer must occur in the text exactly as the product sees it (the visible text of HTML, extracted PDF text).
Exits non-zero when any problem is found; prints per-kind counts either way. With TRUST_RESERVED set
(comma-separated names), also fails on any committed file of the checked kinds that contains one of them.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent.parent))

from qa.documents import FileState, read_document  # noqa: E402

KINDS = {"news", "manpage", "api", "html-manual", "pdf", "legal", "conversation"}
KEYS = {"id", "kind", "split", "question", "document", "answers", "all_answers"}
OPTIONAL = {"note"}
DOC_SUFFIXES = {".txt", ".md", ".html", ".htm", ".pdf", ".docx"}
MIN_QUESTIONS = 50
UNANSWERABLE_RANGE = (0.15, 0.35)  # trust-sets.md asks for about 20-25%; warn outside this wider band


def corpus_dir(kind: str) -> Path:
    """Where a kind's documents are: committed under corpus/, or fetched under bench/work/trust/corpus/."""
    committed = ROOT / "corpus" / kind
    fetched = ROOT.parent / "work" / "trust" / "corpus" / kind
    return committed if committed.is_dir() or not fetched.is_dir() else fetched


def find_document(kind: str, rel: str) -> Path | None:
    """The file of a question's document, committed or fetched; None if it exists in neither."""
    for base in (ROOT / "corpus" / kind, ROOT.parent / "work" / "trust" / "corpus" / kind):
        path = base / rel
        if path.is_file():
            return path
    return None


def corpus_files(cdir: Path) -> list[Path]:
    """The indexable documents of a corpus folder (SOURCES.md describes them and is not one)."""
    if not cdir.is_dir():
        return []
    return [p for p in cdir.rglob("*") if p.is_file() and p.suffix.lower() in DOC_SUFFIXES and p.name != "SOURCES.md"]


_texts: dict[Path, str] = {}


def document_text(path: Path) -> str:
    """The text the product extracts from `path` (cached)."""
    if path not in _texts:
        st = path.stat()
        doc, _ = read_document(FileState(path.name, path, st.st_size, st.st_mtime_ns))
        _texts[path] = doc.text
    return _texts[path]


def check_file(qfile: Path, seen_ids: set[str]) -> tuple[list[str], list[str], list[dict]]:
    """Problems and warnings of one questions file, and its valid rows."""
    errors: list[str] = []
    warnings: list[str] = []
    rows: list[dict] = []
    expected_kind = qfile.stem
    if expected_kind not in KINDS:
        errors.append(f"{qfile.name}: unknown kind '{expected_kind}' (file name must be <kind>.jsonl)")
    for lineno, line in enumerate(qfile.read_text(encoding="utf-8").splitlines(), 1):
        where = f"{qfile.name}:{lineno}"
        if not line.strip():
            continue
        try:
            q = json.loads(line)
        except json.JSONDecodeError as e:
            errors.append(f"{where}: invalid JSON ({e})")
            continue
        if not isinstance(q, dict):
            errors.append(f"{where}: not a JSON object")
            continue
        missing, extra = KEYS - q.keys(), q.keys() - KEYS - OPTIONAL
        if missing:
            errors.append(f"{where}: missing keys {sorted(missing)}")
            continue
        if extra:
            errors.append(f"{where}: unknown keys {sorted(extra)}")
        where = f"{where} ({q['id']})"
        if not isinstance(q["id"], str) or not q["id"].startswith(f"{expected_kind}-"):
            errors.append(f"{where}: id must be a string starting with '{expected_kind}-'")
        if q["id"] in seen_ids:
            errors.append(f"{where}: duplicate id")
        seen_ids.add(q["id"])
        if q["kind"] != expected_kind:
            errors.append(f"{where}: kind '{q['kind']}' but file is {qfile.name}")
        if q["split"] not in ("fit", "test"):
            errors.append(f"{where}: split must be 'fit' or 'test'")
        if not isinstance(q["question"], str) or len(q["question"].strip()) < 8:
            errors.append(f"{where}: question missing or too short")
        answers, all_answers = q["answers"], q["all_answers"]
        if not isinstance(answers, list) or not all(isinstance(a, str) and a.strip() for a in answers):
            errors.append(f"{where}: answers must be a list of non-empty strings")
            continue
        if all_answers is not None:
            if not isinstance(all_answers, list) or len(all_answers) < 2 or not all(isinstance(a, str) and a.strip() for a in all_answers):
                errors.append(f"{where}: all_answers must be null or a list of at least 2 non-empty strings")
                continue
            if not answers:
                errors.append(f"{where}: all_answers set on an unanswerable question")
        if len(set(answers)) != len(answers):
            warnings.append(f"{where}: duplicate answer strings")
        doc = q["document"]
        if doc is None:
            if answers:
                errors.append(f"{where}: answerable question without a document")
            rows.append(q)
            continue
        if not isinstance(doc, str) or doc.startswith("/") or ".." in Path(doc).parts:
            errors.append(f"{where}: document must be a path relative to corpus/{expected_kind}/")
            continue
        path = find_document(expected_kind, doc)
        if path is None:
            errors.append(f"{where}: document '{doc}' not found in corpus/{expected_kind}/ (nor fetched)")
            continue
        try:
            text = document_text(path)
        except (ValueError, OSError) as e:
            errors.append(f"{where}: cannot read '{doc}': {e}")
            continue
        for a in answers + (all_answers or []):
            if a not in text:
                errors.append(f"{where}: answer {a!r} is not a substring of the extracted text of {doc}")
            elif a != a.strip():
                warnings.append(f"{where}: answer {a!r} has leading/trailing whitespace")
        rows.append(q)
    return errors, warnings, rows


def check_reserved(kinds: set[str], words: list[str]) -> list[str]:
    """Names reserved for acceptance testing must not appear in any committed file of these kinds.

    The names are not written here (they must not appear in any file of the project): pass them at run
    time, comma-separated, in the TRUST_RESERVED environment variable.
    """
    errors = []
    paths = [ROOT / "questions" / f"{k}.jsonl" for k in kinds]
    for k in kinds:
        base = ROOT / "corpus" / k
        if base.is_dir():
            paths += [p for p in base.rglob("*") if p.is_file()]
        fetch = ROOT / f"fetch_{k}.sh"
        if fetch.is_file():
            paths.append(fetch)
    for p in paths:
        if not p.is_file():
            continue
        data = p.read_bytes().lower()
        if any(w.lower().encode() in data for w in words):
            errors.append(f"{p.relative_to(ROOT)}: contains a reserved name")
    return errors


def main(argv: list[str]) -> int:
    wanted = set(argv)
    qfiles = sorted((ROOT / "questions").glob("*.jsonl"))
    if wanted:
        qfiles = [f for f in qfiles if f.stem in wanted]
    if not qfiles:
        print("no question files found")
        return 1
    errors: list[str] = []
    warnings: list[str] = []
    seen_ids: set[str] = set()
    table = []
    for qfile in qfiles:
        e, w, rows = check_file(qfile, seen_ids)
        errors += e
        warnings += w
        kind = qfile.stem
        splits_of_doc: dict[str, set[str]] = defaultdict(set)
        for q in rows:
            if q["document"] is not None:
                splits_of_doc[q["document"]].add(q["split"])
        for doc, splits in sorted(splits_of_doc.items()):
            if len(splits) > 1:
                errors.append(f"{qfile.name}: document '{doc}' has questions in both fit and test")
        n = Counter(q["split"] for q in rows)
        unans = Counter(q["split"] for q in rows if not q["answers"])
        multi = sum(1 for q in rows if q["all_answers"])
        total = len(rows)
        share = sum(unans.values()) / total if total else 0.0
        if total < MIN_QUESTIONS:
            warnings.append(f"{qfile.name}: only {total} questions (want at least {MIN_QUESTIONS})")
        if total and not UNANSWERABLE_RANGE[0] <= share <= UNANSWERABLE_RANGE[1]:
            warnings.append(f"{qfile.name}: {share:.0%} unanswerable (want about 20-25%)")
        fit_docs = sorted(d for d, s in splits_of_doc.items() if s == {"fit"})
        test_docs = sorted(d for d, s in splits_of_doc.items() if s == {"test"})
        cdir = corpus_dir(kind)
        n_files = len(corpus_files(cdir))
        table.append((kind, total, n["fit"], n["test"], unans["fit"], unans["test"], multi, len(fit_docs), len(test_docs), n_files))
    reserved = [w.strip() for w in os.environ.get("TRUST_RESERVED", "").split(",") if w.strip()]
    if reserved:
        errors += check_reserved({f.stem for f in qfiles}, reserved)
    header = ("kind", "total", "fit", "test", "unans fit", "unans test", "multi", "docs fit", "docs test", "corpus")
    print(f"{header[0]:<14}" + "".join(f"{h:>{len(h) + 2}}" for h in header[1:]))
    for row in table:
        print(f"{row[0]:<14}" + "".join(f"{v:>{len(h) + 2}}" for v, h in zip(row[1:], header[1:])))
    for w in warnings:
        print(f"warning: {w}")
    for e in errors:
        print(f"ERROR: {e}")
    print(f"{len(errors)} errors, {len(warnings)} warnings")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
