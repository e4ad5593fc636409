"""Run history: every run's events, as JSON Lines, in `DIR/.workbench/runs/<run-id>.jsonl`; a
server's short runs many to a file instead, one line each (segments.py). Reading: run_files.py.

Events arrive already redacted (a server's: as they are, redacted by its writer). Lines are flushed at least every 0.2 s and at the start and end of
the run (so a crash keeps what happened, less a moment), but not per line (10,000 flushes cost
~0.15 s) and never fsynced (that would cost milliseconds per event). Run ids sort by start time:
`20261129T160501-123abc` is UTC seconds, then milliseconds and 3 random hex digits.

Only the newest runs are kept: 200, or `WB_HISTORY_LIMIT` from the environment, or `keep=`; and
at most `WB_HISTORY_MAX_MB` (200) megabytes of them, the oldest going first. A foreach keeps one
compact record per item (compact.py). A run's file is flock()ed while its run goes on: pruning
skips it, and a file with no `run.finished` and no lock is a run whose process died, shown as failed.
"""

from __future__ import annotations

import collections
import fcntl
import functools
import json
import os
import random
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.runtime.compact import history_record
from workbench.runtime.events import RUN_FINISHED, RUN_STARTED

if TYPE_CHECKING:
    from workbench.runtime.segments import BackgroundWriter

# Reading the history (run_files.py), here too: `from workbench.runtime.history import list_runs`.
_READING = ("RunSummary", "find_run", "list_runs", "prune", "read_events")


def __getattr__(name: str) -> Any:
    if name in _READING:
        from workbench.runtime import run_files

        return getattr(run_files, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

RUNS_DIR = "runs"
SUFFIX = ".jsonl"
RESUME_SUFFIX = ".resume"  # a run's resume state beside its history (runtime/resume.py), pruned with it
DEFAULT_KEEP = 200
LIMIT_ENV = "WB_HISTORY_LIMIT"
DEFAULT_MAX_MB = 200
MAX_MB_ENV = "WB_HISTORY_MAX_MB"
FLUSH_EVERY = 0.2  # seconds
BATCH_PAUSE = 0.02  # seconds the background writer waits after writing what was queued
# json.dumps(default=...) builds one per call; no spaces after `,` and `:` (a tenth of a line).
_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str, separators=(",", ":"))


@functools.lru_cache(maxsize=64)  # a server asks once per request: path joins cost ~10 µs
def runs_dir(root: Path | str) -> Path:
    from workbench.project.store import STATE_DIR

    return Path(root) / STATE_DIR / RUNS_DIR


_id_second = functools.lru_cache(maxsize=1)(lambda second: time.strftime("%Y%m%dT%H%M%S", time.gmtime(second)))


def new_run_id(now: float | None = None) -> str:
    now = time.time() if now is None else now
    # random, not secrets: an id needs no secrecy, and os.urandom costs ~20 µs a call here.
    return _id_second(int(now)) + _MS[int(now * 1000) % 1000] + _HEX[random.getrandbits(12)]


_MS = tuple(f"-{n:03d}" for n in range(1000))  # (formatting them costs a server's request ~1 µs)
_HEX = tuple(f"{n:03x}" for n in range(4096))


def history_limit(env: Mapping[str, str] | None = None) -> int:
    """How many runs to keep: `WB_HISTORY_LIMIT` when it is a positive integer, else 200."""
    raw = (os.environ if env is None else env).get(LIMIT_ENV, "")
    try:
        value = int(raw)
    except ValueError:
        return DEFAULT_KEEP
    return value if value > 0 else DEFAULT_KEEP


def history_max_bytes(env: Mapping[str, str] | None = None) -> int:
    """The byte budget of a project's history: `WB_HISTORY_MAX_MB` (a positive number), else 200 MB."""
    raw = (os.environ if env is None else env).get(MAX_MB_ENV, "")
    try:
        value = float(raw)
    except ValueError:
        value = 0
    return int((value if value > 0 else DEFAULT_MAX_MB) * 1024 * 1024)


class HistoryWriter:
    """Appends one run's events to its file. The file is created on the first event.

    With `background` (a server's runs) the run hands its events over as they are, unredacted
    when it has no sink (`redactor`: the writer redacts them, see segments.encode_run); a run
    that ends before they are due on disk goes whole into a segment, never into a file of its own."""

    __slots__ = ("_closed", "_file", "_flushed_at", "_lock", "_path", "_pending", "_spilled", "background", "failed",
                 "hold", "keep", "prune", "redactor", "root", "run_id")

    def __init__(self, root: Path | str, run_id: str, *, keep: int | None = None, prune: bool = True,
                 background: BackgroundWriter | None = None, redactor=None) -> None:
        self.root = root if isinstance(root, Path) else Path(root)
        self.prune = prune  # as the file is created (a server prunes once a second instead)
        self.background = background  # a thread that does the file work (a server's many short runs)
        self.redactor = redactor  # with `background`: the run's, for the events handed over as they are
        self.run_id = run_id
        self._path: Path | None = None
        self.keep = keep
        self._file = None
        self._flushed_at = 0.0
        # With `background`: the loop appends, the writer thread pops (a deque's ends need no lock).
        self._pending: collections.deque = collections.deque()
        self.hold = self._pending.append  # (write() without its call: a short run has a few events)
        self.failed: OSError | None = None  # history is best effort: a full disk must not fail the run
        self._spilled = self._closed = False  # the sweep took some / the run has ended
        if background is not None:
            self._lock = background.lock  # who takes the events, the sweep or close(): one for all runs
            self._flushed_at = time.monotonic()
            background.watched.add(self)  # its sweep takes a longer run's events every FLUSH_EVERY

    @property
    def path(self) -> Path:
        if self._path is None:  # made when first needed: by the writer thread, for a server's runs
            self._path = runs_dir(self.root) / f"{self.run_id}{SUFFIX}"
        return self._path

    def write(self, event) -> None:
        """A history record (a dict); with `background` also an event (compact.history_record)."""
        if self.background is None:
            self.write_now(event)
            return
        # Held until close() hands the run over in one piece (a server's runs last a millisecond).
        self._pending.append(event)

    def take(self) -> list:
        """The events held (the writer thread's; `close()` has queued the run, or a sweep)."""
        pending, out = self._pending, []
        while pending:
            out.append(pending.popleft())
        return out

    def take_stale(self, now: float) -> list | None:
        """The events held for FLUSH_EVERY or longer (the writer thread's sweep)."""
        if not self._pending or now - self._flushed_at < FLUSH_EVERY:
            return None
        with self._lock:
            if self._closed:  # close() has them
                return None
            self._spilled = True
        self._flushed_at = now
        return self.take()

    def take_whole(self) -> collections.deque | None:
        """All the events of a run that has ended, when none went to its file (close()'s, on the
        loop); else None, and the writer thread writes the rest to the run's file."""
        with self._lock:
            self._closed = True
            if self._spilled or self._file is not None:
                return None
        if not self.whole(self._pending):
            return None
        return self._pending  # the run's own now: it has ended, and the writer takes no more (closed, not spilled)

    def whole(self, events) -> bool:
        """`events` end with the run's end."""
        if not events:
            return False
        last = events[-1]
        return (last.get("event") if type(last) is dict else last.EVENT) == RUN_FINISHED

    def record(self, event) -> dict[str, Any]:
        if type(event) is dict:
            return event
        if self.redactor:
            event = event.redacted(self.redactor)
        return history_record(event)

    def write_now(self, event: dict[str, Any] | list | None) -> None:
        if event is None:
            self.close_now()
            return
        if self.failed is not None:
            return
        if isinstance(event, list):
            self._write_batch(event)
            return
        try:
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = open(self.path, "a", encoding="utf-8")
                _try_lock(self._file.fileno())  # "running", for pruning and listing
                if self.prune:
                    from workbench.runtime.run_files import prune

                    prune(self.root, self.keep, exclude=self.path.name)
            record = self.record(event)
            self._file.write(_ENCODER.encode(record) + "\n")
            now = time.monotonic()
            if now - self._flushed_at >= FLUSH_EVERY or record.get("event") in (RUN_STARTED, RUN_FINISHED):
                self._file.flush()
                self._flushed_at = now
        except OSError as exc:
            self.failed = exc

    @property
    def problem(self) -> str | None:
        """Why the history could not be written, in one line, or None."""
        if self.failed is None:
            return None
        return f"run history not written to {self.path.parent}: {self.failed.strerror or self.failed}"

    def _write_batch(self, events: list) -> None:
        """Events handed over together (a longer run's, every FLUSH_EVERY); a last None closes the file."""
        for event in events:
            self.write_now(event)
        if self._file is not None and events and events[-1] is not None:  # on disk by the next batch
            try:
                self._file.flush()
            except OSError as exc:
                self.failed = exc

    def close(self) -> None:
        if self.background is not None:
            self.background.closed(self)
        else:
            self.close_now()

    def close_now(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            except OSError:
                pass
            self._file = None


def is_running(path: Path) -> bool:
    """True while the writer of this run file holds its lock (in this process or another)."""
    try:
        with open(path, "rb") as f:
            if not _try_lock(f.fileno(), fcntl.LOCK_SH):
                return True
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
    except OSError:
        pass
    return False


def _try_lock(fd: int, kind: int = fcntl.LOCK_EX) -> bool:
    try:
        fcntl.flock(fd, kind | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:  # a file system without locks: history still works, unmarked
        pass
    return True


def _loads(line: bytes) -> dict | None:
    try:
        value = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None
