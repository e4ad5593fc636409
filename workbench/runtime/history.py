"""Run history: every run's events, as JSON Lines, in `DIR/.workbench/runs/<run-id>.jsonl`.

Events arrive already redacted. Lines are flushed at least every 0.2 s and at the start and end of
the run (so a crash keeps what happened, less a moment), but not per line (10,000 flushes cost
~0.15 s) and never fsynced (that would cost milliseconds per event). Run ids sort by start time:
`20261129T160501-123abc` is UTC seconds, then milliseconds and 3 random hex digits.

Only the newest runs are kept: 200, or `WB_HISTORY_LIMIT` from the environment, or `keep=`; and
at most `WB_HISTORY_MAX_MB` (200) megabytes of them, the oldest going first. A foreach keeps one
compact record per item (compact.py). A run's file is flock()ed while its run goes on: pruning
skips it, and a file with no `run.finished` and no lock is a run whose process died, shown as failed.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.runtime.events import RUN_FINISHED, RUN_STARTED, parse_iso

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


def new_run_id(now: float | None = None) -> str:
    now = time.time() if now is None else now
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now))
    # random, not secrets: an id needs no secrecy, and os.urandom costs ~20 µs a call here.
    return f"{stamp}-{int(now * 1000) % 1000:03d}{random.getrandbits(12):03x}"


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
    """Appends one run's events to its file. The file is created on the first event."""

    def __init__(self, root: Path | str, run_id: str, *, keep: int | None = None, prune: bool = True,
                 background: BackgroundWriter | None = None) -> None:
        self.root = root if isinstance(root, Path) else Path(root)
        self.prune = prune  # as the file is created (a server prunes once a second instead)
        self.background = background  # a thread that does the file work (a server's many short runs)
        self.name = f"{run_id}{SUFFIX}"
        self._path: Path | None = None
        self.keep = keep
        self._file = None
        self._flushed_at = 0.0
        self._pending: list[dict[str, Any]] = []  # with `background`: handed over per run, or every FLUSH_EVERY
        self._lock = threading.Lock() if background is not None else None  # _pending: the loop's and the writer's
        self._watched = False
        self.failed: OSError | None = None  # history is best effort: a full disk must not fail the run

    @property
    def path(self) -> Path:
        if self._path is None:  # made when first needed: by the writer thread, for a server's runs
            self._path = runs_dir(self.root) / self.name
        return self._path

    def write(self, event: dict[str, Any]) -> None:
        if self.background is None:
            self.write_now(event)
            return
        # One hand-over per short run (by close()), not one per event: a server's runs last a
        # millisecond. The writer thread takes a longer run's events every FLUSH_EVERY.
        with self._lock:
            pending = self._pending
            pending.append(event)
            if len(pending) == 1:
                self._flushed_at = time.monotonic()
                if not self._watched:
                    self._watched = True
                    self.background.watched.add(self)

    def take_stale(self, now: float) -> list[dict[str, Any]] | None:
        """The events held for FLUSH_EVERY or longer (the writer thread's sweep)."""
        with self._lock:
            if self._pending and now - self._flushed_at >= FLUSH_EVERY:
                pending, self._pending = self._pending, []
                return pending
        return None

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
                    prune(self.root, self.keep, exclude=self.path.name)
            self._file.write(_ENCODER.encode(event) + "\n")
            now = time.monotonic()
            if now - self._flushed_at >= FLUSH_EVERY or event.get("event") in (RUN_STARTED, RUN_FINISHED):
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
        """Events handed over together; a last None closes the file."""
        closing = bool(events) and events[-1] is None
        if closing:
            events = events[:-1]
        if self._file is not None or not closing or not events or events[-1].get("event") != RUN_FINISHED:
            for event in events:
                self.write_now(event)
            if closing:
                self.close_now()
            elif self._file is not None:  # a batch comes every FLUSH_EVERY: on disk by then
                try:
                    self._file.flush()
                except OSError as exc:
                    self.failed = exc
            return
        # A whole run at once: no lock (it is over), no buffered file objects, and the folder
        # made only when it is missing.
        data = "".join(_ENCODER.encode(event) + "\n" for event in events).encode()
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        try:
            try:
                fd = os.open(self.path, flags, 0o666)
            except FileNotFoundError:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, flags, 0o666)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
        except OSError as exc:
            self.failed = exc

    def close(self) -> None:
        if self.background is not None:
            with self._lock:
                final, self._pending = [*self._pending, None], []
            self.background.queue.put((self, final))
        else:
            self.close_now()

    def close_now(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            except OSError:
                pass
            self._file = None


class BackgroundWriter:
    """Writes the history of many runs in one thread: creating a file costs more than a short
    run (~0.1 ms on ext4), and the event loop has requests to serve. A short run arrives in one
    piece (its events, then None for the close) and is written with one open and one write, no
    lock (it is over); a longer one every FLUSH_EVERY. `stop()` writes what is queued, then
    returns. A problem shows in `problems` (the run has answered by then)."""

    def __init__(self) -> None:
        import queue

        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.problems: list[str] = []
        self.watched: set[HistoryWriter] = set()  # runs with events held: swept every FLUSH_EVERY
        self.thread = threading.Thread(target=self._drain, name="wb-history", daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        import queue

        while True:
            try:
                writer, events = self.queue.get(timeout=FLUSH_EVERY / 2 if self.watched else None)
            except queue.Empty:
                self._sweep()
                continue
            # Then what came meanwhile, and a pause: under load the loop's puts find no thread
            # waiting to wake, and the two threads stop handing the GIL to each other per request.
            while True:
                if writer is None:
                    return
                self._write(writer, events)
                try:
                    writer, events = self.queue.get_nowait()
                except queue.Empty:
                    break
            self._sweep()
            time.sleep(BATCH_PAUSE)

    def _write(self, writer: HistoryWriter, events: list) -> None:
        failed = writer.failed
        writer.write_now(events)
        if events and events[-1] is None:  # closed
            self.watched.discard(writer)
        if failed is None and writer.problem:
            self.problems.append(writer.problem)

    def _sweep(self) -> None:
        """A long run's held events, on disk within about FLUSH_EVERY (a crash loses a moment)."""
        now = time.monotonic()
        for writer in list(self.watched):
            stale = writer.take_stale(now)
            if stale:
                self._write(writer, stale)

    def stop(self, timeout: float = 10.0) -> None:
        self.queue.put((None, None))
        self.thread.join(timeout)


def prune(root: Path | str, keep: int | None = None, *, exclude: str = "", max_bytes: int | None = None) -> list[str]:
    """Delete the oldest runs beyond `keep`, then the oldest while the history (with the resume
    states) is over `max_bytes` (default: WB_HISTORY_MAX_MB). The file named `exclude`, the
    current run, and every running run stay. Returns the deleted ids."""
    keep = history_limit() if keep is None else keep
    budget = history_max_bytes() if max_bytes is None else max_bytes
    folder = runs_dir(root)
    try:
        names = sorted(n for n in os.listdir(folder) if n.endswith(SUFFIX))
    except FileNotFoundError:
        return []
    deleted = []
    over = max(0, len(names) - keep)
    sizes = {name: _size(folder / name) + _size(folder / (name[: -len(SUFFIX)] + RESUME_SUFFIX)) for name in names}
    total = sum(sizes.values())
    for n, name in enumerate(names):
        if n >= over and total <= budget:
            break
        if name == exclude or is_running(folder / name):
            continue
        try:
            (folder / name).unlink()
            deleted.append(name[: -len(SUFFIX)])
        except OSError:
            continue
        total -= sizes[name]
        try:
            (folder / (name[: -len(SUFFIX)] + RESUME_SUFFIX)).unlink()
        except OSError:
            pass  # most runs keep none
    return deleted


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


@dataclass
class RunSummary:
    id: str
    entry: str
    started: str  # ISO 8601, UTC
    duration_ms: float | None
    status: str  # succeeded, failed, cancelled, or "running" when the run has not finished
    trigger: str = ""  # what started it: a service's "POST /hires"

    def to_dict(self) -> dict[str, Any]:
        out = {"id": self.id, "entry": self.entry, "started": self.started, "durationMs": self.duration_ms,
               "status": self.status}
        if self.trigger:
            out["trigger"] = self.trigger
        return out


def list_runs(root: Path | str) -> list[RunSummary]:
    """Every recorded run, oldest first. Reads only the first and last line of each file."""
    folder = runs_dir(root)
    try:
        names = sorted(n for n in os.listdir(folder) if n.endswith(SUFFIX))
    except FileNotFoundError:
        return []
    out = []
    for name in names:
        first, last = _first_and_last(folder / name)
        if first is None or first.get("event") != RUN_STARTED:
            continue
        summary = RunSummary(name[: -len(SUFFIX)], first.get("entry", ""), first.get("ts", ""), None, "running",
                             _trigger(first.get("trigger")))
        if last is not None and last.get("event") == RUN_FINISHED:
            summary.status = last.get("status", "?")
            summary.duration_ms = last.get("durationMs")
        else:
            # No run.finished: still running, or the process died. The last event bounds it.
            summary.duration_ms = _elapsed_ms(first.get("ts"), (last or first).get("ts"))
            if not is_running(folder / name):
                summary.status = "failed"
        out.append(summary)
    return out


def find_run(root: Path | str, run_id: str) -> Path:
    """The file of a run, by id or unique id prefix. Raises KeyError with a readable message."""
    folder = runs_dir(root)
    exact = folder / f"{run_id}{SUFFIX}"
    if exact.is_file():
        return exact
    try:
        matches = sorted(n for n in os.listdir(folder) if n.startswith(run_id) and n.endswith(SUFFIX))
    except FileNotFoundError:
        matches = []
    if len(matches) == 1:
        return folder / matches[0]
    if not matches:
        raise KeyError(f"no run {run_id!r} (list them with `workbench runs {root}`)")
    raise KeyError(f"{run_id!r} matches {len(matches)} runs; give more of the id")


def read_events(path: Path) -> list[dict[str, Any]]:
    """The events of a run file; a torn line (a crash mid-write, even mid-character) is skipped."""
    out = []
    with open(path, "rb") as f:
        for line in f:
            event = _loads(line)
            if event is not None:
                out.append(event)
    return out


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


def _first_and_last(path: Path) -> tuple[dict | None, dict | None]:
    try:
        with open(path, "rb") as f:
            first_line = f.readline()
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 65536))
            tail = f.read().splitlines()
    except OSError:
        return None, None
    first = _loads(first_line)
    for line in reversed(tail):
        last = _loads(line)
        if last is not None:
            return first, last
    return first, None


def _loads(line: bytes) -> dict | None:
    try:
        value = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _trigger(value: Any) -> str:
    if isinstance(value, dict) and value.get("method"):
        return f"{value.get('method')} {value.get('path', '')}"
    return ""


def _elapsed_ms(start: str | None, end: str | None) -> float | None:
    try:
        return round((parse_iso(end) - parse_iso(start)) * 1000, 1)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
