"""Reading the run history (history.py writes it): listing, finding, reading and pruning runs,
in files of their own and in a server's segments (segments.py) alike. `history` offers these too."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.runtime.events import RUN_FINISHED, RUN_STARTED, parse_iso
from workbench.runtime.history import (
    RESUME_SUFFIX,
    SUFFIX,
    _loads,
    history_limit,
    history_max_bytes,
    is_running,
    runs_dir,
)
from workbench.runtime.segments import (
    SegmentRun,
    count_runs,
    is_segment,
    segment_events,
    segment_ids,
    segment_runs,
    trim,
)


def prune(root: Path | str, keep: int | None = None, *, exclude: str = "", max_bytes: int | None = None) -> list[str]:
    """Delete the oldest runs beyond `keep`, then the oldest while the history (with the resume
    states) is over `max_bytes` (default: WB_HISTORY_MAX_MB). The file named `exclude`, the
    current run, and every running run stay, and the segment being written. Returns the deleted ids."""
    keep = history_limit() if keep is None else keep
    budget = history_max_bytes() if max_bytes is None else max_bytes
    folder = runs_dir(root)
    try:
        names = sorted(n for n in os.listdir(folder) if n.endswith(SUFFIX))
    except FileNotFoundError:
        return []
    units = []  # (file, runs, bytes), oldest first: a single run, or a segment of many
    for name in names:
        if is_segment(name):
            units.append((name, count_runs(folder / name), _size(folder / name)))
        else:
            units.append((name, 1, _size(folder / name) + _size(folder / (name[: -len(SUFFIX)] + RESUME_SUFFIX))))
    over = max(0, sum(runs for _, runs, _ in units) - keep)
    total = sum(size for _, _, size in units)
    deleted: list[str] = []
    for name, runs, size in units:
        if over <= 0 and total <= budget:
            break
        if name == exclude or is_running(folder / name):
            over -= runs  # kept, and not counted: `keep` more besides
            continue
        if is_segment(name):  # its oldest runs, as many as needed
            ids, freed = trim(folder / name, over, total - budget)
            deleted += ids
            over, total = over - len(ids), total - freed
            continue
        try:
            (folder / name).unlink()
            deleted.append(name[: -len(SUFFIX)])
        except OSError:
            continue
        over, total = over - 1, total - size
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
    """Every recorded run, oldest first. Reads only the first and last line of a run's own file
    (a segment's runs: each its line)."""
    folder = runs_dir(root)
    try:
        names = sorted(n for n in os.listdir(folder) if n.endswith(SUFFIX))
    except FileNotFoundError:
        return []
    out = []
    segments = False
    for name in names:
        if is_segment(name):
            segments = True
            out += [summary for events in segment_runs(folder / name)
                    if (summary := _summary(events[0].get("run", ""), events[0], events[-1], None))]
            continue
        first, last = _first_and_last(folder / name)
        summary = _summary(name[: -len(SUFFIX)], first, last, folder / name)
        if summary is not None:
            out.append(summary)
    if segments:  # a segment is named after its first run: the others interleave with other files
        out.sort(key=lambda s: s.id)
    return out


def _summary(run_id: str, first: dict | None, last: dict | None, path: Path | None) -> RunSummary | None:
    if first is None or first.get("event") != RUN_STARTED:
        return None
    summary = RunSummary(run_id, first.get("entry", ""), first.get("ts", ""), None, "running",
                         _trigger(first.get("trigger")))
    if last is not None and last.get("event") == RUN_FINISHED:
        summary.status = last.get("status", "?")
        summary.duration_ms = last.get("durationMs")
    else:
        # No run.finished: still running, or the process died. The last event bounds it.
        summary.duration_ms = _elapsed_ms(first.get("ts"), (last or first).get("ts"))
        if path is None or not is_running(path):
            summary.status = "failed"
    return summary


def find_run(root: Path | str, run_id: str) -> Path | SegmentRun:
    """The file of a run (or its place in a segment), by id or unique id prefix. Raises KeyError
    with a readable message."""
    folder = runs_dir(root)
    exact = folder / f"{run_id}{SUFFIX}"
    if exact.is_file() and not is_segment(exact.name):
        return exact
    try:
        names = sorted(n for n in os.listdir(folder) if n.endswith(SUFFIX))
    except FileNotFoundError:
        names = []
    matches: list[Path | SegmentRun] = []
    for name in names:
        if is_segment(name):
            matches += [SegmentRun(folder / name, i) for i in segment_ids(folder / name) if i.startswith(run_id)]
        elif name.startswith(run_id):
            matches.append(folder / name)
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise KeyError(f"no run {run_id!r} (list them with `workbench runs {root}`)")
    exact_ids = [m for m in matches if m.stem == run_id]
    if len(exact_ids) == 1:
        return exact_ids[0]
    raise KeyError(f"{run_id!r} matches {len(matches)} runs; give more of the id")


def read_events(path: Path | SegmentRun) -> list[dict[str, Any]]:
    """The events of a run file; a torn line (a crash mid-write, even mid-character) is skipped."""
    if isinstance(path, SegmentRun):
        return segment_events(path)
    out = []
    with open(path, "rb") as f:
        for line in f:
            event = _loads(line)
            if event is not None:
                out.append(event)
    return out


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


def _trigger(value: Any) -> str:
    if isinstance(value, dict) and value.get("method"):
        return f"{value.get('method')} {value.get('path', '')}"
    return ""


def _elapsed_ms(start: str | None, end: str | None) -> float | None:
    try:
        return round((parse_iso(end) - parse_iso(start)) * 1000, 1)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
