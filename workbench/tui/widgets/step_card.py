"""Nodes of the flow: Start, insertion points `+`, step cards, and headings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual import events
from textual.reactive import reactive
from textual.widgets import Static

from workbench.project.view import STEP_KINDS, step_kind
from workbench.tui.issues import MARKS, worst

STATUS_MARKS = {"pending": ("…", "dim"), "running": ("▶", "cyan"), "ok": ("✓", "green"), "failed": ("✗", "red"),
                "skipped": ("-", "dim"), "cancelled": ("■", "yellow")}


def _line(*parts: Any) -> Text:
    text = Text.assemble(*parts)
    text.no_wrap, text.overflow = True, "ellipsis"
    return text


def _short(value: Any, limit: int = 240) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class FlowNode(Static):
    """A focusable node of the flow. `key` identifies it across rebuilds."""

    can_focus = True
    role = "node"

    def __init__(self, address: str, depth: int = 0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.address = address
        self.depth = depth
        self.styles.margin = (0, 0, 0, depth * 2)

    @property
    def key(self) -> str:
        return f"{self.role}:{self.address}"

    def on_click(self, event: events.Click) -> None:
        if event.chain >= 2 or self.role == "insert":
            self.parent_flow().open_node(self)

    def parent_flow(self):
        from workbench.tui.widgets.flow_view import FlowView

        return self.query_ancestor(FlowView)


class StartNode(FlowNode):
    role = "start"

    def __init__(self, entry: dict[str, Any]) -> None:
        super().__init__("start", classes="flow-start")
        schedule = entry.get("schedule")
        parts: list[Any] = [("▶ Start", "bold")]
        if entry.get("kind") == "service":  # a Request node: what the caller sends, and how it proves who it is
            auth = entry.get("auth")
            kind = auth.get("type", "?") if isinstance(auth, dict) else "no auth set"
            parts = [("▶ Request", "bold"), f"  {str(entry.get('method') or 'POST').upper()} {entry.get('path') or '?'}",
                     ("  auth ", "dim"), (str(kind), "magenta")]
        elif schedule:
            parts += [("  ◷ ", "cyan"), (str(schedule), "cyan"), (f" {entry.get('timezone', 'UTC')}", "dim")]
        else:
            parts.append(("  on demand", "dim"))
        self.update(_line(*parts))


class InsertPoint(FlowNode):
    """A `+` between nodes; its address is where a new step goes."""

    role = "insert"

    def __init__(self, address: str, depth: int = 0) -> None:
        super().__init__(address, depth, classes="flow-insert")

    def render(self) -> Text:
        # Drawn from the focus, not `update()`d on it: an update lays the whole flow out again
        # (~5 ms a key), and this line is one row high either way.
        return Text.assemble(("│ ", "dim"), ("+ add step here", "bold reverse") if self.has_focus else ("+", "bold"))

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()


class Heading(Static):
    """Error Handler, End, and the `then` / `else` / `do` labels of nested steps."""

    def __init__(self, text: str, depth: int = 0, classes: str = "") -> None:
        super().__init__(_line(text), classes="flow-heading " + classes)
        self.styles.margin = (0, 0, 0, depth * 2)


class StepCard(FlowNode):
    """One step: kind (border title), connection and operation, result; diagnostics; a run
    status in the border subtitle, a foreach's progress and the run's error (set by run_actions.py)."""

    role = "step"
    status: reactive[str] = reactive("")

    def __init__(self, address: str, step: dict[str, Any], depth: int, issues: list[Any],
                 op_label: Callable[[str], str]) -> None:
        super().__init__(address, depth, classes="step-card")
        self.step = step
        self.kind = step_kind(step)
        self.issues = issues
        self.duration_ms: float | None = None
        self.progress: tuple[int, int, int] | None = None  # a foreach's (done, total, failed) in a run
        self.run_error: dict[str, Any] | None = None  # the run's error, when it came from this step
        self._op_label = op_label
        self.border_title = self.kind + (f" · {step['label']}" if step.get("label") else "")
        self.update_view(issues, op_label)

    def update_view(self, issues: list[Any], op_label: Callable[[str], str]) -> None:
        self.issues = issues
        self._op_label = op_label
        level = worst(issues)
        self.set_class(level == "error", "-error")
        self.set_class(level == "warning", "-warning")
        self.update(self._body(op_label))

    def _body(self, op_label: Callable[[str], str]) -> Text:
        step, kind = self.step, self.kind
        lines: list[Text] = []
        if kind == "call":
            call = str(step.get("call", ""))
            connection, _, operation = call.partition(".")
            lines.append(_line((connection, "bold"), " · ", op_label(call) or operation))
            if step.get("result"):
                lines.append(_line(("→ ", "dim"), (str(step["result"]), "green")))
        elif kind == "sync":
            connection, _, what = str(step.get("sync", "")).partition(".")
            lines.append(_line((connection, "bold"), " · ", f"Sync {what}", ("  from ", "dim"), _short(step.get("desired"))))
            if step.get("result"):
                lines.append(_line(("→ ", "dim"), (str(step["result"]), "green")))
        elif kind == "log":
            lines.append(_line(_short(step.get("log", ""))))
            if step.get("level", "info") != "info":
                self.border_subtitle = str(step["level"])
        elif kind == "set":
            lines.append(_line((str(step.get("set")), "green"), " = ", _short(step.get("value"))))
        elif kind == "if":
            lines.append(_line(("if ", "dim"), _short(step.get("if", ""))))
        elif kind == "foreach":
            lines.append(_line(("for ", "dim"), str(step.get("as", "item")), ("  in ", "dim"),
                               _short(step.get("foreach", ""))))
            if step.get("result"):
                lines.append(_line(("→ ", "dim"), (str(step["result"]), "green")))
        elif kind == "return":
            lines.append(_line(("return ", "dim"), _short(step.get("return"))))
        elif kind == "fail":
            lines.append(_line(("fail ", "dim"), _short(step.get("fail", ""))))
        else:
            lines.append(_line(("not a step: needs one of " + ", ".join(STEP_KINDS), "red")))
        for diag in self.issues[:2]:
            style = "red" if diag.severity == "error" else "yellow"
            first = (diag.message.splitlines() or [""])[0]  # the rest is the Problems list's
            lines.append(_line((MARKS[diag.severity] + " " + first, style)))
        if self.progress is not None:
            lines.append(progress_line(*self.progress))
        if self.run_error:
            lines.append(error_line(self.run_error))
        body = Text("\n").join(lines)
        body.no_wrap, body.overflow = True, "ellipsis"
        return body

    def set_status(self, status: str, duration_ms: float | None = None) -> None:
        redraw = status == self.status and duration_ms != self.duration_ms  # the watcher would not run
        self.duration_ms = duration_ms
        self.status = status
        if redraw:
            self.watch_status(status, status)

    def set_progress(self, done: int, total: int, failed: int) -> None:
        self.progress = (done, total, failed)
        self.update(self._body(self._op_label))

    def set_run_error(self, error: dict[str, Any] | None) -> None:
        """Highlight the step a run's error came from, with its status and scimType."""
        self.run_error = error
        self.set_class(error is not None, "-run-error")
        self.update(self._body(self._op_label))

    def clear_run(self) -> None:
        self.progress = self.run_error = None
        self.remove_class("-run-error")
        self.set_status("")
        self.update(self._body(self._op_label))

    def watch_status(self, old: str, new: str) -> None:
        for name in STATUS_MARKS:
            self.set_class(new == name, f"-status-{name}")
        if not new:
            self.border_subtitle = str(self.step.get("level", "")) if self.kind == "log" and self.step.get(
                "level", "info") != "info" else ""
            return
        mark, _style = STATUS_MARKS.get(new, ("?", ""))
        fmt = getattr(self.app, "run_format", None)  # tests mask durations
        duration = "" if self.duration_ms is None else " " + (fmt.duration(self.duration_ms) if fmt else
                                                              f"{self.duration_ms:.0f} ms")
        self.border_subtitle = f"{mark} {new}{duration}"


def progress_line(done: int, total: int, failed: int, width: int = 20) -> Text:
    """`━━━━━━━━────────── 420/1000 · 3 failed`"""
    filled = round(width * done / total) if total else width
    parts: list[Any] = [("━" * filled, "red" if failed else "green"), ("─" * (width - filled), "dim"),
                        (f" {done}/{total}", "bold")]
    if failed:
        parts.append((f" · {failed} failed", "red"))
    return _line(*parts)


def error_line(error: dict[str, Any]) -> Text:
    """`✗ 409 uniqueness · One or more of the attribute values…`"""
    facts = " ".join(str(error[key]) for key in ("status", "scimType") if error.get(key) is not None)
    message = str(error.get("detail") or error.get("message") or "failed")
    return _line(("✗ ", "bold red"), (facts + " · " if facts else "", "bold red"), (message, "red"))
