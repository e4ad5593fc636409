"""A server's short runs, many to a file: the run history's segments, and the thread that writes them.

A service answers thousands of requests a second, each a run of a millisecond; a file per run
cost more than the run (creating it, then pruning it). So the background writer appends a run
that ended before any of its events were due on disk (FLUSH_EVERY) to the segment it has open,
as one line: the JSON array of the run's history records, each as a run file has it.

    20261129T160501-123abc.runs.jsonl     a segment, named after its first run
    [{"event":"run.started",...,"run":"20261129T160501-123abc",...},...,{"event":"run.finished",...}]
    [{"event":"run.started",...,"run":"20261129T160501-140f3e",...},...]

A segment holds about SEGMENT_RUNS runs or SEGMENT_SECONDS of them, and is flock()ed while it is
open (pruning leaves it; a closed one loses its oldest lines). Each batch is one write, straight
to the file: a crash loses what was still queued (BATCH_PAUSE or so), a torn last line is
skipped by readers, and a failed write closes the segment, so the next batch starts a new file
rather than continue a torn line. Listing, showing and pruning (history.py) read segments and
run files alike; a run in a segment is a `SegmentRun` where a run file is its Path.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.runtime import history as _history
from workbench.runtime.compact import item_record
from workbench.runtime.events import EVENT_TYPES, ItemFinished, from_row
from workbench.runtime.history import (
    _ENCODER,
    SUFFIX,
    HistoryWriter,
    _try_lock,
    runs_dir,
)

SEGMENT_SUFFIX = ".runs" + SUFFIX
SEGMENT_RUNS = 1000
SEGMENT_SECONDS = 1.0
ENCODE_AFTER = 0.01  # seconds: the short runs that end meanwhile are encoded together, in one tight loop
# A line starts with the run's run.started row: the event's name, then the run's id.
_HEAD = re.compile(rb'\[\["run\.started","([^"\\]+)"')


def is_segment(name: str) -> bool:
    return name.endswith(SEGMENT_SUFFIX)


@dataclass(frozen=True)
class SegmentRun:
    """A run in a segment (what `find_run` gives for it; `read_events` reads it)."""

    path: Path  # the segment
    id: str

    @property
    def stem(self) -> str:  # as a run file's stem, the run's id
        return self.id


def encode_run(events: list, redactor) -> str:
    """A whole run's line. Redacted once: the run's text is searched for the secrets (as JSON
    escapes them, Redactor.shows_in), and only when one shows are the events redacted one by
    one, as a run with a sink has them, so a clean run costs one search."""
    text = _ENCODER.encode([e.row() if type(e) in _ROWS else _record(e) for e in events])
    if redactor and redactor.shows_in(text):
        text = _ENCODER.encode([_record(e if type(e) is dict else e.redacted(redactor)) for e in events])
    return text + "\n"


_ROWS = frozenset(cls for cls in EVENT_TYPES.values() if cls is not ItemFinished)  # (no call for the others)


def _record(event) -> Any:
    """An event as a segment keeps it: its row (events.Event.row, read back by from_row), or its
    history record when that is not its dict (a foreach item's compact record)."""
    if type(event) is dict:
        return event
    if type(event) is ItemFinished:
        return item_record(event)
    return event.row()


class SegmentFile:
    """The segment being written (by the writer thread alone)."""

    def __init__(self) -> None:
        self.fd: int | None = None
        self.path: Path | None = None
        self.runs = 0
        self.opened = 0.0

    def write(self, folder: Path, lines: list[str], first_id: str) -> str | None:
        """Append whole runs' lines; a problem in one line, or None."""
        now = time.monotonic()
        if self.fd is not None and (self.runs >= SEGMENT_RUNS or now - self.opened >= SEGMENT_SECONDS):
            self.close()
        try:
            if self.fd is None:
                self._open(folder, first_id, now)
            data = memoryview("".join(lines).encode())
            while data:
                data = data[os.write(self.fd, data):]
        except OSError as exc:
            if self.fd is not None and self.runs == 0:
                _unlink(self.path)  # nothing in it
            self.close()  # the next batch starts a new segment, not after a torn line
            return f"run history not written to {folder}: {exc.strerror or exc}"
        self.runs += len(lines)
        return None

    def _open(self, folder: Path, first_id: str, now: float) -> None:
        # Made and locked under a name no reader lists, then renamed: pruning never sees it unlocked.
        temporary = folder / f".{first_id}.new"
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(temporary, flags, 0o666)
        except FileNotFoundError:
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(temporary, flags, 0o666)
        try:
            _try_lock(fd)
            self.path = folder / f"{first_id}{SEGMENT_SUFFIX}"
            os.rename(temporary, self.path)
        except OSError:
            os.close(fd)
            raise
        self.fd, self.runs, self.opened = fd, 0, now

    def close(self) -> None:
        if self.fd is not None:
            try:
                os.close(self.fd)
            except OSError:
                pass
            self.fd = None


class BackgroundWriter:
    """Writes the history of a server's runs in one thread, so the event loop serves requests.
    A short run's line is made on the loop, with the others that ended within ENCODE_AFTER,
    after their answers have gone (its objects die young, and the thread, which only appends
    the lines to the segment, one write for them all, hardly needs the GIL); a longer run goes
    to its own file every FLUSH_EVERY. `stop()` writes what is queued, then returns. A problem
    shows in `problems` (the run has answered by then)."""

    def __init__(self) -> None:
        import queue

        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.problems: list[str] = []
        self.watched: set[HistoryWriter] = set()  # runs with events held: swept every FLUSH_EVERY
        self.lock = threading.Lock()  # the runs' (HistoryWriter.take_whole and take_stale)
        self.segment = SegmentFile()
        self._lines: list[str] = []  # whole runs, for the segment
        self._folder: Path | None = None
        self._first = ""
        self._ended: collections.deque = collections.deque()  # short runs to encode (the loop's)
        self._encoding = False  # a call_later(_encode) is due
        self.thread = threading.Thread(target=self._drain, name="wb-history", daemon=True)
        self.thread.start()

    def closed(self, writer: HistoryWriter) -> None:
        """A run has ended (on the loop): a short one is encoded soon, a longer one's rest is the thread's."""
        events = writer.take_whole()
        if events is None:
            self.queue.put((writer, None))
            return
        self._ended.append((writer, events))
        if not self._encoding:
            self._encoding = True
            asyncio.get_running_loop().call_later(ENCODE_AFTER, self._encode)

    def _encode(self) -> None:
        self._encoding = False
        ended, lines = self._ended, []
        while ended:
            try:
                writer, events = ended.popleft()
            except IndexError:  # stop() took it
                break
            lines.append((writer, encode_run(events, writer.redactor)))
        if lines:
            self.queue.put(lines)

    def _drain(self) -> None:
        import queue

        while True:
            try:
                # Never without a timeout: a run may start (and need sweeping) while this waits.
                item = self.queue.get(timeout=_history.FLUSH_EVERY / 2)
            except queue.Empty:
                self._sweep()
                continue
            # Then what came meanwhile, and a pause: under load the loop's puts find no thread
            # waiting to wake, and the two threads stop handing the GIL to each other per request.
            while True:
                if item is None:
                    self._write_segment()
                    self.segment.close()
                    return
                if isinstance(item, list):  # short runs' lines
                    for writer, line in item:
                        self._take(writer, line)
                else:
                    self._take(*item)
                try:
                    item = self.queue.get_nowait()
                except queue.Empty:
                    break
            self._write_segment()
            self._sweep()
            time.sleep(_history.BATCH_PAUSE)

    def _take(self, writer: HistoryWriter, line: str | None) -> None:
        """A run that ended: its line for the segment, or the rest of its events to its own file."""
        self.watched.discard(writer)
        if line is None:
            self._write(writer, [*writer.take(), None])
            return
        folder = runs_dir(writer.root)
        if folder != self._folder:  # another project's runs (one writer serves one, as a rule)
            self._write_segment()
            self.segment.close()
            self._folder = folder
        if not self._lines:
            self._first = writer.run_id
        self._lines.append(line)

    def _write(self, writer: HistoryWriter, events: list) -> None:
        failed = writer.failed
        writer.write_now(events)
        if failed is None and writer.problem:
            self.problems.append(writer.problem)

    def _write_segment(self) -> None:
        if self._lines and self._folder is not None:
            problem = self.segment.write(self._folder, self._lines, self._first)
            if problem:
                self.problems.append(problem)
        self._lines = []

    def _sweep(self) -> None:
        """A long run's held events, on disk within about FLUSH_EVERY (a crash loses a moment)."""
        now = time.monotonic()
        for writer in list(self.watched):
            stale = writer.take_stale(now)
            if stale:
                self._write(writer, stale)

    def stop(self, timeout: float = 10.0) -> None:
        self._encode()  # runs whose loop has stopped before it encoded them
        self.queue.put(None)
        self.thread.join(timeout)


# -- reading ----------------------------------------------------------------------------------

_counts: dict[tuple[str, int, int], int] = {}  # a closed segment's runs, by (path, size, mtime)


def _lines(path: Path) -> list[bytes]:
    """A segment's complete lines (a torn last one, with no newline, is left out)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return []
    lines = data.split(b"\n")
    return [line for line in lines[:-1] if line]


def segment_runs(path: Path) -> list[list[dict]]:
    """Each run of a segment: its records (lines that do not parse are skipped)."""
    out = []
    for line in _lines(path):
        records = _parse(line)
        if records:
            out.append(records)
    return out


def segment_ids(path: Path) -> list[str]:
    return [i for i in map(_id_of, _lines(path)) if i]


def segment_events(run: SegmentRun) -> list[dict]:
    needle = f'"{run.id}"'.encode()
    for line in _lines(run.path):
        if needle in line[:80] and _id_of(line) == run.id:
            return _parse(line) or []
    raise FileNotFoundError(f"run {run.id} is no longer in {run.path.name}")


def count_runs(path: Path) -> int:
    try:
        stat = path.stat()
    except OSError:
        return 0
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    count = _counts.get(key)
    if count is None:
        if len(_counts) > 4096:
            _counts.clear()
        try:  # complete lines (each ends with one); the segment being written grows each second
            with open(path, "rb") as f:
                count = f.read().count(b"\n")
        except OSError:
            return 0
        _counts[key] = count
    return count


def trim(path: Path, runs: int, size: int) -> tuple[list[str], int]:
    """Drop the oldest lines of a closed segment: `runs` of them at least, and at least `size`
    bytes' worth. The whole file goes when nothing is left. Returns the ids dropped and the bytes freed."""
    lines = _lines(path)
    if not lines:
        return [], 0  # just made or empty: left alone
    drop, freed = 0, 0
    while drop < len(lines) and (drop < runs or freed < size):
        freed += len(lines[drop]) + 1
        drop += 1
    if drop == 0:
        return [], 0
    try:
        if drop == len(lines):
            freed = path.stat().st_size
            path.unlink()
        else:
            temporary = path.with_name(f".{path.name}.trim")
            temporary.write_bytes(b"".join(line + b"\n" for line in lines[drop:]))
            os.replace(temporary, path)  # readers see the old file or the new, whole
    except OSError:
        return [], 0
    return [i for i in map(_id_of, lines[:drop]) if i], freed


def _unlink(path: Path | None) -> None:
    try:
        if path is not None:
            path.unlink()
    except OSError:
        pass


def _id_of(line: bytes) -> str | None:
    found = _HEAD.match(line)
    if found:
        return found.group(1).decode()
    records = _parse(line)
    return records[0].get("run") if records else None


def _parse(line: bytes) -> list[dict] | None:
    try:
        value = json.loads(line)
    except (ValueError, UnicodeDecodeError, RecursionError):  # torn
        return None
    if not isinstance(value, list):
        return None
    out = []
    for record in value:
        if isinstance(record, list):
            try:
                record = from_row(record)
            except (KeyError, ValueError, TypeError, IndexError):
                continue
        if isinstance(record, dict):
            out.append(record)
    return out or None
