"""What the run history keeps of a foreach's items: one compact record per item.

A 20,000-row run used to write 3 events per row (705 B). Now each item's events are held back
while it runs (`begin_item`) and, when it ends (`end_item`), the history gets one
`item.finished` record: index, status, duration, the result's id or a short summary, the
error, the retries it spent:

    {"event":"item.finished","step":"1","item":12,"status":"ok","durationMs":8.1,"id":"2819c2…"}

Its full events are written too (before the record, which then says `"kept":true`) only when the
item failed, or for every item with `--trace`. The record leaves out `ts` and `run` (the file
is the run's; the duration says the rest). The sink (the CLI, the app) still gets every event
it wants as it happens. An event the sink does not take is held as it is, and redacted only if
its item's events are kept (most are dropped: redacting them was most of their cost); anything
written is redacted.

`preview(value)` bounds what a step's `result` puts in its event: the history of a run that
reads a 20,000-row CSV keeps the first rows, not all of them.
"""

from __future__ import annotations

import contextvars
import time
from typing import TYPE_CHECKING, Any

from workbench.runtime import events as ev

if TYPE_CHECKING:
    from workbench.runtime.execution import Execution
    from workbench.runtime.history import HistoryWriter

PREVIEW_ITEMS = 20  # list items and dict keys a result's preview keeps, per level
PREVIEW_TEXT = 2000  # characters of a string
PREVIEW_DEPTH = 12
SUMMARY_LIMIT = 60


class ItemScope:
    """One running item: its held events (None: nothing held, with --trace or no history) and
    the step retries spent in it."""

    __slots__ = ("events", "retries")

    def __init__(self, events: list | None) -> None:
        self.events = events
        self.retries = 0


current_item: contextvars.ContextVar[ItemScope | None] = contextvars.ContextVar("wb_item", default=None)


class HistoryRecorder:
    """The engine's way into the history: writes an event, or holds it while its item runs.
    A server's writer (`background`) takes the events themselves: it makes the records later
    (and redacts them, HistoryWriter.record)."""

    __slots__ = ("as_is", "redactor", "write")

    def __init__(self, history: HistoryWriter, redactor=None) -> None:
        self.as_is = history.background is not None
        self.write = history.hold if self.as_is else history.write
        self.redactor = redactor

    def __call__(self, event: ev.Event) -> None:
        """An event, redacted (by the engine; the server redacts a run as it encodes it)."""
        scope = current_item.get()
        if scope is not None and scope.events is not None:
            scope.events.append(event)
        else:
            self.write(event if self.as_is else history_record(event))

    def unredacted(self, event: ev.Event) -> None:
        """An event nobody has redacted yet: held as it is, else redacted and written."""
        scope = current_item.get()
        if scope is not None and scope.events is not None:
            scope.events.append(event)
        elif self.as_is:
            self.write(event)
        else:
            redactor = self.redactor
            self.write(history_record(event.redacted(redactor) if redactor is not None and redactor.secrets else event))

    def release(self, events: list) -> None:
        """An item's held events, to the file (or to an outer loop's item when nested); some
        were held unredacted (redacting one twice changes nothing)."""
        redactor = self.redactor
        for event in events:
            self(event.redacted(redactor) if redactor else event)


def history_record(event: ev.Event) -> dict[str, Any]:
    """An event as the history keeps it: a foreach item's compact record, else its dict."""
    return item_record(event) if type(event) is ev.ItemFinished else event.to_dict()


def item_record(event: ev.ItemFinished) -> dict[str, Any]:
    """The compact history line of an item (no ts, no run: see the module's doc)."""
    out: dict[str, Any] = {"event": ev.ITEM_FINISHED, "step": event.step, "item": event.item,
                           "status": event.status, "durationMs": event.duration_ms}
    for key in ("id", "summary", "error", "retries", "kept"):
        value = getattr(event, key)
        if value is not None:
            out[key] = value
    return out


def begin_item(run: Execution) -> contextvars.Token:
    held = [] if run.recorder is not None and not run.trace else None
    return current_item.set(ItemScope(held))


def end_item(run: Execution, token: contextvars.Token, path: str, index: int, started: float, value: Any = None,
             error: dict | None = None) -> None:
    """The item ended (`error`: it failed): its record, after its full events when they are kept."""
    scope = current_item.get()
    current_item.reset(token)
    kept = error is not None or run.trace
    if scope is not None and scope.events:
        if kept and run.recorder is not None:
            run.recorder.release(scope.events)
        scope.events = None
    if run.emit is None:
        return
    ident, summary = _identify(value) if error is None else (None, None)
    run.emit(ev.ItemFinished(run.run_id, time.time(), path, index, ev.FAILED if error is not None else ev.OK,
                             round((time.perf_counter() - started) * 1000, 1), ident, summary, error,
                             (scope.retries or None) if scope is not None else None, kept or None))


def release_item(run: Execution, token: contextvars.Token) -> None:
    """The item was cut short (a cancel, a `return`): what it did so far goes to the history."""
    scope = current_item.get()
    current_item.reset(token)
    if scope is not None and scope.events and run.recorder is not None:
        run.recorder.release(scope.events)


def count_retry() -> None:
    scope = current_item.get()
    if scope is not None:
        scope.retries += 1


def _identify(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, dict):
        ident = value.get("id")
        if isinstance(ident, (str, int)) and not isinstance(ident, bool):
            return ident, None
    from workbench.runtime.nodes import summarize

    return None, (summarize(value, SUMMARY_LIMIT) or None)


def preview(value: Any, depth: int = 0) -> Any:
    """`value` cut to PREVIEW_ITEMS per list or dict, PREVIEW_TEXT per string (what is left out
    is said in a last item or key, `…`)."""
    if isinstance(value, str):
        return value if len(value) <= PREVIEW_TEXT else value[:PREVIEW_TEXT] + f"… ({len(value):,} characters)"
    if depth >= PREVIEW_DEPTH and isinstance(value, (dict, list, tuple)):
        return "…"
    if isinstance(value, dict):
        if len(value) <= PREVIEW_ITEMS and not any(isinstance(v, (dict, list, tuple, str)) for v in value.values()):
            return value
        out = {k: preview(v, depth + 1) for k, v in list(value.items())[:PREVIEW_ITEMS]}
        if len(value) > PREVIEW_ITEMS:
            out["…"] = f"{len(value) - PREVIEW_ITEMS:,} more keys"
        return out
    if isinstance(value, (list, tuple)):
        out_list = [preview(v, depth + 1) for v in value[:PREVIEW_ITEMS]]
        if len(value) > PREVIEW_ITEMS:
            out_list.append(f"… {len(value) - PREVIEW_ITEMS:,} more items")
        return out_list
    return value
