"""The one live line a foreach shows on a terminal, in place of a line per item:

    ▸ 1 Create a user per new hire  4,210/10,000 · 3 failed · 421/s · ETA 14 s

Redrawn from the throttled `foreach.progress` events (at most 10 a second) with `\\r` and
erase-line; any other line is printed above it. Cut to the terminal's width, so it never wraps.
"""

from __future__ import annotations

import shutil
import time
from typing import Any, TextIO


def eta_text(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min {seconds % 60:02.0f} s"
    return f"{seconds // 3600:.0f} h {seconds % 3600 // 60:02.0f} min"


def progress_text(step: str, label: str, done: int, total: int, failed: int, elapsed: float) -> str:
    parts = [f"▸ {step} {label}".rstrip() + f"  {done:,}/{total:,}"]
    if failed:
        parts.append(f"{failed:,} failed")
    if elapsed > 0 and done:
        rate = done / elapsed
        parts.append(f"{rate:,.0f}/s")
        if done < total:
            parts.append(f"ETA {eta_text((total - done) / rate)}")
    return " · ".join(parts)


class ProgressLine:
    def __init__(self, stream: TextIO, paint: Any = lambda text, code: text) -> None:
        self.stream = stream
        self.paint = paint
        self.text = ""  # what is on screen now
        self.labels: dict[str, str] = {}  # top-level step -> label (from its step.started)
        self.started: dict[str, float] = {}  # loop -> when its first progress came

    def seen(self, data: dict[str, Any]) -> None:
        if data.get("item") is None:
            self.labels[str(data.get("step"))] = str(data.get("label", ""))

    def update(self, data: dict[str, Any]) -> None:
        step = str(data.get("step"))
        now = time.monotonic()
        started = self.started.setdefault(step, now)
        text = progress_text(step, self.labels.get(step, ""), int(data.get("done", 0)), int(data.get("total", 0)),
                             int(data.get("failed", 0)), now - started)
        width = max(20, shutil.get_terminal_size((80, 24)).columns - 3)  # the indent, and no wrap
        if len(text) > width:
            text = text[: width - 1] + "…"
        self.text = text
        self.stream.write("\r\033[K" + "  " + self.paint(text, "2"))
        self.stream.flush()

    def clear(self) -> None:
        """Before a line is printed, or when the loop ends."""
        if self.text:
            self.stream.write("\r\033[K")
            self.text = ""

    def ended(self, step: str) -> None:
        self.started.pop(step, None)
        self.clear()
