"""Which documents a question is asked within: patterns (path, file name, glob, folder) to ids."""

from __future__ import annotations

import pytest

from qa.errors import BadQuestion, NoMatchingDocuments
from qa.scope import document_choices, select_documents

IDS = ["report.pdf", "notes/aurora station.md", "notes/2024/minutes.txt", "archive/notes/old.md", "sub/a.pdf", "sub/b/a.pdf"]


@pytest.mark.parametrize(
    "patterns, expected",
    [
        (["report.pdf"], {"report.pdf"}),  # an id
        (["notes/aurora station.md"], {"notes/aurora station.md"}),
        (["  ./notes/aurora station.md "], {"notes/aurora station.md"}),  # as a shell or a person writes it
        (["notes\\aurora station.md"], {"notes/aurora station.md"}),  # Windows separators
        (["minutes.txt"], {"notes/2024/minutes.txt"}),  # a file name, at any depth
        (["a.pdf"], {"sub/a.pdf", "sub/b/a.pdf"}),  # a name two documents share: both
        (["notes"], {"notes/aurora station.md", "notes/2024/minutes.txt"}),  # a folder under the seeds folder: all it holds
        (["notes/"], {"notes/aurora station.md", "notes/2024/minutes.txt"}),
        (["archive/notes"], {"archive/notes/old.md"}),
        (["*notes"], {"notes/aurora station.md", "notes/2024/minutes.txt", "archive/notes/old.md"}),  # a folder name anywhere: a glob
        (["notes/2024"], {"notes/2024/minutes.txt"}),
        (["*.pdf"], {"report.pdf", "sub/a.pdf", "sub/b/a.pdf"}),  # a glob over names (and ids)
        (["sub/*.pdf"], {"sub/a.pdf", "sub/b/a.pdf"}),  # fnmatch's * crosses folders
        (["*.md", "report.pdf"], {"notes/aurora station.md", "archive/notes/old.md", "report.pdf"}),  # several: the union
        (["arch*"], {"archive/notes/old.md"}),  # a glob over a folder's name
        (["aurora station.md", "notes/aurora station.md"], {"notes/aurora station.md"}),
    ],
)
def test_patterns_name_documents_by_path_name_glob_or_folder(patterns, expected):
    assert select_documents(patterns, IDS) == expected


def test_no_pattern_means_every_document():
    assert select_documents(None, IDS) is None
    assert select_documents([], IDS) is None
    assert select_documents(["", "  "], IDS) is None


@pytest.mark.parametrize(
    "patterns, unmatched",
    [
        (["nope.txt"], "'nope.txt'"),
        (["Report.pdf"], "'Report.pdf'"),  # case matters, as for the paths themselves
        (["aurora"], "'aurora'"),  # not a prefix of a name, nor a substring
        (["sub/a"], "'sub/a'"),
        (["*.docx", "report.pdf", "missing/"], "'*.docx', 'missing/'"),  # one that matches does not hide the others
    ],
)
def test_a_pattern_that_names_nothing_is_a_bad_question_that_says_what_exists(patterns, unmatched):
    with pytest.raises(NoMatchingDocuments) as err:
        select_documents(patterns, IDS)
    assert isinstance(err.value, BadQuestion) and err.value.exit_code == 2
    message = str(err.value)
    assert message.startswith(f"no document matches {unmatched};")
    assert "archive/notes/old.md, notes/2024/minutes.txt" in message and "(6 in all)" in message  # the first few, sorted
    assert "glob" in message and "folder" in message


def test_an_empty_index_says_so():
    with pytest.raises(NoMatchingDocuments, match="holds no documents"):
        select_documents(["a.txt"], [])


def test_choices_are_the_folders_then_the_documents():
    assert document_choices(["b.txt", "x/y/z.md", "x/a.md"]) == ["x/", "x/y/", "b.txt", "x/a.md", "x/y/z.md"]
