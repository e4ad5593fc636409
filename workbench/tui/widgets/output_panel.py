"""The Output panel: the run's summary line over a log of its events, with timestamps.

Lines arrive in batches (see run_feed.py) and the scrollback is bounded. HTTP exchanges are kept
even when hidden, so the toggle can show them afterwards.
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any

from rich.cells import cell_len
from rich.highlighter import Highlighter
from rich.segment import Segment
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.strip import Strip
from textual.widgets import Log, Static

MAX_LINES = 10_000
STATUS_MARKS = {"succeeded": ("✓", "green"), "failed": ("✗", "red"), "cancelled": ("■", "yellow"),
                "running": ("▶", "cyan")}


class OutputHighlighter(Highlighter):
    """Colours the plain lines of EventLines (no markup in them: it stays cheap and copyable)."""

    RULES = (
        (r"^\S+", "dim"),  # the timestamp
        (r"✓", "bold green"), (r"✗", "bold red"), (r"■", "bold yellow"), (r"▶ \S+", "bold"),
        (r" — .*?(?=  \S+ m?s$|$)", "red"),
        (r"(?<= )(error) .*", "red"), (r"(?<= )(warning) .*", "yellow"), (r"(?<= )debug .*", "dim"),
        (r"→ [45]\d\d\b", "red"), (r"→ 2\d\d\b", "green"), (r" {2}\S+ m?s$", "dim"),
        (r"succeeded in .*|failed in .*|cancelled in .*", "bold"),
    )

    def highlight(self, text: Text) -> None:
        for pattern, style in self.RULES:
            text.highlight_regex(pattern, style)


class OutputLog(Log):
    """A Log that keeps following its last line when it gets shorter (the summary above it grows
    by a line when a run fails), unless the person scrolled up."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_lines=MAX_LINES, highlight=True, **kwargs)
        self.highlighter = OutputHighlighter()
        self.following = True

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self.following = new_value >= self.max_scroll_y

    BINDINGS = [Binding("d,enter", "details", "Whole lines", id="output-details")]

    def on_resize(self, event: events.Resize) -> None:
        if self.following:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def render_line(self, y: int) -> Strip:
        """A line cut at the right edge ends in `…` (d shows the whole lines)."""
        strip = super().render_line(y)
        scroll_x, scroll_y = self.scroll_offset
        # The scrollable region: the scrollbar gutter (when there is one) would hide a mark past it.
        index, width = scroll_y + y, self.scrollable_content_region.width
        lines = self.lines
        if index < len(lines) and width > 1 and cell_len(lines[index]) > scroll_x + width:
            mark = Strip([Segment("…", self.rich_style)])
            strip = Strip.join([strip.crop(0, width - 1), mark]).apply_offsets(scroll_x, index)
        return strip

    def visible_lines(self) -> list[str]:
        top = int(self.scroll_offset.y)
        return list(self.lines[top: top + max(1, self.size.height)])

    def action_details(self) -> None:
        from workbench.tui.screens.detail import DetailScreen

        text = "\n".join(self.visible_lines()) or "(no output yet)"
        self.app.push_screen(DetailScreen("Output: the lines on screen, whole", Text(text)))


class OutputPanel(Vertical):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.show_http = False
        self.entries: deque[tuple[str, bool]] = deque(maxlen=MAX_LINES)  # (line, is http)
        self.written = 0  # lines taken since the start, shown or not (the scrollback is bounded)

    def compose(self) -> ComposeResult:
        yield Static(id="run-summary")
        yield OutputLog(id="output-log")

    @property
    def log_view(self) -> OutputLog:
        return self.query_one(OutputLog)

    @property
    def lines(self) -> list[str]:
        """What the log shows (for tests)."""
        return list(self.log_view.lines)

    def write(self, entries: list[tuple[str, bool]]) -> None:
        """Append lines in one go; hidden HTTP lines are kept for the toggle."""
        if not entries:
            return
        self.entries.extend(entries)
        self.written += len(entries)
        show_http = self.show_http
        shown = [line for line, http in entries if show_http or not http]
        if shown:
            self.log_view.write_lines(shown)

    def set_show_http(self, show: bool) -> None:
        self.show_http = show
        log = self.log_view
        log.clear()
        log.write_lines([line for line, http in self.entries if show or not http], scroll_end=True)

    def clear(self) -> None:
        self.entries.clear()
        self.log_view.clear()
        self.show_summary(Text(""))

    def show_summary(self, text: Text, status: str = "") -> None:
        summary = self.query_one("#run-summary", Static)
        summary.update(text)
        for name in STATUS_MARKS:
            summary.set_class(status == name, f"-{name}")


def summary_text(entry: str, finished: dict[str, Any] | None, *, duration: Any, step_label: str = "",
                 clean: Any = lambda text: text, replay: str = "", resumable: bool = False) -> Text:
    """The run's outcome in the runtime's own words: status, duration, result; on failure the
    error (status, scimType, detail) and the step it came from."""
    if finished is None:
        mark, style = STATUS_MARKS["running"]
        return Text.assemble((f"{mark} running ", style), (entry, "bold"), ("  esc cancels", "dim"))
    status = str(finished.get("status", "?"))
    mark, style = STATUS_MARKS.get(status, ("?", ""))
    parts: list[Any] = [(f"{mark} {status}", f"bold {style}")]
    if finished.get("durationMs") is not None:
        parts.append((f" in {duration(finished['durationMs'])}", ""))
    if finished.get("failedItems") is not None:  # errors = "collect", onError = "continue"
        failed = finished["failedItems"]
        parts.append((f" · {finished.get('okItems') or 0:,} ok, {failed:,} failed", "yellow" if failed else "green"))
    error = finished.get("error")
    if error and error.get("step") is not None:
        where = f" at step {error['step']}" + (f" {step_label}" if step_label else "")
        if error.get("item") is not None:
            where += f" [item {error['item']}]"
        parts.append((where, "red"))
    parts += [(" · ", "dim"), (entry, "bold")]
    if resumable:
        parts.append(("  R resumes", "dim"))
    if replay:
        parts.append((f" · replay of {clean(replay)}", "dim"))
    if error:
        facts = [f"{key} {error[key]}" for key in ("status", "scimType") if error.get(key) is not None]
        detail = error.get("detail") or error.get("message") or ""
        parts.append(("\n", ""))
        parts.append((clean(" · ".join(facts + [str(detail)])), "red"))
    result = finished.get("result")
    if result is not None:
        parts.append(("\nresult: ", "dim"))
        parts.append((clean(json.dumps(result, ensure_ascii=False, default=str)), ""))
    text = Text.assemble(*parts)
    text.no_wrap, text.overflow = True, "ellipsis"
    return text
