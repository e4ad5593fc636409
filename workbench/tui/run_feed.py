"""From the engine's thread to the screen, cheaply: the run's sink formats each event into a line
and appends it to a deque (thread-safe, no message per event); the app's timer takes what has
arrived in batches and writes it with one `Log.write_lines` call.

No textual import here: the lines come from the runtime's EventLines, as in the CLI. The runtime
is imported on first use: importing the app must not load it (the first paint comes first).
"""

from __future__ import annotations

import functools
import re
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from typing import Any

# What changes between two identical runs: run ids, the sandbox's user ids, loopback ports.
_VOLATILE = re.compile(r"\b\d{8}T\d{6}-[0-9a-f]{6}\b|\b[0-9a-f]{32}\b|\b[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}\b"
                       r"|(?<=127\.0\.0\.1:)\d+")


def default_duration(ms: Any) -> str:
    from workbench.runtime.lines import format_duration

    return format_duration(ms)


@dataclass(frozen=True)
class RunFormat:
    """How the Output panel shows times, durations and ids. `RunFormat.steady()` masks what
    changes from run to run, for snapshot tests."""

    stamp: Callable[[float], str] = lambda ts: time.strftime("%H:%M:%S", time.localtime(ts))
    duration: Callable[[Any], str] = default_duration
    clean: Callable[[str], str] = lambda text: text

    @classmethod
    def steady(cls) -> RunFormat:
        return cls(stamp=lambda ts: "hh:mm:ss", duration=lambda ms: "‹ms›",
                   clean=lambda text: _VOLATILE.sub("‹id›", text))


_FIELDS: dict[type, tuple[tuple[str, str], ...]] = {}


def event_data(event: Any) -> dict[str, Any]:
    """The event as `to_dict()` has it, less the ISO timestamp (formatting it costs more than
    everything else here, and the sink runs 30,000 times in a 10,000-item loop)."""
    cls = type(event)
    keys = _FIELDS.get(cls)
    if keys is None:
        keys = _FIELDS[cls] = tuple((f.name, _camel(f.name)) for f in fields(cls) if f.name not in ("run", "ts"))
    data = {"event": event.EVENT, "run": event.run}
    for name, key in keys:
        data[key] = getattr(event, name)
    return data


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


@dataclass(slots=True)
class FeedItem:
    session: Any  # the RunSession the event belongs to
    data: dict[str, Any]  # the event as a dict (Event.to_dict(), or a history line)
    lines: tuple[str, ...]  # what the Output panel shows (may be empty)
    http: bool  # an HTTP exchange: hidden unless the toggle is on


@dataclass
class RunFeed:
    format: RunFormat = field(default_factory=RunFormat)
    items: deque[FeedItem] = field(default_factory=deque)

    def __post_init__(self) -> None:
        from workbench.runtime.lines import EventLines

        self.lines = EventLines(verbose=True, duration=self.format.duration)
        # A replay: a line for each foreach item the history kept as its compact record only.
        self.replay_lines = EventLines(verbose=True, duration=self.format.duration, items=True)
        self._stamp = functools.lru_cache(maxsize=1)(self.format.stamp)  # one strftime per second
        self._ts = time.time()  # the last timestamp seen: compact item records have none

    def sink(self, session: Any) -> Callable[[Any], None]:
        """The engine's sink for one session (called on the engine's thread)."""
        return lambda event: self.push(session, event)

    def push(self, session: Any, event: Any) -> None:
        if isinstance(event, dict):
            from workbench.runtime.events import parse_iso

            data = event
            try:
                ts = self._ts = parse_iso(data["ts"])
            except (KeyError, TypeError, ValueError):
                ts = self._ts
        else:
            data, ts = event_data(event), event.ts
        try:
            lines = self.render(data, ts, getattr(session, "prefix", ""), replay=isinstance(event, dict))
        except Exception as error:  # noqa: BLE001 - the sink must never break the run
            lines = (f"{data.get('event')}: cannot show it ({type(error).__name__}: {error})",)
        self.items.append(FeedItem(session, data, lines, data.get("event") == "http.exchange"))

    def push_all(self, session: Any, events: Iterable[Any]) -> None:
        for event in events:
            self.push(session, event)

    def render(self, data: dict[str, Any], ts: float, prefix: str = "", replay: bool = False) -> tuple[str, ...]:
        text = (self.replay_lines if replay else self.lines).format(data)
        if text is None:
            return ()
        fmt = self.format
        stamp = self._stamp(int(ts))
        first, *rest = fmt.clean(text).split("\n")
        pad = " " * len(stamp)
        return (f"{stamp} {prefix}{first}", *(f"{pad} {prefix}{line}" for line in rest))

    def take(self, limit: int) -> list[FeedItem]:
        """Up to `limit` items, oldest first (called on the UI's thread)."""
        items, popleft = self.items, self.items.popleft
        out = []
        try:
            for _ in range(min(limit, len(items))):
                out.append(popleft())
        except IndexError:
            pass
        return out

    def __len__(self) -> int:
        return len(self.items)
