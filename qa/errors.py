"""The errors meant for the user: one base class, each error with the exit code `qa` ends with.

A `QAError`'s message is one line that names the cause and says how to fix it; `qa` prints it as
`Error: <message>` and exits with its `exit_code` (2: usage or bad input, such as the question,
the index or a path it was given; 1: otherwise); `--debug` shows the traceback instead. Anything else that escapes a command
is unexpected and reported with its type and first line.

The modules that raise them keep their names importable (`qa.pipeline.BadQuestion`,
`qa.store.IndexProblem`, ...), and each one that stood for a builtin error still is one
(`BadQuestion` is a `ValueError`), so callers that catch the builtin keep working.
"""

from __future__ import annotations

USAGE, FAILURE = 2, 1  # exit codes: usage or bad input; anything else


class QAError(Exception):
    """An error to show the user as its message alone; `exit_code` is what `qa` exits with."""

    exit_code: int = FAILURE


class BadQuestion(QAError, ValueError):
    """The question cannot be asked (empty, nothing but punctuation...); the message says why."""

    exit_code = USAGE


class SeedsMismatch(QAError, ValueError):
    """A seeds folder other than the one the index was built from, without --reseed."""

    exit_code = USAGE


class IndexProblem(QAError):
    """The index cannot be used; the message says why and how to fix it."""

    exit_code = USAGE


class IndexBusy(QAError):
    """Another build holds the index."""

    exit_code = FAILURE


class MissingPath(QAError, FileNotFoundError):
    """A folder or file that a setting or an option names is not there (the seeds folder, a model)."""

    exit_code = USAGE


class BadSetting(QAError, ValueError):
    """A setting's value cannot be used: a QA_* variable that does not parse, or a model file it
    names that is unreadable or of another version."""

    exit_code = FAILURE


class BadInput(QAError, ValueError):
    """A file given on the command line is not what the command reads (a malformed question set)."""

    exit_code = USAGE


class NoMatchingDocuments(BadQuestion):
    """A question asked within some documents (`documents=`, `qa ask --doc`) whose patterns name
    none of the indexed documents: an error, never an answer from nothing (or from everything)."""


class DocumentRefused(QAError, ValueError):
    """A document cannot be added, removed or restored (a bad name, too large, unreadable, taken); the
    message says why, and nothing was changed."""

    exit_code = USAGE


class DocumentNotFound(DocumentRefused):
    """No such document in the seeds folder, or no such entry in the trash (the HTTP API's 404)."""
