"""qa.library: the seeds folder's documents listed beside the index, added only when the indexer would
read them, removed to a trash and restored; hostile names and files change nothing."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from qa.errors import DocumentRefused
from qa.library import MAX_NAME_BYTES, Library, check_name
from qa.settings import Settings
from tests.conftest import open_version

FACT = "The Brackwater ferry was launched in 1911 by the shipwright Mirela Castagno.\n"


def _folder_state(root: Path) -> list[tuple[str, int]]:
    """Every path under `root` (hidden ones too) with its size: what a refused add must leave alone."""
    return sorted((str(p.relative_to(root)), p.stat().st_size if p.is_file() else -1) for p in root.rglob("*"))


@pytest.fixture()
def library(tmp_path, clean_env) -> Library:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "old.txt").write_text("An old note about the harbour.\n", encoding="utf-8")
    return Library(seeds, Settings.from_env())


def test_an_added_file_is_written_whole_under_its_name_and_a_taken_name_is_never_overwritten(library, tmp_path):
    src = tmp_path / "ferry.md"
    src.write_text(FACT, encoding="utf-8")
    added = library.add("ferry.md", src)
    assert added.ok and added.stored_as == "ferry.md", added
    assert (library.seeds / "ferry.md").read_text(encoding="utf-8") == FACT
    assert not [p for p in library.seeds.iterdir() if p.name.startswith(".")]  # no temporary file left behind
    # the same name again: refused, the first file untouched; with rename, the next free name
    again = library.add("ferry.md", b"Another text entirely.\n")
    assert not again.ok and "already in the seeds folder" in again.reason
    assert (library.seeds / "ferry.md").read_text(encoding="utf-8") == FACT
    renamed = library.add("ferry.md", b"Another text entirely.\n", rename=True)
    assert renamed.stored_as == "ferry (2).md" and (library.seeds / "ferry (2).md").read_bytes() == b"Another text entirely.\n"


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("../escape.txt", "holds a path"),
        ("notes/inner.txt", "holds a path"),
        ("..\\..\\escape.txt", "holds a path"),
        ("/etc/cron.d/x.txt", "holds a path"),
        ("..", "starts with '.'"),
        (".hidden.md", "starts with '.'"),
        ("", "no name"),
        ("tab\there.txt", "control characters"),
        ("nul\x00.txt", "control characters"),
        (" padded.txt", "spaces at either end"),
        ("x" * MAX_NAME_BYTES + ".txt", "too long"),
        ("program.exe", "unsupported type '.exe'"),
        ("README", "no extension"),
    ],
)
def test_hostile_or_unusable_names_are_refused_and_nothing_is_written(library, name, why):
    before = _folder_state(library.seeds.parent)
    added = library.add(name, FACT.encode())
    assert not added.ok and why in added.reason, added
    assert _folder_state(library.seeds.parent) == before
    with pytest.raises(DocumentRefused, match="."):
        check_name(name)


def bomb_docx(folder: Path) -> bytes:
    """A real .docx with a part of zeros that unpacks to far more than it packs (a zip bomb's ratio)."""
    from tests.pdf_docx_fixture import make_docx

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        make_docx(folder / "good.docx")
        with zipfile.ZipFile(folder / "good.docx") as src:
            for item in src.infolist():
                dst.writestr(item, src.read(item))
        dst.writestr("word/media/padding.bin", bytes(40 * 2**20))
    return buf.getvalue()


def test_files_the_indexer_would_skip_are_refused_with_its_reason_before_they_reach_the_folder(library, clean_env, tmp_path_factory):
    clean_env.setenv("QA_MAX_FILE_MB", "1")
    small = Library(library.seeds, Settings.from_env())
    before = _folder_state(library.seeds.parent)
    cases = {
        "big.txt": (b"harbour " * (2**20 // 4), "too large (2 MB > 1 MB"),
        "bomb.docx": (bomb_docx(tmp_path_factory.mktemp("docx")), "zip bomb"),
        "fake.docx": (b"just text pretending to be Word", "not a zip file"),
        "corrupt.pdf": (b"%PDF-1.7\n" + bytes(range(256)) * 20, "PDF"),
        "empty.md": (b"  \n\t\n", "empty"),
        "photo.txt": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "binary"),
    }
    for name, (raw, why) in cases.items():
        added = small.add(name, raw)
        assert not added.ok and why in added.reason, (name, added)
    assert _folder_state(library.seeds.parent) == before  # nothing entered the seeds folder, nothing beside it


def test_remove_moves_to_a_trash_beside_the_seeds_and_restore_puts_it_back(library):
    library.add("ferry.md", FACT.encode())
    first = library.remove("ferry.md")
    assert not (library.seeds / "ferry.md").exists()
    assert library.trash == library.seeds.parent / "seeds-trash" and first.path.read_text(encoding="utf-8") == FACT
    # the same name removed twice: two entries, nothing lost
    library.add("ferry.md", b"The second ferry text.\n")
    second = library.remove("ferry.md")
    assert {e.id for e in library.list_trash()} == {first.id, second.id} and first.id != second.id
    assert [e.name for e in library.list_trash()] == ["ferry.md", "ferry.md"]
    assert library.restore(first.id) == "ferry.md"
    assert (library.seeds / "ferry.md").read_text(encoding="utf-8") == FACT
    assert [e.id for e in library.list_trash()] == [second.id]
    # its name is taken now: restored beside it, never over it
    assert library.restore(second.id) == "ferry (2).md"
    assert (library.seeds / "ferry.md").read_text(encoding="utf-8") == FACT
    assert (library.seeds / "ferry (2).md").read_text(encoding="utf-8") == "The second ferry text.\n"
    assert library.list_trash() == [] and not any(library.trash.iterdir())
    # a nested document keeps its folder
    (library.seeds / "notes").mkdir()
    (library.seeds / "notes" / "a.md").write_text(FACT, encoding="utf-8")
    entry = library.remove("notes/a.md")
    assert library.restore(entry.id) == "notes/a.md" and (library.seeds / "notes" / "a.md").is_file()


@pytest.mark.parametrize("name", ["../seeds-trash", "../outside.txt", "/etc/passwd", "missing.txt", ".hidden", "notes", "link/x.txt"])
def test_remove_refuses_anything_but_a_file_of_the_seeds_folder(library, name):
    (library.seeds / "notes").mkdir()
    (library.seeds.parent / "outside.txt").write_text("not a seed", encoding="utf-8")
    (library.seeds.parent / "elsewhere").mkdir()
    (library.seeds.parent / "elsewhere" / "x.txt").write_text("outside", encoding="utf-8")
    (library.seeds / "link").symlink_to(library.seeds.parent / "elsewhere")
    before = _folder_state(library.seeds.parent)
    with pytest.raises(DocumentRefused):
        library.remove(name)
    assert _folder_state(library.seeds.parent) == before
    for entry_id in ["../seeds", "20260101-000000-zzzzzz", "nothing"]:
        with pytest.raises(DocumentRefused, match="nothing in the trash"):
            library.restore(entry_id)


def test_the_list_joins_the_folder_with_the_live_index(fresh):
    seeds, index = fresh
    library = Library(seeds, Settings.from_env())
    version = open_version(index)
    rows = {r.name: r for r in library.documents(version)}
    nato = rows["nato-russia-council.txt"]
    info = version.documents[nato.name]
    assert (nato.status, nato.kind, nato.size, nato.chunks, nato.pages) == ("indexed", "text", info["size"], info["chunks"][1], None)
    assert nato.chunks >= 1 and nato.modified > 0
    assert rows["image.png"].status == "skipped" and "unsupported type" in rows["image.png"].reason
    assert rows["notes/aurora station.md"].status == "indexed"
    # the folder changes; the index has not been rebuilt yet
    library.add("ferry.md", FACT.encode())
    (seeds / "harbour.html").write_text("<p>The lighthouse was rebuilt in 1990.</p>", encoding="utf-8")
    library.remove("notes/aurora station.md")
    rows = {r.name: r for r in library.documents(version)}
    assert rows["ferry.md"].status == "waiting" and rows["ferry.md"].chunks is None
    assert rows["harbour.html"].status == "changed"
    assert rows["notes/aurora station.md"].status == "gone"
    assert [r.name for r in library.documents(None)] == sorted(p.relative_to(seeds).as_posix() for p in seeds.rglob("*") if p.is_file())


def test_uploads_of_one_name_at_once_keep_exactly_one_file(library):
    """Eight writers racing for one name: one wins, the others are refused, and the file is whole."""
    from concurrent.futures import ThreadPoolExecutor

    texts = [f"Version {i} of the ferry notes: the Brackwater ferry sails at {i} o'clock.\n".encode() for i in range(8)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda raw: library.add("race.md", raw), texts))
    winners = [i for i, r in enumerate(results) if r.ok]
    assert len(winners) == 1 and all("already in the seeds folder" in r.reason for r in results if not r.ok), results
    assert (library.seeds / "race.md").read_bytes() == texts[winners[0]]
    assert not [p for p in library.seeds.iterdir() if p.name.startswith(".")]
