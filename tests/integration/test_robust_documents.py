"""Robustness, documents: a messy folder is indexed file by file; a bad file is skipped with a reason.

Every case is either indexed correctly (its stored text is exactly what the file says) or
skipped with one line `skipped PATH: REASON`, and the rest of the folder is indexed.
Most cases share one `qa index` run over one messy folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from qa.documents import FileState, read_document
from qa.indexer import detect_changes
from qa.settings import Settings
from tests.conftest import ROOT, copy_seeds_and_index, open_version, run_qa

LATIN1 = "Le café «Chez Søren» ouvre à 7 h ; la crème brûlée coûte 4 €.\n"
UTF16 = "Die Brücke über die Förde wurde 1911 eröffnet – sagt Åsa Ødegård.\n"
NON_ASCII_NAME = "Ærøskøbing notes/café menu – 2024 (draft).md"
NON_ASCII_TEXT = "# Café menu\n\nThe smørrebrød at Café Ærø costs 95 kroner and is served until 14:00.\n"
DEEP_FACT = "The hidden vault under the bakery was sealed in 1952."

# name -> the reason `qa index` gives (a word of it)
SKIPPED = {
    "empty.txt": "empty",
    "blank.md": "empty",
    "photo.txt": "binary",
    "noise.md": "not text",
    "broken-utf16.txt": "byte-order mark",
    "caf\ufffd bytes.txt": "not valid UTF-8",
    "loop.txt": "Too many levels of symbolic links",
    "dangling.md": "No such file",
    "pipe.txt": "not a regular file",
    "notes/up": "symlinked folder not followed",
}
INDEXED = {"latin1.txt", "utf16.txt", NON_ASCII_NAME, "deep.html"}


def _messy_folder(seeds: Path) -> None:
    (seeds / "empty.txt").write_bytes(b"")
    (seeds / "blank.md").write_text(" \n\t\n   \n", encoding="utf-8")
    (seeds / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 40)
    (seeds / "noise.md").write_bytes(bytes(b for b in range(1, 256) if b not in b"\n\r\t ") * 60)  # no NULs, not text
    (seeds / "latin1.txt").write_bytes(LATIN1.encode("cp1252"))
    (seeds / "utf16.txt").write_bytes(UTF16.encode("utf-16"))  # with its byte-order mark
    (seeds / "broken-utf16.txt").write_bytes(b"\xff\xfe" + "ok".encode("utf-16-le") + b"\x00\xd8A")  # lone surrogate
    (seeds / NON_ASCII_NAME).parent.mkdir()
    (seeds / NON_ASCII_NAME).write_text(NON_ASCII_TEXT, encoding="utf-8")
    with open(os.fsencode(seeds) + b"/caf\xe9 bytes.txt", "wb") as f:  # a Latin-1 file name
        f.write(b"A file whose name is not UTF-8.")
    (seeds / "loop.txt").symlink_to("loop.txt")
    (seeds / "dangling.md").symlink_to("no-such-file.md")
    (seeds / "notes" / "up").symlink_to("..")  # a folder loop
    os.mkfifo(seeds / "pipe.txt")  # reading it would block forever
    n = 100_000  # an extraction quadratic in nesting would take about ten minutes at this depth
    (seeds / "deep.html").write_text("<div>" * n + f"<p>{DEEP_FACT}</p>" + "</div>" * n, encoding="utf-8")


@pytest.fixture(scope="module")
def messy(seeds_dir, index_dir, tmp_path_factory):
    """The session seeds plus every kind of messy file, indexed once by `qa index` on a copy of the index."""
    seeds, index = copy_seeds_and_index(seeds_dir, index_dir, tmp_path_factory.mktemp("messy"))
    _messy_folder(seeds)
    proc = run_qa("index", "--seeds", str(seeds), "--index", str(index), timeout=300)  # bounded: no FIFO blocks, no quadratic HTML
    return seeds, index, proc


def test_messy_folder_is_indexed_and_every_bad_file_skipped_with_one_line(messy):
    seeds, index, proc = messy
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert all(line.startswith(("skipped ", "note: ")) for line in lines), lines
    for name, why in SKIPPED.items():
        matching = [line for line in lines if line.startswith(f"skipped {name}: ")]
        assert len(matching) == 1 and why in matching[0], (name, matching)
    assert "+4 added, 0 changed, 0 removed" in proc.stdout
    store = open_version(index)
    assert set(store.documents) == INDEXED | {"harbour.html", "nato-russia-council.txt", "notes/aurora station.md"}
    assert set(SKIPPED) <= set(store.manifest["skipped"])
    assert not detect_changes(store, seeds).any  # a second look sees the same folder: nothing to do


def test_non_utf8_files_are_stored_as_the_text_they_contain(messy):
    _, index, proc = messy
    store = open_version(index)
    assert store.document_text("latin1.txt") == LATIN1
    assert store.document_text("utf16.txt") == UTF16
    assert store.document_text(NON_ASCII_NAME) == NON_ASCII_TEXT
    assert "note: latin1.txt: not valid UTF-8" in proc.stderr and "note: utf16.txt: decoded as UTF-16" in proc.stderr
    for doc_id in INDEXED:  # chunks are exact substrings at their offsets
        text, (first, count) = store.document_text(doc_id), store.documents[doc_id]["chunks"]
        assert count >= 1
        for c in store.chunks(list(range(first, first + count))):
            assert text[c.start : c.end] == c.text
    assert store.document_text("deep.html") == DEEP_FACT


def test_messy_documents_answer_questions(messy, pipeline):
    from qa.pipeline import QAPipeline

    seeds, index, _ = messy
    p = QAPipeline(index, seeds, reader=pipeline.reader)
    for question, doc_id in [
        ("How much does the smørrebrød at Café Ærø cost?", NON_ASCII_NAME),
        ("When was the Brücke über die Förde opened?", "utf16.txt"),
        ("When was the hidden vault under the bakery sealed?", "deep.html"),
    ]:
        r = p(question)
        assert r.passages[0].document == doc_id, (question, r.passages[0])
        for a in r.answers:
            assert p.document_text(a.document)[a.start : a.end] == a.text


def _unprivileged_user() -> tuple[int, int] | None:
    """uid/gid of `nobody` if we are root and can drop to it (chmod 000 does not stop root)."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        return None
    import pwd

    try:
        pw = pwd.getpwnam("nobody")
    except KeyError:
        return None
    return pw.pw_uid, pw.pw_gid


def test_unreadable_file_and_folder_are_skipped_when_run_as_an_unprivileged_user(fresh):
    ids = _unprivileged_user()
    if ids is None:
        pytest.skip("needs root, setpriv and a `nobody` user to drop privileges (root reads chmod-000 files)")
    uid, gid = ids
    seeds, index = fresh
    base = Path(tempfile.mkdtemp(prefix="qa-unprivileged-"))  # /tmp/pytest-of-root is closed to other users
    try:
        os.chmod(base, 0o755)
        seeds, index = copy_seeds_and_index(seeds, index, base)
        (seeds / "welcome.md").write_text("# Welcome\n\nThe reading room opens at eight.\n", encoding="utf-8")
        for root, dirs, files in os.walk(base):
            for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
                os.lchown(name, uid, gid)
        (seeds / "secret.txt").write_text("root only", encoding="utf-8")
        (seeds / "secret.txt").chmod(0o000)
        (seeds / "locked").mkdir(mode=0o700)
        (seeds / "locked" / "inside.txt").write_text("cannot even be listed", encoding="utf-8")
        drop = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups"]
        probe = subprocess.run([*drop, "cat", str(seeds / "secret.txt")], capture_output=True)
        if probe.returncode == 0:
            pytest.skip("the unprivileged user can still read a chmod-000 file here")
        env = {**os.environ, "HOME": str(base), "HF_HUB_OFFLINE": "1"}
        proc = subprocess.run(
            [*drop, sys.executable, "-m", "qa.cli", "index", "--seeds", str(seeds), "--index", str(index)],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr
        assert "skipped secret.txt: Permission denied" in proc.stderr
        assert "skipped locked: cannot list folder: Permission denied" in proc.stderr
        assert "+1 added" in proc.stdout  # welcome.md; the rest is still there
        store = open_version(index)
        assert {"welcome.md", "nato-russia-council.txt", "harbour.html", "notes/aurora station.md"} == set(store.documents)
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.slow
def test_fifty_megabyte_file_is_skipped_with_a_reason(fresh):
    seeds, index = fresh
    para = "The harbour master logged every ship that entered Port Elwyn, with its cargo and crew. " * 8 + "\n\n"
    big = seeds / "harbour log.txt"
    with open(big, "w", encoding="utf-8") as f:
        f.write(para * (50 * 2**20 // len(para) + 1))
    assert big.stat().st_size > 50 * 2**20
    (seeds / "harbour.html").unlink()  # a change beside it, so a new version is written
    proc = run_qa("index", "--seeds", str(seeds), "--index", str(index), "-q")
    assert proc.returncode == 0, proc.stderr
    assert "skipped harbour log.txt: too large (50 MB > 20 MB; raise QA_MAX_FILE_MB)" in proc.stderr
    # never read (only its size was looked at), so nothing was embedded
    assert proc.stdout.startswith("+0 added, 0 changed, 1 removed, ") and ", 0 embedded" in proc.stdout, proc.stdout
    store = open_version(index)
    assert set(store.documents) == {"nato-russia-council.txt", "notes/aurora station.md"}
    assert "harbour log.txt" in store.manifest["skipped"]
    assert not detect_changes(store, seeds).any  # the big file is not re-hashed on every `qa ask`
    # raising the limit makes it readable: the reason's advice works
    st = big.stat()
    limit = Settings.from_env(max_file_mb=60).max_file_bytes
    doc, note = read_document(FileState("harbour log.txt", big, st.st_size, st.st_mtime_ns), limit)
    assert note is None and len(doc.text) == st.st_size
