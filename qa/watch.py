"""A watched seeds folder: changes are rebuilt incrementally, debounced, while questions go on.

`qa serve` runs `Watcher` in a thread; `qa index --watch` runs it in the foreground. Events come
from watchfiles (inotify on Linux), grouped over `debounce_ms`; each group triggers one
incremental `pipeline.rebuild()`, which answers from the new version at once. A file deleted,
renamed or replaced while a build reads it ends consistent: the build indexes what it could
read, and the event that the change itself raised triggers the next build.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from qa.errors import MissingPath
from qa.pipeline import QAPipeline
from qa.store import IndexBusy, IndexProblem


@dataclass
class WatchStatus:
    state: str = "watching"  # watching | rebuilding | failed
    builds: int = 0
    last_summary: str = ""
    last_error: str = ""
    last_at: str = ""
    skipped: list[str] = field(default_factory=list)

    def line(self) -> str:
        """One line for the UI and the terminal."""
        if self.state == "rebuilding":
            return "Seeds changed: rebuilding the index…"
        if self.state == "failed":
            return f"Rebuild after a change failed at {self.last_at}: {self.last_error}"
        return f"Rebuilt at {self.last_at}: {self.last_summary}" if self.last_summary else "Watching the seeds folder for changes."


def _visible(change, path: str) -> bool:
    """Hidden files (editor swap files, .lock) do not trigger builds."""
    return not any(part.startswith(".") for part in Path(path).parts[-2:])


class Watcher:
    """Watches the pipeline's seeds folder and rebuilds on change; `on_build` hears each result."""

    def __init__(
        self,
        pipeline: QAPipeline,
        debounce_ms: int = 1000,
        on_build: Callable[[WatchStatus], None] | None = None,
        on_ready: Callable[[], None] | None = None,
    ):
        if pipeline.seeds is None:
            raise MissingPath("no seeds folder to watch")
        self.pipeline = pipeline
        self.seeds: Path = pipeline.seeds
        self.debounce_ms = debounce_ms
        self.on_build = on_build or (lambda status: None)
        self.on_ready = on_ready or (lambda: None)
        self.ready = threading.Event()  # set once changes are being watched
        self.status = WatchStatus()
        self.stop_event = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Watcher:
        self._thread = threading.Thread(target=self.run, name="qa-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def run(self) -> None:
        """Block, rebuilding after each debounced group of changes, until `stop()`."""
        from watchfiles import watch

        # yield_on_timeout: the first (empty) yield says the watch is armed, so callers know from when
        # on a change is seen; a change made before that is already in the first yield
        for changes in watch(
            self.seeds,
            watch_filter=_visible,
            debounce=self.debounce_ms,
            rust_timeout=500,
            yield_on_timeout=True,
            stop_event=self.stop_event,
            raise_interrupt=False,
        ):
            if not self.ready.is_set():
                self.ready.set()
                self.on_ready()
            if changes:
                self.rebuild_now()

    def rebuild_now(self) -> WatchStatus:
        self.status.state = "rebuilding"
        try:
            report = self.pipeline.rebuild()
            self.status.state, self.status.last_error = "watching", ""
            self.status.last_summary = report.summary()
            self.status.skipped = [f"{s.path}: {s.reason}" for s in report.skipped]
            self.status.builds += 1
        except (IndexBusy, IndexProblem, FileNotFoundError, OSError) as e:
            self.status.state, self.status.last_error = "failed", str(e)
        except Exception as e:  # the watch goes on: the next change tries again
            self.status.state, self.status.last_error = "failed", f"{type(e).__name__}: {e}"
        self.status.last_at = time.strftime("%H:%M:%S")
        self.on_build(self.status)
        return self.status
