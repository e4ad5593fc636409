"""The events of a run: one typed stream for the CLI, the app and the run history.

Events are small slotted dataclasses, built without validation (they sit on the hot path).
`to_dict()` gives the JSON shape, camelCase keys, with `event`, `ts` (ISO 8601, UTC) and `run`
first; `from_dict()` reads it back (for replaying history). Optional fields that are None are
left out of the dict.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any, ClassVar

RUN_STARTED = "run.started"
STEP_STARTED = "step.started"
STEP_FINISHED = "step.finished"
FOREACH_PROGRESS = "foreach.progress"
ITEM_FINISHED = "item.finished"
HTTP_EXCHANGE = "http.exchange"
LOG = "log"
RUN_FINISHED = "run.finished"

OK, FAILED, SKIPPED = "ok", "failed", "skipped"  # step statuses
SUCCEEDED, CANCELLED = "succeeded", "cancelled"  # run statuses (and FAILED)


# The last second formatted, formatted again only when the second changes (events come many a
# second); lru_cache is thread-safe, so no thread pairs a second with another second's text.
_iso_second = functools.lru_cache(maxsize=1)(lambda second: time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))


def iso(ts: float) -> str:
    """As datetime's isoformat(timespec="milliseconds") in UTC, with Z (the microseconds rounded
    as datetime rounds them, then cut), at a fraction of its cost."""
    return iso_millis(millis(ts))


def millis(ts: float) -> int:
    """`ts` in the whole milliseconds iso() shows (a segment keeps these: segments.py)."""
    second = int(ts // 1)
    return second * 1000 + round((ts - second) * 1e6) // 1000


def iso_millis(value: int) -> str:
    second, ms = divmod(value, 1000)
    return _iso_second(second) + _MILLIS[ms]


_MILLIS = tuple(f".{n:03d}Z" for n in range(1000))


def parse_iso(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _dict_maker(cls: type) -> Any:
    """`to_dict` of one event class as straight-line code, its keys in field order (as
    dataclasses makes __init__): a loop over the fields cost a server's short run ~6 µs."""
    names = [f.name for f in fields(cls) if f.name not in ("run", "ts")]
    first = next((n for n, name in enumerate(names) if name in cls.OPTIONAL), len(names))
    literal = "".join(f", {_camel(name)!r}: self.{name}" for name in names[:first])
    lines = ["def to_dict(self):", f"    out = {{'event': {cls.EVENT!r}, 'ts': iso(self.ts), 'run': self.run{literal}}}"]
    for name in names[first:]:
        if name in cls.OPTIONAL:
            lines.append(f"    if self.{name} is not None: out[{_camel(name)!r}] = self.{name}")
        else:
            lines.append(f"    out[{_camel(name)!r}] = self.{name}")
    namespace: dict[str, Any] = {"iso": iso}
    exec("\n".join(lines + ["    return out"]), namespace)  # noqa: S102 - our own field names only
    return namespace["to_dict"]


def _row_maker(cls: type) -> Any:
    """`row` of one event class: its name and fields in order, no keys, `ts` in milliseconds (a
    segment's record, runtime/segments.py: half the JSON of the dict)."""
    values = "".join(", millis(self.ts)" if f.name == "ts" else f", self.{f.name}" for f in fields(cls))
    namespace: dict[str, Any] = {"millis": millis}
    exec(f"def row(self):\n    return ({cls.EVENT!r}{values})", namespace)  # noqa: S102 - our own field names
    return namespace["row"]


@dataclass(slots=True)
class Event:
    run: str
    ts: float  # seconds since the epoch

    EVENT: ClassVar[str] = ""
    OPTIONAL: ClassVar[frozenset[str]] = frozenset()  # fields left out of the dict when None
    TEXT: ClassVar[tuple[str, ...]] = ()  # fields that may carry a secret (redacted)
    _to_dict: ClassVar[Any] = None

    @property
    def event(self) -> str:
        return self.EVENT

    def to_dict(self) -> dict[str, Any]:
        cls = type(self)
        make = cls.__dict__.get("_to_dict")
        if make is None:
            make = cls._to_dict = _dict_maker(cls)
        return make(self)

    def row(self) -> tuple:  # made per class below (_row_maker)
        return (self.EVENT, *(millis(self.ts) if f.name == "ts" else getattr(self, f.name) for f in fields(self)))

    def redacted(self, redactor) -> Event:
        """A copy with every configured secret replaced by `••••` (self when nothing changes)."""
        changes = {}
        for name in self.TEXT:
            value = getattr(self, name)
            if value is not None:
                clean = redactor.data(value)
                if clean != value:
                    changes[name] = clean
        return replace(self, **changes) if changes else self


@dataclass(slots=True)
class RunStarted(Event):
    entry: str
    project: str
    trigger: dict | None = None  # what started it, e.g. a service's {"method": "POST", "path": "/hires"}
    EVENT: ClassVar[str] = RUN_STARTED
    OPTIONAL: ClassVar[frozenset[str]] = frozenset({"trigger"})
    TEXT: ClassVar[tuple[str, ...]] = ("trigger",)


@dataclass(slots=True)
class StepStarted(Event):
    step: str  # 0-based path within the entry: "0", "1.then.0", "2.steps.0", "onError.0"
    kind: str
    label: str
    item: int | None = None  # the index of the foreach item this step runs for (innermost loop)
    EVENT: ClassVar[str] = STEP_STARTED
    OPTIONAL: ClassVar[frozenset[str]] = frozenset({"item"})
    TEXT: ClassVar[tuple[str, ...]] = ("label",)


@dataclass(slots=True)
class StepFinished(Event):
    step: str
    kind: str
    label: str
    status: str  # ok, failed or skipped
    duration_ms: float
    summary: str = ""  # a short description of the step's result
    item: int | None = None
    error: dict | None = None  # when failed: message, type, step and maybe status, scimType, detail
    # For the step inspector: the rendered arguments (a call) and the result (a preview, see
    # compact.preview) of a step outside a foreach item (inside one: args when it failed, and
    # both with `--trace`); attempts when its retry policy ran it more than once.
    args: Any = None
    result: Any = None
    attempts: int | None = None
    EVENT: ClassVar[str] = STEP_FINISHED
    OPTIONAL: ClassVar[frozenset[str]] = frozenset({"item", "error", "args", "result", "attempts"})
    TEXT: ClassVar[tuple[str, ...]] = ("label", "summary", "error", "args", "result")


@dataclass(slots=True)
class ForeachProgress(Event):
    step: str
    done: int
    total: int
    failed: int
    item: int | None = None  # set when this loop itself runs inside another loop's item
    EVENT: ClassVar[str] = FOREACH_PROGRESS
    OPTIONAL: ClassVar[frozenset[str]] = frozenset({"item"})


@dataclass(slots=True)
class ItemFinished(Event):
    """One foreach item has ended. The run history keeps this compact record for every item and
    the item's full events only when it failed, or with `--trace` (`kept`); see compact.py."""

    step: str  # the foreach's address
    item: int  # the item's index
    status: str  # ok or failed
    duration_ms: float
    id: str | int | None = None  # the id of the item's result (its last call's or set's value)
    summary: str | None = None  # else a short description of it
    error: dict | None = None
    retries: int | None = None  # step retries spent in this item
    kept: bool | None = None  # its full events are in the history too
    EVENT: ClassVar[str] = ITEM_FINISHED
    OPTIONAL: ClassVar[frozenset[str]] = frozenset({"id", "summary", "error", "retries", "kept"})
    TEXT: ClassVar[tuple[str, ...]] = ("id", "summary", "error")


@dataclass(slots=True)
class HttpExchange(Event):
    method: str
    url: str
    status: int | None  # None when no response came back
    duration_ms: float
    step: str | None = None
    item: int | None = None
    EVENT: ClassVar[str] = HTTP_EXCHANGE
    OPTIONAL: ClassVar[frozenset[str]] = frozenset({"step", "item"})
    TEXT: ClassVar[tuple[str, ...]] = ("url",)


@dataclass(slots=True)
class Log(Event):
    level: str  # debug, info, warning or error
    message: str
    step: str | None = None
    item: int | None = None
    EVENT: ClassVar[str] = LOG
    OPTIONAL: ClassVar[frozenset[str]] = frozenset({"step", "item"})
    TEXT: ClassVar[tuple[str, ...]] = ("message",)


@dataclass(slots=True)
class RunFinished(Event):
    status: str  # succeeded, failed or cancelled
    duration_ms: float
    result: Any = None  # the `return` value, if any
    error: dict | None = None
    failed_items: int | None = None  # failures that did not stop the run (errors = "collect", onError = "continue")
    ok_items: int | None = None  # the items of `errors = "collect"` loops that succeeded
    EVENT: ClassVar[str] = RUN_FINISHED
    OPTIONAL: ClassVar[frozenset[str]] = frozenset({"error", "failed_items", "ok_items"})
    TEXT: ClassVar[tuple[str, ...]] = ("result", "error")


EVENT_TYPES: dict[str, type[Event]] = {
    cls.EVENT: cls for cls in (RunStarted, StepStarted, StepFinished, ForeachProgress, ItemFinished, HttpExchange,
                               Log, RunFinished)
}
for _cls in EVENT_TYPES.values():
    _cls.to_dict = _dict_maker(_cls)  # type: ignore[method-assign]
    _cls.row = _row_maker(_cls)  # type: ignore[method-assign]


def from_row(row: list) -> dict[str, Any]:
    """`row()` read back (from JSON) as `to_dict()` gives it. Raises KeyError/ValueError."""
    cls = EVENT_TYPES[row[0]]
    names = [f.name for f in fields(cls)]
    if len(row) != len(names) + 1:
        raise ValueError(f"a {row[0]} row has {len(row) - 1} fields, not {len(names)}")
    values = dict(zip(names, row[1:]))
    out: dict[str, Any] = {"event": row[0], "ts": iso_millis(values.pop("ts")), "run": values.pop("run")}
    for name, value in values.items():
        if value is not None or name not in cls.OPTIONAL:
            out[_camel(name)] = value
    return out


def from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an event from `to_dict()` output (e.g. a history line). Raises KeyError/ValueError
    on an unknown event or a missing field."""
    cls = EVENT_TYPES[data["event"]]
    values = {"run": data["run"], "ts": parse_iso(data["ts"])}
    for f in fields(cls):
        if f.name in values:
            continue
        key = _camel(f.name)
        if key in data:
            values[f.name] = data[key]
    return cls(**values)
