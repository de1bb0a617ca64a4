"""The documents of a seeds folder, managed: listed beside what the index holds, added, moved to a
trash and restored.

The seeds folder stays the one source of truth. This module only changes files in it, the way a
person copying files by hand would; the watcher or `QAPipeline.rebuild()` then indexes them.

- **Add**: the name is checked (no path, no `..`, no hidden file, a length limit, a kind the index
  reads), then the bytes are read and converted exactly as the indexer will (`qa.documents.convert`:
  the same size limit, PDF and Word in the same limited child process), so a file the index would
  skip, a zip bomb or a PDF that hangs its parser never enters the folder. Only then is it written
  to a hidden temporary file in the folder and linked to its name in one step, which fails rather
  than overwrite a file that is already there.
- **Remove** moves the file out of the seeds folder into a trash folder beside it (never indexed,
  never served), one entry folder per removal with a record of where it came from, so that
  **restore** puts it back and two removals of the same name never collide.
"""

from __future__ import annotations

import errno
import json
import os
import re
import secrets
import shutil
import stat
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath

from qa.documents import convert, kind_of, scan, too_large
from qa.errors import DocumentNotFound, DocumentRefused
from qa.settings import Settings
from qa.store import StoreVersion

MAX_NAME_BYTES = 200  # a file system allows 255; room is left for " (2)" and the temporary prefix
RECORD = ".qa-trash.json"  # in each trash entry: where its file came from
_ENTRY_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{6}$")


@dataclass
class DocumentRow:
    """One file of the seeds folder (or one the index still holds), for the Documents panel."""

    name: str  # the path relative to the seeds folder: the document's id in the index
    kind: str  # "text", "html", "pdf", "docx"; "" for a file the index does not read
    size: int
    modified: float  # the file's modification time, seconds since the epoch (0: unknown)
    # indexed | changed (the next build re-reads it) | waiting (not in the index yet) | skipped | gone (left the folder,
    # the next build drops it)
    status: str
    pages: int | None = None
    chunks: int | None = None
    reason: str = ""  # why it was skipped

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class Added:
    """What became of one file given to `Library.add`."""

    name: str  # the name it was given with
    stored_as: str | None = None  # its name in the seeds folder; None when refused
    reason: str = ""  # why it was refused
    note: str | None = None  # how it was read (a text file decoded as Windows-1252, say)

    @property
    def ok(self) -> bool:
        return self.stored_as is not None

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class TrashEntry:
    """One removed file, kept until restored (or deleted from the trash folder by hand)."""

    id: str  # the entry's folder name in the trash
    name: str  # where it was, relative to the seeds folder
    size: int
    removed_at: str  # ISO 8601, local time with its offset
    path: Path  # the file in the trash

    def to_json(self) -> dict:
        return {**asdict(self), "path": str(self.path)}


class Library:
    """Lists, adds, removes and restores the documents of one seeds folder. Thread-safe: the
    choices of a name and the moves are made under one lock."""

    def __init__(self, seeds: Path, settings: Settings | None = None, trash: Path | None = None):
        self.seeds = Path(seeds)
        self.settings = settings or Settings.from_env()
        self.trash = Path(trash) if trash else default_trash(self.seeds)
        self._lock = threading.Lock()

    # --- list ---

    def documents(self, version: StoreVersion | None) -> list[DocumentRow]:
        """Every file of the folder joined with what the live index `version` holds of it (None: no
        index yet), and the documents the index still holds that have left the folder."""
        files, unreadable = scan(self.seeds) if self.seeds.is_dir() else ([], [])
        docs = version.documents if version is not None else {}
        manifest = version.manifest if version is not None else {}
        skipped, skipped_states = manifest.get("skipped", {}), manifest.get("skipped_files", {})
        rows: list[DocumentRow] = []
        for f in files:
            info, kind = docs.get(f.id), kind_of(Path(f.id).suffix) or ""
            modified = f.mtime_ns / 1e9
            if info is not None:
                same = (info["size"], info["mtime_ns"]) == (f.size, f.mtime_ns)
                rows.append(
                    DocumentRow(
                        f.id, info.get("kind", kind), f.size, modified, "indexed" if same else "changed", _pages(info), _chunks(info)
                    )
                )
            elif f.id in skipped and skipped_states.get(f.id) == [f.size, f.mtime_ns]:
                rows.append(DocumentRow(f.id, kind, f.size, modified, "skipped", reason=skipped[f.id]))
            else:
                rows.append(DocumentRow(f.id, kind, f.size, modified, "waiting"))
        for s in unreadable:
            size, modified = _stat(self.seeds / s.path)
            rows.append(DocumentRow(s.path, kind_of(Path(s.path).suffix) or "", size, modified, "skipped", reason=s.reason))
        present = {r.name for r in rows}
        for doc_id, info in docs.items():
            if doc_id not in present:
                rows.append(
                    DocumentRow(doc_id, info.get("kind", ""), info["size"], info["mtime_ns"] / 1e9, "gone", _pages(info), _chunks(info))
                )
        return sorted(rows, key=lambda r: r.name)

    # --- add ---

    def add(self, name: str, source: Path | bytes, rename: bool = False) -> Added:
        """Check `source` as the indexer would read it, then write it into the seeds folder as `name`.
        A taken name is refused, or with `rename` given the first free "name (2).ext". Never raises
        for a bad file: the result says why it was refused, and then nothing was written."""
        try:
            clean = check_name(name)
            if not rename and os.path.lexists(self.seeds / clean):  # checked again when it is written
                raise DocumentRefused(_taken(clean))
            raw = self._read(source)
            _, _, _, note = convert(raw, Path(clean).suffix, self.settings.ocr_page_seconds)
        except (ValueError, OSError) as e:
            return Added(str(name), reason=_reason(e))
        with self._lock:
            try:
                stored = self._write(clean, raw, rename)
            except (ValueError, OSError) as e:
                return Added(str(name), reason=_reason(e))
        return Added(str(name), stored, note=note)

    def _read(self, source: Path | bytes) -> bytes:
        limit = self.settings.max_file_bytes
        if isinstance(source, (bytes, bytearray)):
            if len(source) > limit:
                raise DocumentRefused(too_large(len(source), limit))
            return bytes(source)
        with open(source, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise DocumentRefused("not a regular file")
            if st.st_size > limit:
                raise DocumentRefused(too_large(st.st_size, limit))
            raw = f.read(limit + 1)
        if len(raw) > limit:
            raise DocumentRefused(too_large(len(raw), limit))
        return raw

    def _write(self, name: str, raw: bytes, rename: bool) -> str:
        """`raw` into the seeds folder under `name` (or a free variant): a hidden temporary file (the
        scan and the watcher ignore it), then one link to the name, which fails if the name is taken."""
        if not self.seeds.is_dir():
            raise DocumentRefused(f"the seeds folder {self.seeds} does not exist")
        tmp = self.seeds / f".qa-upload-{secrets.token_hex(8)}.part"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(raw)
                f.flush()
                os.fsync(f.fileno())
            for candidate in _variants(name) if rename else [name]:
                try:
                    _link_or_replace(tmp, self.seeds / candidate)
                    return candidate
                except FileExistsError:
                    continue
            raise DocumentRefused(_taken(name))
        finally:
            if os.path.lexists(tmp):
                os.unlink(tmp)

    # --- remove, restore ---

    def remove(self, name: str) -> TrashEntry:
        """Move the file `name` (its id in the index) into a new trash entry; DocumentRefused when
        there is no such file, or it cannot be moved (the reason says why)."""
        try:
            return self._remove(name)
        except OSError as e:
            raise DocumentRefused(f"{name} could not be moved to the trash {self.trash}: {_reason(e)}") from None

    def _remove(self, name: str) -> TrashEntry:
        path = self._inside(name)
        with self._lock:
            if not os.path.lexists(path) or stat.S_ISDIR(os.lstat(path).st_mode):
                raise DocumentNotFound(f"{name} is not a file in the seeds folder {self.seeds}")
            size, _ = _stat(path)
            entry_id = time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)
            folder = self.trash / entry_id
            folder.mkdir(parents=True)
            removed_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            record = {"name": name, "size": size, "removed_at": removed_at, "seeds": str(self.seeds.resolve())}
            _write_json(folder / RECORD, record)
            dest = folder / path.name
            try:
                os.rename(path, dest)  # a fresh folder: nothing there to overwrite
            except OSError as e:
                if e.errno != errno.EXDEV:
                    shutil.rmtree(folder, ignore_errors=True)
                    raise
                shutil.copy2(path, dest, follow_symlinks=False)  # the trash is on another file system
                os.unlink(path)
        return TrashEntry(entry_id, name, size, removed_at, dest)

    def restore(self, entry_id: str, rename: bool = True) -> str:
        """Put a trash entry's file back where it was; when that name was taken since, as the first free
        "name (2).ext" (or refused without `rename`). Returns the name it has now."""
        try:
            return self._restore(entry_id, rename)
        except OSError as e:
            raise DocumentRefused(f"{entry_id} could not be restored: {_reason(e)}") from None

    def _restore(self, entry_id: str, rename: bool) -> str:
        entry = self._entry(entry_id)
        if entry is None:
            raise DocumentNotFound(f"nothing in the trash is called {entry_id}")
        parts = PurePosixPath(entry.name).parts
        with self._lock:
            folder = self.seeds.joinpath(*parts[:-1])
            self._inside(entry.name)  # the record is checked like any name given from outside
            folder.mkdir(parents=True, exist_ok=True)
            for candidate in _variants(parts[-1]) if rename else [parts[-1]]:
                try:
                    _link_or_replace(entry.path, folder / candidate)
                except FileExistsError:
                    continue
                os.unlink(entry.path)
                shutil.rmtree(entry.path.parent, ignore_errors=True)
                return PurePosixPath(*parts[:-1], candidate).as_posix()
        raise DocumentRefused(f"{entry.name} is in the seeds folder again; remove or rename it first")

    def list_trash(self) -> list[TrashEntry]:
        """The trash entries, newest first (entries without their file are left out)."""
        if not self.trash.is_dir():
            return []
        entries = [self._entry(p.name) for p in self.trash.iterdir() if _ENTRY_ID.match(p.name)]
        return sorted((e for e in entries if e is not None), key=lambda e: e.id, reverse=True)

    def _entry(self, entry_id: str) -> TrashEntry | None:
        if not isinstance(entry_id, str) or not _ENTRY_ID.match(entry_id):
            return None
        folder = self.trash / entry_id
        try:
            record = json.loads((folder / RECORD).read_text(encoding="utf-8"))
            name = str(record["name"])
            path = folder / PurePosixPath(name).name
            if not os.path.lexists(path):
                return None
            return TrashEntry(entry_id, name, int(record.get("size", 0)), str(record.get("removed_at", "")), path)
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _inside(self, name: str) -> Path:
        """The path of document `name` in the seeds folder; DocumentRefused for anything that would
        leave it (absolute, `..`, hidden parts, a symlinked folder on the way)."""
        if not isinstance(name, str) or not name or "\\" in name or "\x00" in name:
            raise DocumentRefused(f"{name!r} is not a document name")
        parts = PurePosixPath(name).parts
        if name.startswith("/") or not parts or any(p in (".", "..") or p.startswith(".") for p in parts):
            raise DocumentRefused(f"{name!r} is not a document in the seeds folder")
        path = self.seeds.joinpath(*parts)
        parent = Path(os.path.realpath(path.parent))
        if parent != self.seeds.resolve().joinpath(*parts[:-1]):
            raise DocumentRefused(f"{name!r} is not a document in the seeds folder (a symlinked folder is on its way)")
        return path


def default_trash(seeds: Path) -> Path:
    """Where removed files go: a folder beside the seeds folder, `<seeds>-trash`, so the index never
    reads it and a file moves there by a rename on the same file system."""
    resolved = Path(seeds).resolve()
    if resolved.parent == resolved:
        raise DocumentRefused(f"the seeds folder {resolved} has no folder above it to keep a trash in")
    return resolved.parent / f"{resolved.name}-trash"


def check_name(name: object) -> str:
    """`name` when it is a plain file name of a kind the index reads; DocumentRefused says why not."""
    if not isinstance(name, str) or not name.strip():
        raise DocumentRefused("the file has no name")
    if "/" in name or "\\" in name:
        raise DocumentRefused("its name holds a path ('/' or '\\'); give the file a plain name")
    if name.startswith("."):
        raise DocumentRefused("its name starts with '.' (a hidden file, or '..')")
    if name != name.strip() or not name.isprintable():
        raise DocumentRefused("its name has control characters or spaces at either end")
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        raise DocumentRefused("its name is not valid text") from None
    if size > MAX_NAME_BYTES:
        raise DocumentRefused(f"its name is too long ({size} bytes, at most {MAX_NAME_BYTES})")
    suffix = Path(name).suffix
    if kind_of(suffix) is None:
        raise DocumentRefused(f"unsupported type '{suffix or 'no extension'}' (the index reads .txt, .md, .html, .pdf and .docx)")
    return name


def _variants(name: str, tries: int = 1000):
    """`name`, then "stem (2).ext", "stem (3).ext", ... within the length limit."""
    yield name
    stem, suffix = Path(name).stem, Path(name).suffix
    for n in range(2, tries):
        tail = f" ({n}){suffix}"
        while len((stem + tail).encode("utf-8")) > MAX_NAME_BYTES:
            stem = stem[:-1]
        yield stem + tail


def _link_or_replace(src: Path, dst: Path) -> None:
    """Give `src`'s file the name `dst` too, in one step; FileExistsError, and nothing changed, when
    `dst` is taken. Without hard links (FAT, another file system) a copy is renamed into place after a
    check, which only a writer racing between the two could get wrong."""
    try:
        os.link(src, dst, follow_symlinks=False)
        return
    except FileExistsError:
        raise
    except OSError as e:
        if e.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
    tmp = dst.parent / f".qa-move-{secrets.token_hex(8)}.part"
    shutil.copy2(src, tmp, follow_symlinks=False)
    try:
        if os.path.lexists(dst):
            raise FileExistsError(errno.EEXIST, "exists", str(dst))
        os.replace(tmp, dst)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def _taken(name: str) -> str:
    return f"{name} is already in the seeds folder; remove it first, or rename the file"


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def _stat(path: Path) -> tuple[int, float]:
    try:
        st = os.lstat(path)
    except OSError:
        return 0, 0.0
    return st.st_size, st.st_mtime_ns / 1e9


def _pages(info: dict) -> int | None:
    return len(info["pages"]) if info.get("pages") else None


def _chunks(info: dict) -> int | None:
    chunks = info.get("chunks")
    return int(chunks[1]) if isinstance(chunks, (list, tuple)) and len(chunks) == 2 else None


def _reason(e: Exception) -> str:
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    return " ".join(str(e).split()) or type(e).__name__


__all__ = ["Library", "DocumentRow", "Added", "TrashEntry", "check_name", "default_trash", "DocumentRefused"]
