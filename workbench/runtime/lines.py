"""Readable lines for run events, shared by the CLI (`EventPrinter`) and the app's Output panel.

`EventLines.format(event_dict)` gives one line per step (when it finishes), log and HTTP
exchange, and the run's last line; `paint(text, code)` is the hook the CLI overrides to colour
with ANSI SGR codes (the app colours the plain text itself). Headless: no textual here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


def format_duration(ms: Any) -> str:
    if not isinstance(ms, (int, float)):
        return "?"
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.2f} s"


def describe_error(error: dict[str, Any], *, with_step: bool = True) -> str:
    """`SCIM 409 uniqueness: … (status 409, scimType uniqueness) at step 2.steps.0 [item 3]`"""
    text = str(error.get("message", "error"))
    facts = [f"{key} {error[key]}" for key in ("status", "scimType") if error.get(key) is not None]
    if facts:
        text += f" ({', '.join(facts)})"
    if with_step and error.get("step") is not None:
        text += f" at step {error['step']}"
        if error.get("item") is not None:
            text += f" [item {error['item']}]"
    return text


def indent(path: str | None) -> str:
    """Two spaces per nesting level of a step path ("0" -> 1 level, "1.then.0" -> 2)."""
    return "  " * (1 + (path or "").count(".") // 2)


class EventLines:
    """Turns event dicts (`Event.to_dict()`, or history lines) into text lines."""

    MARKS = {"ok": ("✓", "32"), "failed": ("✗", "31"), "skipped": ("–", "2")}
    LEVELS = {"debug": "2", "info": "0", "warning": "33", "error": "31"}
    RUN_MARKS = {"succeeded": ("✓", "32"), "failed": ("✗", "31"), "cancelled": ("■", "33")}

    def __init__(self, *, verbose: bool = False, duration: Callable[[Any], str] = format_duration,
                 items: bool = False) -> None:
        self.verbose = verbose  # include the HTTP exchanges
        self.duration = duration  # the app masks durations in snapshot tests
        # A replay of the history: a line for each item kept only as its compact record (a live
        # stream has the item's own step lines instead).
        self.items = items

    def paint(self, text: str, code: str) -> str:
        return text

    def format(self, d: dict[str, Any]) -> str | None:
        kind = d.get("event")
        if kind == "run.started":
            trigger = d.get("trigger") if isinstance(d.get("trigger"), dict) else {}
            on = f" {trigger.get('method')} {trigger.get('path')}" if trigger.get("method") else ""
            head = self.paint(f"▶ {d.get('entry')}{on}", "1")
            return head + self.paint(f"  {d.get('project')} · run {d.get('run')}", "2")
        if kind == "step.finished":
            return self.step_line(d)
        if kind == "log":
            level = d.get("level", "info")
            text = f"{indent(d.get('step'))}{level:<7} {d.get('message', '')}"
            return self.paint(text, self.LEVELS.get(level, "0"))
        if kind == "http.exchange" and self.verbose:
            return self.paint(self.http_line(d), "2")
        if kind == "run.finished":
            return self.run_line(d)
        if kind == "item.finished" and self.items and not d.get("kept"):
            return self.item_line(d)
        return None  # step.started and foreach.progress: the step line comes when it finishes

    def item_line(self, d: dict[str, Any]) -> str:
        """`    ✓ 1 [12] → id 2b45…  44 ms`: one item of a foreach, from its compact record."""
        status = d.get("status")
        mark, code = self.MARKS.get(status, ("?", "0"))
        text = f"{indent(str(d.get('step')) + '.steps.0')}{self.paint(mark, code)} {d.get('step')} [{d.get('item')}]"
        if d.get("error"):
            text += self.paint(f" — {describe_error(d['error'], with_step=False)}", "31")
        elif d.get("id") is not None:
            text += f" → id {d['id']}"
        elif d.get("summary"):
            text += f" → {d['summary']}"
        return text + self.paint(f"  {self.duration(d.get('durationMs'))}", "2")

    def http_line(self, d: dict[str, Any]) -> str:
        status = d.get("status") if d.get("status") is not None else "no response"
        took = self.duration(d.get("durationMs"))
        return f"{indent(d.get('step'))}  {d.get('method')} {d.get('url')} → {status} ({took})"

    def step_line(self, d: dict[str, Any]) -> str | None:
        status = d.get("status")
        if d.get("kind") == "log" and status == "ok":
            return None  # its log line says it all
        mark, code = self.MARKS.get(status, ("?", "0"))
        item = f" [{d['item']}]" if d.get("item") is not None else ""
        text = f"{indent(d.get('step'))}{self.paint(mark, code)} {d.get('step')} {d.get('label')}{item}"
        if status == "skipped":
            return self.paint(f"{text} (skipped)", "2")
        if status == "failed" and d.get("error"):
            text += self.paint(f" — {describe_error(d['error'], with_step=False)}", "31")
        elif d.get("summary"):
            text += f" → {d['summary']}"
        return text + self.paint(f"  {self.duration(d.get('durationMs'))}", "2")

    def run_line(self, d: dict[str, Any]) -> str:
        status = d.get("status", "?")
        mark, code = self.RUN_MARKS.get(status, ("?", "0"))
        text = self.paint(f"{mark} {status} in {self.duration(d.get('durationMs'))}", code + ";1")
        if d.get("failedItems") is not None:
            failed = d["failedItems"]
            counts = f" · {d.get('okItems') or 0:,} ok, {failed:,} failed"
            text += self.paint(counts, "33" if failed else "32")
        if d.get("error"):
            text += self.paint(f": {describe_error(d['error'])}", "31")
        if d.get("result") is not None:
            text += "\n  result: " + json.dumps(d["result"], ensure_ascii=False, default=str)
        return text
